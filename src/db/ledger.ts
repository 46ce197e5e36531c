/**
 * Check-and-reserve, commit and release: the only code that moves running totals. Each is ONE
 * Dexie `rw` transaction over the payments and the totals, with no network or crypto inside, so
 * concurrent charges serialise and a decision never sees a half-written ledger. A decision reads
 * a handful of running totals, never the whole history.
 */
import Dexie from 'dexie';
import { appliesTo, type Decision, decide } from '../core/policy/decide';
import { periodKey } from '../core/policy/periods';
import { autoTotalKeys, type Rules, totalKey } from '../core/policy/rules';
import { english, type Said, said } from '../core/text/said';
import type {
  DistributiveOmit,
  PayboundDb,
  PaymentRecord,
  Reservation,
  SiteRecord,
  SpendTotal,
} from './schema';

/**
 * How many quotes may wait for the user at once: per tab, per site, and in all. Beyond, a new
 * quote is refused (the request log says why), so a page cannot bury the user in windows.
 */
export const QUOTE_LIMITS = { perTab: 3, perSite: 5, total: 20 } as const;

/** A payment as the flow builds it, before the policy has spoken. */
export type NewPayment = DistributiveOmit<
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
  /** Refused before anything was recorded (too many quotes waiting). */
  | { kind: 'refused'; reason: Said }
  | { kind: 'denied'; payment: PaymentRecord; decision: Decision }
  | { kind: 'reserved'; payment: PaymentRecord; decision: Decision }
  /** The caller's `holdBack` found a reason not to charge here: nothing was written. */
  | { kind: 'held' };

/** Quotes waiting for the user's decision (few: QUOTE_LIMITS bounds them). */
async function waitingQuotes(db: PayboundDb, exceptId?: string): Promise<PaymentRecord[]> {
  // Read whole and filtered here: one getAll, not a cursor stepping row by row.
  const reserved = await db.payments.where('state').equals('reserved').toArray();
  return reserved.filter((p) => p.approval === 'waiting' && p.id !== exceptId);
}

/** What a decision reads, asked at once in the caller's transaction. */
interface AssessReads {
  keys: string[];
  rows: (SpendTotal | undefined)[];
  recentAutoCount: number;
  consented: SiteRecord | undefined;
}

async function assessReads(
  db: PayboundDb,
  site: string,
  rules: Rules,
  nowMs: number,
  /** A recheck, which looks for an overage: the runaway count only keeps a charge from paying without a click. */
  budgetsOnly: boolean,
): Promise<AssessReads> {
  const auto = autoTotalKeys(site, periodKey('day', nowMs, rules.timeZone));
  const keys = [
    ...rules.budgets
      .filter((b) => appliesTo(b, site))
      .map((b) => totalKey(b, periodKey(b.period, nowMs, rules.timeZone))),
    auto.all,
    auto.site,
  ];
  const [rows, recentAutoCount, consented] = await Promise.all([
    db.spend.bulkGet(keys),
    budgetsOnly
      ? 0
      : db.payments
          .where('[site+createdAt]')
          .between([site, nowMs - rules.runaway.windowMs], [site, Number.MAX_SAFE_INTEGER])
          .toArray()
          .then((recent) => recent.filter((x) => x.approval === 'auto' && x.state !== 'failed').length),
    db.sites.get(site),
  ]);
  return { keys, rows, recentAutoCount, consented };
}

/**
 * The policy's decision for a charge, from the running totals read in the caller's transaction.
 * Quotes of other sites that nobody approved yet do not count against this one: a page cannot
 * push another site's charge into overage with quotes it made up. (They are counted again when
 * they are approved: see `recheck`.) Its own reservation, when re-deciding, does not count twice.
 */
