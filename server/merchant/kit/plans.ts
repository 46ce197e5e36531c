// Plans beside pay-per-use, the app's side (docs/plans.md): what a plan is, how it is offered in a
// challenge's `paybound` terms, its periods, and the `Paybound-Usage` header. The subscribe
// endpoint and the usage guard are in plan-desk.ts; subscriptions are kept in plan-store.ts.
import type { IncomingMessage } from 'node:http';
import { MSAT_PER_SAT } from './money';
import type { PayboundPlan } from './review';

export type PlanInterval = 'day' | 'week' | 'month' | 'year';
export type PlanRail = 'lightning' | 'card';

/** A plan's price on one rail: `price` per period; `overage` per call beyond what is included and its cap per period. */
export interface PlanRailPrice {
  price: bigint | number;
  overage?: { price: bigint | number; cap: bigint | number };
}

export interface PlanDefinition {
  /** `[a-z0-9-]{1,40}`. */
  id: string;
  /** 1–60 characters, shown to the person as the app's words. */
  name: string;
  interval: PlanInterval;
  /** 1–12; default 1. */
  intervalCount?: number;
  /** Calls included in one period (1–1 000 000). */
  includes: { calls: number };
  /** Offered on Lightning (L402 and MPP `lightning` challenges): whole sats. */
  lightning?: PlanRailPrice;
  /** Offered on MPP `card` challenges: minor units of the desk's card currency. */
  card?: PlanRailPrice;
}

/** A checked plan, amounts as bigints in each rail's base unit (sat, or card minor units). */
export interface Plan {
  id: string;
  name: string;
  interval: PlanInterval;
  intervalCount: number;
  calls: number;
  lightning?: { price: bigint; overage?: { price: bigint; cap: bigint } };
  card?: { price: bigint; overage?: { price: bigint; cap: bigint } };
}

export const MAX_PLANS = 4;
const PLAN_ID = /^[a-z0-9-]{1,40}$/;
const INTERVALS: readonly PlanInterval[] = ['day', 'week', 'month', 'year'];

function positive(value: bigint | number, what: string): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new RangeError(`${what} must be an integer`);
  const n = BigInt(value);
  if (n <= 0n) throw new RangeError(`${what} must be positive`);
  return n;
}

function railPrice(price: PlanRailPrice, what: string): NonNullable<Plan['lightning']> {
  const out: NonNullable<Plan['lightning']> = { price: positive(price.price, `${what} price`) };
  if (price.overage) {
    out.overage = {
      price: positive(price.overage.price, `${what} overage price`),
      cap: positive(price.overage.cap, `${what} overage cap`),
    };
    if (out.overage.cap < out.overage.price)
      throw new RangeError(`${what} overage cap is below one call's overage price`);
  }
  return out;
}

/** Checks plan definitions as a wallet would (docs/plans.md §1); throws a RangeError naming the problem. */
export function checkPlans(definitions: readonly PlanDefinition[]): Plan[] {
  if (definitions.length > MAX_PLANS) throw new RangeError(`at most ${MAX_PLANS} plans`);
  const seen = new Set<string>();
  return definitions.map((d) => {
    if (!PLAN_ID.test(d.id)) throw new RangeError(`plan id ${JSON.stringify(d.id)} is not [a-z0-9-]{1,40}`);
    if (seen.has(d.id)) throw new RangeError(`plan id ${d.id} is used twice`);
    seen.add(d.id);
    const nameLength = [...d.name].length;
    if (nameLength < 1 || nameLength > 60)
      throw new RangeError(`plan ${d.id}: the name must be 1–60 characters`);
    if (!INTERVALS.includes(d.interval)) throw new RangeError(`plan ${d.id}: unknown interval ${d.interval}`);
    const intervalCount = d.intervalCount ?? 1;
    if (!Number.isSafeInteger(intervalCount) || intervalCount < 1 || intervalCount > 12)
      throw new RangeError(`plan ${d.id}: intervalCount must be 1–12`);
    const calls = d.includes.calls;
    if (!Number.isSafeInteger(calls) || calls < 1 || calls > 1_000_000)
      throw new RangeError(`plan ${d.id}: included calls must be 1–1 000 000`);
    if (!d.lightning && !d.card) throw new RangeError(`plan ${d.id} has no price on any rail`);
    const plan: Plan = { id: d.id, name: d.name, interval: d.interval, intervalCount, calls };
    if (d.lightning) plan.lightning = railPrice(d.lightning, `plan ${d.id} lightning`);
    if (d.card) plan.card = railPrice(d.card, `plan ${d.id} card`);
    return plan;
  });
}

