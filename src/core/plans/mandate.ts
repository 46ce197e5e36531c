/**
 * The standing approval a subscription records (docs/plans.md §5): what the person agreed to pay
 * a site per period, and for overage. A renewal or overage within it is paid without a window;
 * anything else asks, as a new charge would. Amounts are in the mandate's unit, the unit of the
 * challenge the plan was offered on.
 */

import type { MppSubscriptionChallenge } from '../challenge/mpp';
import type { PlanInterval, PlanOffer, PlanRail, PlanUnit } from '../challenge/plans';

export interface Mandate {
  /** The registrable domain that subscribed (core/site). */
  site: string;
  planId: string;
  planName: string;
  rail: PlanRail;
  unit: PlanUnit;
  amountPerPeriod: bigint;
  interval: PlanInterval;
  intervalCount: number;
  /** Per overage call, and the most overage may cost in one period; absent: no overage is agreed. */
  overagePrice?: bigint;
  overageCap?: bigint;
  /** Unix ms: when the person subscribed; the periods are counted from it. */
  createdAt: number;
  /**
   * Unix ms: when a cancelled mandate ends (the end of the period in which the person cancelled).
   * A cancelled mandate renews no more; its overage is paid until then.
   */
  cancelAt?: number;
}

/** What a subscription challenge is compared with: the plan agreed to, or the mandate renewed. */
export interface AgreedPeriod {
  unit: PlanUnit;
  amountPerPeriod: bigint;
  interval: PlanInterval;
  intervalCount: number;
}

export type MandateCheck = { ok: true } | { ok: false; reason: string };

const ok: MandateCheck = { ok: true };
const no = (reason: string): MandateCheck => ({ ok: false, reason });

/** The mandate a subscription to `offer` records. */
export function mandateFromOffer(offer: PlanOffer, site: string, createdAt: number): Mandate {
  return {
    site,
    planId: offer.id,
    planName: offer.name,
    rail: offer.rail,
    unit: offer.unit,
    amountPerPeriod: offer.price,
    interval: offer.interval,
    intervalCount: offer.intervalCount,
    ...(offer.overage ? { overagePrice: offer.overage.price, overageCap: offer.overage.cap } : {}),
    createdAt,
  };
}

/** The agreed period of an offer, for the first subscription challenge. */
export function agreedFromOffer(offer: PlanOffer): AgreedPeriod {
  return {
    unit: offer.unit,
    amountPerPeriod: offer.price,
    interval: offer.interval,
    intervalCount: offer.intervalCount,
  };
}

/**
 * An amount in a common base, so that a plan offered in msat (L402) compares with a renewal in
 * sats (MPP): msat for Lightning, the minor unit (with its currency) for a card.
 */
function base(value: bigint, unit: PlanUnit): { value: bigint; currency: string } {
  switch (unit.unit) {
    case 'msat':
      return { value, currency: 'msat' };
    case 'sat':
      return { value: value * 1000n, currency: 'msat' };
    case 'minor':
      return { value, currency: unit.currency.toLowerCase() };
  }
}

/** The unit an MPP request's currency writes: "sat" for Lightning, an ISO code's minor unit otherwise. */
export function unitOfCurrency(currency: string): PlanUnit {
  const c = currency.toLowerCase();
  return c === 'sat' ? { unit: 'sat' } : { unit: 'minor', currency: c };
}

const unitName = (u: PlanUnit) => (u.unit === 'minor' ? u.currency.toUpperCase() : u.unit);

/**
 * Whether a subscription challenge asks for what was agreed: the same currency, the same period,
 * and no more per period (less is fine: an app may lower its price, never raise it unasked).
 */
export function matchesMandate(challenge: MppSubscriptionChallenge, agreed: AgreedPeriod): MandateCheck {
  const asked = base(BigInt(challenge.request.amount), unitOfCurrency(challenge.request.currency));
  const limit = base(agreed.amountPerPeriod, agreed.unit);
  if (asked.currency !== limit.currency)
    return no(
      `the subscription is in ${challenge.request.currency.toUpperCase()}, the plan agreed was in ${unitName(agreed.unit)}`,
    );
  const { interval, intervalCount } = challenge.subscription;
  if (interval !== agreed.interval || intervalCount !== agreed.intervalCount)
    return no(
      `the subscription renews every ${intervalCount} ${interval}, the plan agreed renews every ${agreed.intervalCount} ${agreed.interval}`,
    );
  if (asked.value > limit.value)
    return no(
      `the subscription asks ${challenge.request.amount} ${challenge.request.currency} a period, more than the ${agreed.amountPerPeriod} ${unitName(agreed.unit)} agreed`,
    );
  return ok;
}

/** The mandate is in force at `nowMs`: not ended by a cancellation. */
export function mandateActive(mandate: Mandate, nowMs: number): boolean {
  return mandate.cancelAt === undefined || nowMs < mandate.cancelAt;
}