function assess(
  reads: AssessReads,
  p: Pick<PaymentRecord, 'site' | 'amountMinor' | 'payee' | 'id'> & { reservations?: Reservation[] },
  rules: Rules,
  nowMs: number,
  waiting: PaymentRecord[],
): Decision {
  const { keys, rows, recentAutoCount, consented } = reads;
  const totals = new Map(
    keys.map((k, i) => [k, (rows[i]?.reservedMinor ?? 0n) + (rows[i]?.committedMinor ?? 0n)]),
  );
  const notCounted = [...waiting.filter((w) => w.site !== p.site), ...(p.reservations ? [p] : [])];
  for (const w of notCounted) {
    for (const r of w.reservations ?? []) {
      const t = totals.get(r.key);
      if (t !== undefined) totals.set(r.key, t > r.amountMinor ? t - r.amountMinor : 0n);
    }
  }
  return decide({
    charge: { site: p.site, amountMinor: p.amountMinor ?? 0n },
    rules,
    totals,
    recentAutoCount,
    consent: {
      siteKnown: consented !== undefined,
      payeeKnown: p.payee !== undefined && (consented?.payees.some((x) => x.id === p.payee?.id) ?? false),
    },
    nowMs,
  });
}

const effectsOf = (decision: Decision): PaymentRecord['budgetEffects'] =>
  decision.budgets.map(({ budgetId, label, limitMinor, afterMinor, overMinor }) => ({
    budgetId,
    label,
    limitMinor,
    afterMinor,
    overMinor,
  }));

/**
 * A standing approval the charge falls under (a plan's renewal or overage, docs/plans.md §5): a
 * charge the policy would ask for is paid without a window when it is at most `maxAmount` (the
 * record's own unit). A charge past a budget still asks; a refusal stays a refusal.
 */
export interface Standing {
  maxAmount: bigint;
  reason: Said;
}

export async function reserve(
  db: PayboundDb,
  draft: NewPayment,
  rules: Rules,
  nowMs: number,
  standing?: Standing,
  opts: {
    payAutomatic?: boolean;
    /**
     * Read in this transaction beside the decision's rows (payments only): true stops the
     * reservation before anything is written (`held`). A known challenge is answered first.
     */
    holdBack?: () => Promise<boolean>;
    /**
     * Told the payment about to be written, before its writes are asked (in the transaction, so
     * it must not await): a quote's window can start opening while the reservation commits.
     */
    beforeWrite?: (payment: PaymentRecord) => void;
  } = {},
): Promise<ReserveResult> {
  const amountMinor = draft.amountMinor;
  if (amountMinor === undefined) throw new Error('a charge needs its amount in the user currency');
  return db.transaction('rw', [db.payments, db.spend, db.sites], async () => {
    // Everything the decision needs, read at once: one round trip before the writes.
    const [known, waiting, reads, held] = await Promise.all([
      db.payments.where('key').equals(draft.key).first(),
      waitingQuotes(db),
      assessReads(db, draft.site, rules, nowMs, false),
      opts.holdBack?.() ?? false,
    ]);
    if (known) return { kind: 'known', payment: known };
    if (held) return { kind: 'held' };

    const decision = assess(reads, draft, rules, nowMs, waiting);
    const effects = effectsOf(decision);

    if (decision.tier === 'deny') {
      const payment: PaymentRecord = {
        ...draft,
        state: 'failed',
        approval: 'denied',
        failure: {
          code: 'policy',
          reason: decision.reasons.join('; '),
          ...(decision.said[0] ? { said: decision.said[0] } : {}),
        },
        tier: 'deny',
        reasons: decision.reasons,
        reasonsSaid: decision.said,
        budgetEffects: effects,
        reservations: [],
        reservationState: 'released',
      };
      await db.payments.add(payment);
      await pruneDenials(db);
      return { kind: 'denied', payment, decision };
    }
    if (decision.tier !== 'auto') {
      const full =
        draft.tabId !== undefined &&
        waiting.filter((w) => w.tabId === draft.tabId).length >= QUOTE_LIMITS.perTab
          ? said('reasonTabFull')
          : waiting.filter((w) => w.site === draft.site).length >= QUOTE_LIMITS.perSite
            ? said('reasonSiteFull')
            : waiting.length >= QUOTE_LIMITS.total
              ? said('reasonAllFull')
              : undefined;
      if (full) return { kind: 'refused', reason: full };
    }

    const keys = [...new Set([...decision.budgets.map((b) => b.totalKey), ...(decision.autoKeys ?? [])])];
    const reservations = keys.map((key) => ({ key, amountMinor }));
    const standingPays =
      standing !== undefined &&
      (decision.tier === 'confirm' || decision.tier === 'strong') &&
      draft.amount.value <= standing.maxAmount;
    const automatic = decision.tier === 'auto' || standingPays;
    const payment: PaymentRecord = {
      ...draft,
      // Paid without a click: straight into `paying` when the caller pays it at once (one
      // transaction fewer than reserved → paying), the same as that edge in the state machine.
      state: automatic && opts.payAutomatic ? 'paying' : 'reserved',
      approval: automatic ? 'auto' : 'waiting',
      tier: decision.tier,
      reasons: standingPays ? [...decision.reasons, english(standing.reason)] : decision.reasons,
      reasonsSaid: standingPays ? [...decision.said, standing.reason] : decision.said,
      budgetEffects: effects,
      reservations,
      reservationState: 'held',
    };
    // Outside the transaction: what it starts (a window opening) is none of the transaction's.
    if (opts.beforeWrite) Dexie.ignoreTransaction(() => opts.beforeWrite?.(payment));
    // The totals' rows were read with the decision: written back with the payment, side by side.
    await Promise.all([
      moveTotals(db, [{ reservations, column: 'reservedMinor', sign: 1n }], reads),
      db.payments.add(payment),
    ]);
    return { kind: 'reserved', payment, decision };
  });
}

