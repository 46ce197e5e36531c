/** What both settlement engines (card, Lightning) share: their dependencies and the common steps. */
import { formatMinor, formatMsatAsSats } from '../../../core/money/rates';
import { english, type Said, said } from '../../../core/text/said';
import type {
  DisputeRecord,
  PayboundDb,
  PaymentRecord,
  RailRecord,
  Settlement,
  WorkerRailRecord,
} from '../../../db/schema';
import { transition } from '../../../db/transitions';
import type { DisputeService } from '../disputes';
import type { LightningRail } from '../rails/types';

export interface SettleContext {
  db: PayboundDb;
  disputes: DisputeService;
  openRail<T extends RailRecord>(r: T): Promise<T>;
  railFor(record: WorkerRailRecord): Promise<LightningRail>;
  /** A quiet notice (a window that ended by itself, a refund that arrived). Optional. */
  notify?(id: string, title: Said, message: Said): Promise<void>;
  now(): number;
}

/** What a settlement says now: the record's English and the Said the pages show. */
export function note(s: Settlement, what: Said): void {
  s.note = english(what);
  s.noteSaid = what;
}

/** An amount in the payment's own unit, as the user reads it: the card's currency, or sats. */
export function money(p: PaymentRecord, v: bigint): string {
  return p.kind === 'card' ? formatMinor(v, p.amount.currency) : formatMsatAsSats(v);
}

/** The app reported more than the user authorized: nothing above the maximum is paid; disputed. */
export async function overReported(
  ctx: SettleContext,
  p: PaymentRecord,
  s: Settlement,
  reported: bigint,
  max: bigint,
): Promise<void> {
  s.overReported = reported;
  if (await ctx.disputes.of(p.id, 'app')) return;
  const d = await ctx.disputes.open(
    p,
    said('noteOverReported', money(p, reported), money(p, max)),
    undefined,
    'app',
  );
  await ctx.disputes.move(d, 'escalated', said('noteOverReportedKept'));
}

/** Money came back (all, or part): the payment, the budgets and the dispute say so. */
export async function refunded(
  ctx: SettleContext,
  p: PaymentRecord,
  dispute: DisputeRecord,
  s: Settlement,
  full: boolean,
  what: Said,
): Promise<void> {
  await transition(ctx.db, p.id, ['paid', 'accepted', 'rejected'], full ? 'refunded' : 'partially_refunded', {
    settlement: s,
    updatedAt: ctx.now(),
  });
  await ctx.disputes.move(dispute, full ? 'refunded' : 'partially_refunded', what);
}
