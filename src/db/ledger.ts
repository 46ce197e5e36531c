/**
 * Check-and-reserve, commit and release: the only code that moves running totals. Each is ONE
 * Dexie `rw` transaction over the payments and the totals, with no network or crypto inside, so
 * concurrent charges serialise and a decision never sees a half-written ledger. A decision reads
 * a handful of running totals, never the whole history.
 */
import { appliesTo, type Decision, decide } from '../core/policy/decide';
import { periodKey } from '../core/policy/periods';
import { type Rules, totalKey } from '../core/policy/rules';
import type { PayboundDb, PaymentRecord } from './schema';

/** A payment as the flow builds it, before the policy has spoken. */
export type NewPayment = Omit<
  PaymentRecord,
  | 'tier'
  | 'reasons'
  | 'budgetEffects'
  | 'reservations'
  | 'reservationState'
  | 'approval'
  | 'state'
  | 'failure'
>;

export type ReserveResult =
  | { kind: 'known'; payment: PaymentRecord }
  | { kind: 'denied'; payment: PaymentRecord; decision: Decision }
  | { kind: 'reserved'; payment: PaymentRecord; decision: Decision };

export async function reserve(
  db: PayboundDb,
  draft: NewPayment,
  rules: Rules,
  nowMs: number,
): Promise<ReserveResult> {
  const amountMinor = draft.amountMinor;
  if (amountMinor === undefined) throw new Error('a charge needs its amount in the user currency');
  return db.transaction('rw', db.payments, db.spend, async () => {
    const known = await db.payments.where('key').equals(draft.key).first();
    if (known) return { kind: 'known', payment: known };

    const keys = rules.budgets
      .filter((b) => appliesTo(b, draft.origin))
      .map((b) => totalKey(b, periodKey(b.period, nowMs, rules.timeZone)));
    const rows = await db.spend.bulkGet(keys);
    const totals = new Map(
      keys.map((k, i) => [k, (rows[i]?.reservedMinor ?? 0n) + (rows[i]?.committedMinor ?? 0n)]),
    );
    const recentAutoCount = await db.payments
      .where('[origin+createdAt]')
      .between([draft.origin, nowMs - rules.runaway.windowMs], [draft.origin, Number.MAX_SAFE_INTEGER])
      .filter((p) => p.approval === 'auto' && p.state !== 'failed')
      .count();
    const decision = decide({
      charge: { origin: draft.origin, amountMinor },
      rules,
      totals,
      recentAutoCount,
      nowMs,
    });
    const effects = decision.budgets.map(({ budgetId, label, limitMinor, afterMinor, overMinor }) => ({
      budgetId,
      label,
      limitMinor,
      afterMinor,
      overMinor,
    }));

    if (decision.tier === 'deny') {
      const payment: PaymentRecord = {
        ...draft,
        state: 'failed',
        approval: 'denied',
        failure: { code: 'policy', reason: decision.reasons.join('; ') },
        tier: 'deny',
        reasons: decision.reasons,
        budgetEffects: effects,
        reservations: [],
        reservationState: 'released',
      };
      await db.payments.add(payment);
      return { kind: 'denied', payment, decision };
    }

    const reservations = [...new Set(decision.budgets.map((b) => b.totalKey))].map((key) => ({
      key,
      amountMinor,
    }));
    for (const r of reservations) {
      const row = rows[keys.indexOf(r.key)];
      await db.spend.put({
        key: r.key,
        reservedMinor: (row?.reservedMinor ?? 0n) + r.amountMinor,
        committedMinor: row?.committedMinor ?? 0n,
      });
    }
    const payment: PaymentRecord = {
      ...draft,
      state: 'reserved',
      approval: decision.tier === 'auto' ? 'auto' : 'waiting',
      tier: decision.tier,
      reasons: decision.reasons,
      budgetEffects: effects,
      reservations,
      reservationState: 'held',
    };
    await db.payments.add(payment);
    return { kind: 'reserved', payment, decision };
  });
}

/** Moves a payment's reservation to spent (`commit`) or gives it back (`release`); once only. */
export async function settleReservation(
  db: PayboundDb,
  paymentId: string,
  to: 'committed' | 'released',
): Promise<void> {
  await db.transaction('rw', db.payments, db.spend, async () => {
    const p = await db.payments.get(paymentId);
    if (p?.reservationState !== 'held') return;
    for (const r of p.reservations) {
      const row = await db.spend.get(r.key);
      const reserved = (row?.reservedMinor ?? 0n) - r.amountMinor;
      await db.spend.put({
        key: r.key,
        reservedMinor: reserved < 0n ? 0n : reserved,
        committedMinor: (row?.committedMinor ?? 0n) + (to === 'committed' ? r.amountMinor : 0n),
      });
    }
    await db.payments.update(paymentId, { reservationState: to });
  });
}

/**
 * Money that came back (a refund): it no longer counts as spent against the budgets the payment
 * counted into. Never below zero, and only for a payment whose amount was committed.
 */
export async function refundSpend(db: PayboundDb, paymentId: string, amountMinor: bigint): Promise<void> {
  await db.transaction('rw', db.payments, db.spend, async () => {
    const p = await db.payments.get(paymentId);
    if (p?.reservationState !== 'committed') return;
    for (const r of p.reservations) {
      const back = amountMinor < r.amountMinor ? amountMinor : r.amountMinor;
      const row = await db.spend.get(r.key);
      if (!row) continue;
      const committed = row.committedMinor - back;
      await db.spend.put({ ...row, committedMinor: committed < 0n ? 0n : committed });
    }
  });
}