/**
 * Charges the policy refused (a blocked site, an absurd amount) need no click, so a page could
 * write them as fast as it may send: only the newest few are kept, as the record of refusals.
 */
export const POLICY_DENIALS_KEPT = 200;

async function pruneDenials(db: PayboundDb): Promise<void> {
  const denied = await db.payments
    .where('state')
    .equals('failed')
    .filter((p) => p.failure?.code === 'policy')
    .toArray();
  if (denied.length <= POLICY_DENIALS_KEPT) return;
  denied.sort((a, b) => a.createdAt - b.createdAt);
  await db.payments.bulkDelete(denied.slice(0, denied.length - POLICY_DENIALS_KEPT).map((p) => p.id));
}

/** One change to the running totals: reservations added (sign 1) to, or taken (-1) from, a column. */
interface TotalsMove {
  reservations: Reservation[];
  column: 'reservedMinor' | 'committedMinor';
  sign: 1n | -1n;
}

/**
 * Applies the moves in order (never below zero) to the running totals: their rows read at once
 * and written at once, two round trips to the database however many budgets a charge counts in.
 */
async function moveTotals(db: PayboundDb, moves: TotalsMove[], read?: AssessReads): Promise<void> {
  // The rows a decision read in this transaction need not be read again.
  const keys = [...new Set(moves.flatMap((m) => m.reservations.map((r) => r.key)))];
  if (keys.length === 0) return;
  const known = new Map(read?.keys.map((k, i) => [k, read.rows[i]] as const));
  const found = keys.every((k) => known.has(k))
    ? keys.map((k) => known.get(k))
    : await db.spend.bulkGet(keys);
  const rows = new Map(
    keys.map((key, i) => [key, found[i] ?? { key, reservedMinor: 0n, committedMinor: 0n }] as const),
  );
  for (const { reservations, column, sign } of moves) {
    for (const r of reservations) {
      const row = rows.get(r.key);
      if (!row) continue;
      const next = row[column] + sign * r.amountMinor;
      rows.set(r.key, { ...row, [column]: next < 0n ? 0n : next });
    }
  }
  await db.spend.bulkPut([...rows.values()]);
}

/** Adds (sign 1) or takes away (sign -1) reservations from one column of the running totals. */
function addToTotals(
  db: PayboundDb,
  reservations: Reservation[],
  column: 'reservedMinor' | 'committedMinor',
  sign: 1n | -1n,
): Promise<void> {
  return moveTotals(db, [{ reservations, column, sign }]);
}

export type RecheckResult =
  | { kind: 'ok' }
  | { kind: 'gone' }
  /** The budgets changed since the quote (other quotes were approved): it now needs more. */
  | { kind: 'escalated'; payment: PaymentRecord };