const RAILS: Record<string, PlanRail> = { lightning: 'lightning', card: 'card' };

/**
 * Whether a renewal challenge may be paid without asking: the mandate was not cancelled, the
 * challenge is for the mandate's rail, and it asks what the mandate agreed.
 */
export function renewalWithin(mandate: Mandate, challenge: MppSubscriptionChallenge): MandateCheck {
  if (mandate.cancelAt !== undefined) return no(`the plan ${mandate.planName} was cancelled`);
  if (RAILS[challenge.method] !== mandate.rail)
    return no(`the renewal is paid by ${challenge.method}, the plan agreed was paid by ${mandate.rail}`);
  return matchesMandate(challenge, mandate);
}

/**
 * Whether an overage charge may be paid without asking: the mandate agreed to overage and is in
 * force, the charge is no more than the agreed price per call, and this period's overage with it
 * stays within the cap. `spentThisPeriod` and `amount` are in `opts.unit` (default: the mandate's).
 */
export function overageWithin(
  mandate: Mandate,
  spentThisPeriod: bigint,
  amount: bigint,
  opts: { unit?: PlanUnit; nowMs?: number } = {},
): MandateCheck {
  const unit = opts.unit ?? mandate.unit;
  if (mandate.overagePrice === undefined || mandate.overageCap === undefined)
    return no(`the plan ${mandate.planName} agreed to no overage`);
  if (opts.nowMs !== undefined && !mandateActive(mandate, opts.nowMs))
    return no(`the plan ${mandate.planName} has ended`);
  if (amount <= 0n || spentThisPeriod < 0n) return no('the overage charge has no positive amount');
  const charge = base(amount, unit);
  const spent = base(spentThisPeriod, unit);
  const price = base(mandate.overagePrice, mandate.unit);
  const cap = base(mandate.overageCap, mandate.unit);
  if (charge.currency !== price.currency)
    return no(`the overage charge is in ${unitName(unit)}, the plan agreed was in ${unitName(mandate.unit)}`);
  if (charge.value > price.value)
    return no(
      `the overage charge is above the ${mandate.overagePrice} ${unitName(mandate.unit)} a call agreed`,
    );
  if (spent.value + charge.value > cap.value)
    return no(`this period's overage would pass the ${mandate.overageCap} ${unitName(mandate.unit)} agreed`);
  return ok;
}

const MONTHS: Record<PlanInterval, number> = { day: 0, week: 0, month: 1, year: 12 };
const DAYS: Record<PlanInterval, number> = { day: 1, week: 7, month: 0, year: 0 };
const DAY_MS = 86_400_000;

/**
 * The n-th period boundary from `anchorMs` (n = 0 is the anchor), counted in UTC as subscriptions
 * bill: days and weeks are fixed lengths; months keep the anchor's day of month, on the month's
 * last day when it is shorter (31 Jan → 28 Feb → 31 Mar), and its time of day.
 */
export function periodBoundary(
  anchorMs: number,
  interval: PlanInterval,
  intervalCount: number,
  n: number,
): number {
  if (DAYS[interval] > 0) return anchorMs + n * intervalCount * DAYS[interval] * DAY_MS;
  const a = new Date(anchorMs);
  const months = a.getUTCMonth() + n * intervalCount * MONTHS[interval];
  const year = a.getUTCFullYear() + Math.floor(months / 12);
  const month = ((months % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const timeOfDay = anchorMs - Date.UTC(a.getUTCFullYear(), a.getUTCMonth(), a.getUTCDate());
  return Date.UTC(year, month, Math.min(a.getUTCDate(), lastDay)) + timeOfDay;
}

/** The mandate's period containing `nowMs` (from its start; before it, the first period). */
export function mandatePeriod(mandate: Mandate, nowMs: number): { startMs: number; endMs: number } {
  const { createdAt, interval, intervalCount } = mandate;
  // A first guess from the average length, then corrected: months differ in length.
  const avg = (DAYS[interval] || MONTHS[interval] * 30.436875) * intervalCount * DAY_MS;
  let n = Math.max(0, Math.floor((nowMs - createdAt) / avg));
  while (n > 0 && periodBoundary(createdAt, interval, intervalCount, n) > nowMs) n--;
  while (periodBoundary(createdAt, interval, intervalCount, n + 1) <= nowMs) n++;
  return {
    startMs: periodBoundary(createdAt, interval, intervalCount, n),
    endMs: periodBoundary(createdAt, interval, intervalCount, n + 1),
  };
}

/** When the period that starts at (or contains) `periodStart` renews: its end. */
export function nextRenewal(mandate: Mandate, periodStart: number): number {
  return mandatePeriod(mandate, periodStart).endMs;
}
