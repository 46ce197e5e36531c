/**
 * The payment state machine: the only code that changes a payment's `state`. Each move is ONE
 * Dexie `rw` transaction that checks the state is still the one the caller saw, that the move is
 * an edge of the machine, writes the state with its patch, and applies the budget effect of the
 * edge. Two callers racing for the same move: one wins, the other changes nothing, and the
 * budget moves once.
 *
 *   reserved ─▶ paying ─▶ paid ─▶ accepted / rejected / refund_requested / refunded …
 *      │          │  ╲──▶ proof_failed
 *      ▼          ▼   ╲─▶ unknown ─▶ paid | proof_failed | failed
 *    failed     failed
 */
import { msatToMinor } from '../core/money/rates';
import { baseUnitsToMinor, usdMinorTo } from '../core/money/tokens';
import { refundSpend, settleReservation } from './ledger';
import type { PayboundDb, PaymentPatch, PaymentRecord, PaymentState, X402Payment } from './schema';

/**
 * Token base units of an x402 charge in the user's currency, rounded up: dollars first (USDC one
 * for one), then the user's currency through the dollar rate kept with the charge.
 */
export function x402Minor(p: X402Payment, base: bigint): bigint {
  const usd = baseUnitsToMinor(base, p.amount.decimals, 2);
  const via = p.x402.usdRate;
  return via && p.rate ? usdMinorTo(usd, via.minorPerBtc, p.rate.minorPerBtc) : usd;
}

/** Where each state may go, as the flow, the review and the disputes move payments today. */
export const EDGES: Readonly<Record<PaymentState, readonly PaymentState[]>> = {
  // Approved (or auto) → paying; denied, withdrawn, switched wallet → failed.
  reserved: ['paying', 'failed'],
  // The rail's answer: paid, a wrong proof, no answer in time, or a refusal.
  paying: ['paid', 'proof_failed', 'unknown', 'failed'],
  // The wallet is asked again: its answer, or still no answer (a new reason kept).
  unknown: ['paid', 'proof_failed', 'failed', 'unknown'],
  // Reviewed: accepted; rejected in the window; refunded by the card service or asked of the app.
  paid: ['accepted', 'rejected', 'refund_requested', 'refunded', 'partially_refunded'],
  accepted: ['rejected', 'refund_requested', 'refunded', 'partially_refunded'],
  rejected: ['refund_requested', 'refunded', 'partially_refunded'],
  refund_requested: ['refunded', 'partially_refunded', 'refund_denied'],
  failed: [],
  proof_failed: [],
  refunded: [],
  partially_refunded: [],
  refund_denied: [],
};

export const isEdge = (from: PaymentState, to: PaymentState): boolean => EDGES[from].includes(to);

/** Whether the move reached the ledger, and the payment as written (or as found, when refused). */
export type TransitionResult =
  | { ok: true; payment: PaymentRecord }
  | { ok: false; payment: PaymentRecord | undefined };

export interface TransitionOptions {
  /** A further condition on the payment as it is inside the transaction (e.g. its approval). */
  when?: (p: PaymentRecord) => boolean;
}

/**
 * Moves payment `id` from one of `from` to `to`, writing `patch` with it. Refused (nothing
 * written) when the payment is gone, in another state, fails `when`, or `from → to` is no edge.
 *
 * The budget effect of the edge, once: into `paid` or `proof_failed` the reservation becomes
 * spent; into `failed` it is given back; a patch with a settlement stops counting what came back.
 */
export async function transition(
  db: PayboundDb,
  id: string,
  from: PaymentState | readonly PaymentState[],
  to: PaymentState,
  patch: PaymentPatch = {},
  opts: TransitionOptions = {},
): Promise<TransitionResult> {
  const allowed: readonly PaymentState[] = typeof from === 'string' ? [from] : from;
  return db.transaction('rw', db.payments, db.spend, async () => {
    const p = await db.payments.get(id);
    if (!p || !allowed.includes(p.state) || !isEdge(p.state, to) || (opts.when && !opts.when(p))) {
      return { ok: false, payment: p };
    }
    const at = Date.now();
    // Paid with a review policy: its window starts in the same write, so nobody reads a paid
    // charge whose window has no end yet (a reject then would find it "closed").
    const review =
      to === 'paid' && p.review && p.review.endsAt === undefined && !patch.review
        ? { review: { ...p.review, endsAt: (patch.paidAt ?? p.paidAt ?? at) + p.review.windowMs } }
        : {};
    await db.payments.update(id, { updatedAt: at, ...patch, ...review, state: to });
    // Paid, or claimed paid with a bad proof (the money most likely left): it counts as spent.
    // Failed: given back. Unknown: stays reserved until the wallet says.
    if (to === 'paid' || to === 'proof_failed') await settleReservation(db, id, 'committed');
    else if (to === 'failed') await settleReservation(db, id, 'released');
    if (patch.settlement) await countRefunded(db, id);
    const written = await db.payments.get(id);
    return written ? { ok: true, payment: written } : { ok: false, payment: undefined };
  });
}

/**
 * What came back (the settlement's `refunded`, in the payment's own unit) stops counting against
 * the budgets: only the part not counted yet, so asking twice counts once.
 */
export async function countRefunded(db: PayboundDb, id: string): Promise<void> {
  await db.transaction('rw', db.payments, db.spend, async () => {
    const p = await db.payments.get(id);
    if (!p?.settlement) return;
    const already = p.settlement.countedMinor ?? 0n;
    const total = p.amountMinor ?? 0n;
    const refunded = p.settlement.refunded;
    let backMinor: bigint;
    // x402: what came back (an `upto` settled below its maximum) never left: token units → minor.
    if (p.kind === 'x402') {
      const stillSpent = p.amount.value - refunded;
      backMinor = total - x402Minor(p, stillSpent < 0n ? 0n : stillSpent);
    }
    // Without a rate (a card) the payment's own unit is already the user's currency.
    else if (p.kind === 'card' || !p.rate) backMinor = refunded;
    else {
      const stillSpent = p.amount.value - refunded;
      backMinor = total - msatToMinor(stillSpent < 0n ? 0n : stillSpent, p.rate);
    }
    if (backMinor > total) backMinor = total;
    const delta = backMinor - already;
    if (delta <= 0n) return;
    await refundSpend(db, id, delta);
    await db.payments.update(id, { settlement: { ...p.settlement, countedMinor: backMinor } });
  });
}
