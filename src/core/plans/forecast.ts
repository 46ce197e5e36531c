/**
 * Where a budget is heading at the current pace, and whether a plan would have been the cheaper
 * way to pay a site. A forecast is linear: what was spent in the elapsed part of the period,
 * carried on to its end. Periods are the budgets' own (core/policy/periods: calendar periods in
 * the user's time zone, DST days included), so a forecast never disagrees with the budget it is
 * about.
 */

import { periodBounds } from '../policy/periods';
import type { Budget } from '../policy/rules';
import { comparePlan, type PlanComparison, type PlanInUserMinor, type UsageEntry } from './compare';

/**
 * `lasts`: at this pace the budget lasts the period (`projectedMinor`: what the period would end
 * at); `runsOut`: it runs out at `atMs`, before the period ends; `exhausted`: already spent;
 * `tooEarly`: too little of the period has passed for a pace to mean anything.
 */
export type BudgetForecast = { periodStartMs: number; periodEndMs: number } & (
  | { kind: 'lasts'; projectedMinor: bigint }
  | { kind: 'runsOut'; atMs: number; projectedMinor: bigint }
  | { kind: 'exhausted' }
  | { kind: 'tooEarly' }
);

export interface ForecastInput {
  budget: Pick<Budget, 'period' | 'limitMinor'>;
  /** What the budget's period has counted so far, in the user's minor units. */
  spentMinor: bigint;
  nowMs: number;
  timeZone: string;
  /**
   * No forecast before this much of the period has passed: one charge in a period's first
   * minutes would otherwise predict running out within hours. Default: a tenth of the period.
   */
  minElapsedMs?: number;
}

export function forecastBudget(input: ForecastInput): BudgetForecast {
  const { budget, spentMinor, nowMs, timeZone } = input;
  const { startMs, endMs } = periodBounds(budget.period, nowMs, timeZone);
  const bounds = { periodStartMs: startMs, periodEndMs: endMs };
  if (budget.limitMinor > 0n && spentMinor >= budget.limitMinor) return { ...bounds, kind: 'exhausted' };
  const length = endMs - startMs;
  const elapsed = nowMs - startMs;
  const minElapsed = input.minElapsedMs ?? Math.floor(length / 10);
  if (elapsed <= 0 || elapsed < minElapsed || budget.limitMinor <= 0n) return { ...bounds, kind: 'tooEarly' };
  const e = BigInt(elapsed);
  // ⌈spent × length / elapsed⌉: the period's total at this pace, rounded against the budget.
  const projectedMinor = (spentMinor * BigInt(length) + e - 1n) / e;
  if (spentMinor <= 0n || projectedMinor < budget.limitMinor)
    return { ...bounds, kind: 'lasts', projectedMinor };
  // The first millisecond at which spent × (t − start) / elapsed reaches the limit.
  const atMs = startMs + Number((budget.limitMinor * e + spentMinor - 1n) / spentMinor);
  if (atMs >= endMs) return { ...bounds, kind: 'lasts', projectedMinor };
  return { ...bounds, kind: 'runsOut', atMs, projectedMinor };
}

/**
 * Whether a new forecast should be told, like a milestone: the budget now runs out inside its
 * period and, in this same period, it did not before (nor had it run out). Once per period.
 */
export function forecastCrossed(previous: BudgetForecast | undefined, next: BudgetForecast): boolean {
  if (next.kind !== 'runsOut') return false;
  if (!previous || previous.periodStartMs !== next.periodStartMs) return true;
  return previous.kind !== 'runsOut' && previous.kind !== 'exhausted';
}

/**
 * The plan that would have saved the most on the site's recent charges, or undefined when none
 * would have cost less than paying per use.
 */
export function planWouldHaveBeenCheaper(
  history: readonly UsageEntry[],
  nowMs: number,
  plans: readonly PlanInUserMinor[],
): PlanComparison | undefined {
  let best: PlanComparison | undefined;
  for (const plan of plans) {
    const c = comparePlan(history, nowMs, plan);
    if (c.worthIt && (!best || c.savingMinor > best.savingMinor)) best = c;
  }
  return best;
}