/** What a recheck reads besides the quote: asked beside the quote's own read, when its site is known. */
export interface RecheckReads {
  site: string;
  waiting: PaymentRecord[];
  reads: AssessReads;
}

/** Read in the caller's transaction (a quote's site never changes, so it may be known before). */
export async function recheckReads(
  db: PayboundDb,
  paymentId: string,
  site: string,
  rules: Rules,
  nowMs: number,
): Promise<RecheckReads> {
  const [waiting, reads] = await Promise.all([
    waitingQuotes(db, paymentId),
    assessReads(db, site, rules, nowMs, true),
  ]);
  return { site, waiting, reads };
}

/**
 * Before a waiting quote is approved: decides it again against the totals as they are now,
 * counting every other approved or spent charge. If it now exceeds a budget (or needs a stronger
 * approval), the quote is raised to that tier and the approval must be given again.
 */
export async function recheck(
  db: PayboundDb,
  paymentId: string,
  rules: Rules,
  nowMs: number,
  /** The payment as the caller's transaction just read it, when it has (not read again). */
  current?: PaymentRecord,
  /** Its `recheckReads`, when the caller's transaction asked them beside that read. */
  ahead?: RecheckReads,
): Promise<RecheckResult> {
  return db.transaction('rw', [db.payments, db.spend, db.sites], async () => {
    const p = current?.id === paymentId ? current : await db.payments.get(paymentId);
    if (p?.state !== 'reserved' || p.approval !== 'waiting') return { kind: 'gone' };
    // Only the money can have changed (other quotes were approved meanwhile): an overage now.
    const { waiting, reads } =
      ahead?.site === p.site ? ahead : await recheckReads(db, p.id, p.site, rules, nowMs);
    const decision = assess(reads, p, rules, nowMs, waiting);
    if (decision.tier !== 'overage' || p.tier === 'overage') return { kind: 'ok' };
    const tier = 'overage' as const;
    const keys = [...new Set(decision.budgets.map((b) => b.totalKey))];
    const reservations = keys.map((key) => ({ key, amountMinor: p.amountMinor ?? 0n }));
    await moveTotals(db, [
      { reservations: p.reservations, column: 'reservedMinor', sign: -1n },
      { reservations, column: 'reservedMinor', sign: 1n },
    ]);
    const patch = {
      tier,
      reasons: decision.reasons,
      reasonsSaid: decision.said,
      budgetEffects: effectsOf(decision),
      reservations,
      updatedAt: nowMs,
    };
    await db.payments.update(p.id, patch);
    return { kind: 'escalated', payment: { ...p, ...patch } };
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
    const spent: TotalsMove[] =
      to === 'committed' ? [{ reservations: p.reservations, column: 'committedMinor', sign: 1n }] : [];
    await Promise.all([
      moveTotals(db, [{ reservations: p.reservations, column: 'reservedMinor', sign: -1n }, ...spent]),
      db.payments.update(paymentId, { reservationState: to }),
    ]);
  });
}

/**
 * Usage a card plan's card service billed as reported (metered overage): already spent, so it is
 * recorded as paid and counts at once against every budget of its site and period. No tier asks:
 * the cap the user agreed to was enforced where the usage was reported.
 */
export async function recordMetered(
  db: PayboundDb,
  draft: NewPayment,
  rules: Rules,
  nowMs: number,
): Promise<void> {
  const amountMinor = draft.amountMinor ?? 0n;
  await db.transaction('rw', [db.payments, db.spend], async () => {
    if (await db.payments.where('key').equals(draft.key).first()) return;
    const reservations = rules.budgets
      .filter((b) => appliesTo(b, draft.site))
      .map((b) => ({ key: totalKey(b, periodKey(b.period, nowMs, rules.timeZone)), amountMinor }));
    await addToTotals(db, reservations, 'committedMinor', 1n);
    await db.payments.add({
      ...draft,
      state: 'paid',
      approval: 'auto',
      tier: 'auto',
      reasons: [],
      budgetEffects: [],
      reservations,
      reservationState: 'committed',
      paidAt: nowMs,
    } as PaymentRecord);
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