/**
 * The plans to put on a challenge in `unit` that charges `charge`: Lightning plans in msat (L402)
 * or sat (MPP), card plans in `cardCurrency`. A plan a wallet would refuse for this charge is left
 * out (included calls dearer than paying per use, an overage price above the per-use price), so
 * the charge is still offered as it is.
 */
export function planOffers(
  plans: readonly Plan[],
  unit: string,
  charge: bigint,
  subscribe: string,
  cardCurrency: string | undefined,
): PayboundPlan[] {
  const factor = unit === 'msat' ? MSAT_PER_SAT : 1n;
  const out: PayboundPlan[] = [];
  for (const plan of plans) {
    const rail =
      unit === 'msat' || unit === 'sat' ? plan.lightning : unit === cardCurrency ? plan.card : undefined;
    if (!rail || charge <= 0n) continue;
    const price = rail.price * factor;
    const overage = rail.overage
      ? { price: rail.overage.price * factor, cap: rail.overage.cap * factor }
      : undefined;
    if (price > BigInt(plan.calls) * charge) continue;
    if (overage && overage.price > charge) continue;
    out.push({
      id: plan.id,
      name: plan.name,
      price,
      interval: plan.interval,
      intervalCount: plan.intervalCount,
      includes: { calls: plan.calls },
      ...(overage ? { overage } : {}),
      subscribe,
    });
  }
  return out;
}

/**
 * The end of a period that starts at `start` (unix s). Days and weeks are fixed lengths; months and
 * years are calendar ones in UTC, a day past the end of the target month landing on its last day
 * (31 January + 1 month = 28 or 29 February).
 */
export function periodEnd(start: number, interval: PlanInterval, count: number): number {
  if (interval === 'day') return start + count * 86_400;
  if (interval === 'week') return start + count * 7 * 86_400;
  const months = interval === 'year' ? 12 * count : count;
  const d = new Date(start * 1000);
  const target = new Date(
    Date.UTC(
      d.getUTCFullYear(),
      d.getUTCMonth() + months,
      1,
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
    ),
  );
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return Math.floor(target.getTime() / 1000);
}

export const USAGE_HEADER = 'Paybound-Usage';

export interface UsageReport {
  plan: string;
  used: number;
  included: number;
  overageCalls: number;
  /** In the plan's unit (sat for a Lightning plan, minor units for a card plan). */
  overageAmount: bigint;
  periodEnd: number;
}

/** The `Paybound-Usage` value: an RFC 8941 dictionary (a string and integers). */
export function formatUsage(u: UsageReport): string {
  // The plan id is [a-z0-9-]: nothing in it needs escaping in an sf-string.
  return `plan="${u.plan}", used=${u.used}, included=${u.included}, overage=${u.overageCalls}, overage-amount=${u.overageAmount}, period-end=${u.periodEnd}`;
}

/** The header a wallet sends its subscriber credential in (docs/plans.md §3). */
export const SUBSCRIBER_HEADER = 'Paybound-Subscriber';

const CREDENTIAL = /^[A-Za-z0-9._~-]{1,512}$/;

/** `Authorization: Subscriber <credential>`: the credential, or undefined for any other header. */
export function parseSubscriberAuthorization(header: string | undefined): string | undefined {
  const m = /^\s*Subscriber\s+([A-Za-z0-9._~-]{1,512})\s*$/i.exec(header ?? '');
  return m?.[1];
}

export interface GivenSubscriber {
  /** The credential, when one was sent well formed. */
  credential?: string;
  /**
   * It came as `Authorization: Subscriber …` (also accepted) rather than in `Paybound-Subscriber`:
   * that Authorization pays nothing, and a paywall must not see it.
   */
  viaAuthorization: boolean;
}

/** The subscriber credential a request names: `Paybound-Subscriber`, else `Authorization: Subscriber`. */
export function readSubscriber(req: IncomingMessage): GivenSubscriber {
  const header = req.headers[SUBSCRIBER_HEADER.toLowerCase()];
  if (header !== undefined) {
    const value = typeof header === 'string' ? header.trim() : undefined;
    return { ...(value && CREDENTIAL.test(value) ? { credential: value } : {}), viaAuthorization: false };
  }
  if (!/^\s*Subscriber(\s|$)/i.test(req.headers.authorization ?? '')) return { viaAuthorization: false };
  const credential = parseSubscriberAuthorization(req.headers.authorization);
  return { ...(credential ? { credential } : {}), viaAuthorization: true };
}
