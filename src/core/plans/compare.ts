/**
 * What a plan would have cost against what the person paid a site per use, for the quote window:
 * "last 30 days: 27.40 for 137 calls; the plan would have cost 20.00 → you would save 7.40".
 * Everything is integers in the user's currency's minor units (cents); plan amounts are converted
 * as quotes are: costs rounded up, allowances (a credit, an overage cap) rounded down, so a plan
 * never looks better than it is.
 */

import type { PlanInterval, PlanOffer } from '../challenge/plans';
import { MSAT_PER_BTC, msatToMinor, type Rate } from '../money/rates';

/** One paid charge of the site, from the ledger. */
export interface UsageEntry {
  /** Unix ms. */
  createdAt: number;
  /** What it cost, in the user's minor units. */
  amountMinor: bigint;
  /** Calls it paid for (default 1). */
  calls?: number;
}

/** A plan in the user's minor units. */
export interface PlanInUserMinor {
  id: string;
  name: string;
  interval: PlanInterval;
  intervalCount: number;
  priceMinor: bigint;
  includes: { calls: number } | { creditMinor: bigint };
  overage?: { priceMinor: bigint; capMinor: bigint };
}

export interface PlanComparison {
  planId: string;
  /** The span compared: whole plan periods ending now. */
  windowStartMs: number;
  windowEndMs: number;
  periods: number;
  /** What the person paid per use in the window, and for how many calls. */
  spentMinor: bigint;
  calls: number;
  /** What the plan would have cost: its price for every period, plus what lies beyond it. */
  planCostMinor: bigint;
  /** Of which: overage within the cap, and calls beyond it (or without overage) at the per-use price. */
  overageCalls: number;
  overageMinor: bigint;
  payPerUseCalls: number;
  payPerUseMinor: bigint;
  /** spent − plan cost: negative when the plan would have cost more. */
  savingMinor: bigint;
  worthIt: boolean;
}

export const COMPARISON_WINDOW_MS = 30 * 86_400_000;

const DAY_MS = 86_400_000;
/** Nominal lengths: a comparison is an estimate over whole periods, not a bill. */
const NOMINAL_DAYS: Record<PlanInterval, number> = { day: 1, week: 7, month: 30, year: 365 };

/**
 * A plan's amounts in the user's minor units. A Lightning plan needs the rate (msat → minor,
 * rounded as quotes are); a card plan must be in the user's currency. Throws when neither holds.
 */
export function planInUserMinor(
  offer: PlanOffer,
  userCurrency: string,
  rate?: Pick<Rate, 'minorPerBtc'>,
): PlanInUserMinor {
  let up: (v: bigint) => bigint;
  let down: (v: bigint) => bigint;
  const u = offer.unit;
  if (u.unit === 'minor') {
    if (u.currency.toLowerCase() !== userCurrency.toLowerCase())
      throw new Error(`the plan is in ${u.currency.toUpperCase()}, your budgets are in ${userCurrency}`);
    up = down = (v) => v;
  } else {
    if (!rate) throw new Error('a Lightning plan needs an exchange rate to compare');
    const scale = u.unit === 'sat' ? 1000n : 1n;
    up = (v) => msatToMinor(v * scale, rate);
    // Rounded down: an allowance the plan gives is never counted as more than it is.
    down = (v) => (v * scale * rate.minorPerBtc) / MSAT_PER_BTC;
  }
  return {
    id: offer.id,
    name: offer.name,
    interval: offer.interval,
    intervalCount: offer.intervalCount,
    priceMinor: up(offer.price),
    includes:
      'calls' in offer.includes
        ? { calls: offer.includes.calls }
        : { creditMinor: down(offer.includes.credit) },
    ...(offer.overage
      ? { overage: { priceMinor: up(offer.overage.price), capMinor: down(offer.overage.cap) } }
      : {}),
  };
}

/**
 * The span a plan is compared over, ending at `nowMs`: as many whole plan periods as fit in
 * `windowMs` (a weekly plan: 4 weeks of a 30-day window), or one period when it is longer than the
 * window (a yearly plan is compared with the last year).
 */
export function comparisonWindow(
  plan: Pick<PlanInUserMinor, 'interval' | 'intervalCount'>,
  nowMs: number,
  windowMs: number = COMPARISON_WINDOW_MS,
): { startMs: number; endMs: number; periods: number; periodMs: number } {
  const periodMs = NOMINAL_DAYS[plan.interval] * plan.intervalCount * DAY_MS;
  const periods = Math.max(1, Math.floor(windowMs / periodMs));
  return { startMs: nowMs - periods * periodMs, endMs: nowMs, periods, periodMs };
}

/** ⌈a × b / c⌉ for non-negative integers. */
const mulDivUp = (a: bigint, b: bigint, c: bigint) => (a * b + c - 1n) / c;

/**
 * What `plan` would have cost for the charges in `entries` that fall in its comparison window,
 * period by period: included calls (or credit, spent at each charge's own price, in order) first;
 * beyond them overage at its price while the period's overage stays within the cap; beyond that,
 * or without overage, each call at what it cost per use.
 */
export function comparePlan(
  entries: readonly UsageEntry[],
  nowMs: number,
  plan: PlanInUserMinor,
  windowMs: number = COMPARISON_WINDOW_MS,
): PlanComparison {
  const w = comparisonWindow(plan, nowMs, windowMs);
  const inWindow = entries
    .filter((e) => e.createdAt >= w.startMs && e.createdAt < w.endMs)
    .map((e) => ({ ...e, calls: e.calls ?? 1 }))
    .filter((e) => Number.isSafeInteger(e.calls) && e.calls > 0 && e.amountMinor >= 0n)
    .sort((a, b) => a.createdAt - b.createdAt);

  let spentMinor = 0n;
  let calls = 0;
  let overageCalls = 0;
  let overageMinor = 0n;
  let payPerUseCalls = 0;
  let payPerUseMinor = 0n;
  for (let period = 0; period < w.periods; period++) {
    const from = w.startMs + period * w.periodMs;
    const to = from + w.periodMs;
    let callsLeft = 'calls' in plan.includes ? plan.includes.calls : 0;
    let creditLeft = 'creditMinor' in plan.includes ? plan.includes.creditMinor : 0n;
    let periodOverage = 0n;
    for (const e of inWindow) {
      if (e.createdAt < from || e.createdAt >= to) continue;
      spentMinor += e.amountMinor;
      calls += e.calls;
      let beyond: number;
      if ('calls' in plan.includes) {
        const covered = Math.min(callsLeft, e.calls);
        callsLeft -= covered;
        beyond = e.calls - covered;
      } else if (e.amountMinor <= creditLeft) {
        creditLeft -= e.amountMinor;
        beyond = 0;
      } else {
        // The credit no longer covers a charge: from here on the app charges beyond the plan.
        creditLeft = 0n;
        beyond = e.calls;
      }
      if (beyond === 0) continue;
      let asOverage = 0;
      if (plan.overage && plan.overage.priceMinor > 0n) {
        const room = (plan.overage.capMinor - periodOverage) / plan.overage.priceMinor;
        asOverage = Number(room < BigInt(beyond) ? room : BigInt(beyond));
        periodOverage += BigInt(asOverage) * plan.overage.priceMinor;
      }
      overageCalls += asOverage;
      const perUse = beyond - asOverage;
      payPerUseCalls += perUse;
      payPerUseMinor += mulDivUp(e.amountMinor, BigInt(perUse), BigInt(e.calls));
    }
    overageMinor += periodOverage;
  }
  const planCostMinor = plan.priceMinor * BigInt(w.periods) + overageMinor + payPerUseMinor;
  const savingMinor = spentMinor - planCostMinor;
  return {
    planId: plan.id,
    windowStartMs: w.startMs,
    windowEndMs: w.endMs,
    periods: w.periods,
    spentMinor,
    calls,
    planCostMinor,
    overageCalls,
    overageMinor,
    payPerUseCalls,
    payPerUseMinor,
    savingMinor,
    worthIt: calls > 0 && savingMinor > 0n,
  };
}
