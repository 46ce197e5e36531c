import { describe, expect, it } from 'vitest';
import type { PlanOffer } from '../../../../src/core/challenge/plans';
import {
  COMPARISON_WINDOW_MS,
  comparePlan,
  comparisonWindow,
  type PlanInUserMinor,
  planInUserMinor,
  type UsageEntry,
} from '../../../../src/core/plans/compare';
import { planWouldHaveBeenCheaper } from '../../../../src/core/plans/forecast';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T12:00:00Z');

const offer = (patch: Partial<PlanOffer> = {}): PlanOffer => ({
  id: 'quill-pro',
  name: 'Quill Pro',
  nameAltered: false,
  rail: 'card',
  unit: { unit: 'minor', currency: 'usd' },
  price: 2000n,
  interval: 'month',
  intervalCount: 1,
  includes: { calls: 200 },
  subscribeUrl: 'https://api.quill.example/plans/subscribe',
  perUse: 20n,
  ...patch,
});

/** `n` calls at `each`, spread evenly over the last 29 days. */
const evenly = (n: number, each: bigint): UsageEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    createdAt: NOW - 29 * DAY + Math.floor((i * 29 * DAY) / n),
    amountMinor: each,
  }));

describe('comparePlan', () => {
  it('the quote window’s example: 27.40 for 137 calls against a 20.00 plan saves 7.40', () => {
    const plan = planInUserMinor(offer(), 'USD');
    const c = comparePlan(evenly(137, 20n), NOW, plan);
    expect(c).toEqual({
      planId: 'quill-pro',
      windowStartMs: NOW - 30 * DAY,
      windowEndMs: NOW,
      periods: 1,
      spentMinor: 2740n,
      calls: 137,
      planCostMinor: 2000n,
      overageCalls: 0,
      overageMinor: 0n,
      payPerUseCalls: 0,
      payPerUseMinor: 0n,
      savingMinor: 740n,
      worthIt: true,
    });
  });

  it('counts only the window: older than 30 days and from the future are left out', () => {
    const plan = planInUserMinor(offer(), 'usd');
    const entries: UsageEntry[] = [
      { createdAt: NOW - 30 * DAY - 1, amountMinor: 999n },
      { createdAt: NOW - 30 * DAY, amountMinor: 20n },
      { createdAt: NOW - 1, amountMinor: 20n },
      { createdAt: NOW, amountMinor: 999n },
    ];
    const c = comparePlan(entries, NOW, plan);
    expect([c.spentMinor, c.calls]).toEqual([40n, 2]);
  });

  it('beyond the included calls: overage within its cap, then per use', () => {
    const plan = planInUserMinor(offer({ overage: { price: 8n, cap: 300n } }), 'USD');
    // 250 calls at 0.20: 200 included; 37 × 0.08 = 2.96 fit under the 3.00 cap; 13 at 0.20 = 2.60.
    const c = comparePlan(evenly(250, 20n), NOW, plan);
    expect(c).toMatchObject({
      spentMinor: 5000n,
      calls: 250,
      overageCalls: 37,
      overageMinor: 296n,
      payPerUseCalls: 13,
      payPerUseMinor: 260n,
      planCostMinor: 2000n + 296n + 260n,
      savingMinor: 5000n - 2556n,
      worthIt: true,
    });
  });

  it('without overage, calls beyond the plan cost what they cost per use', () => {
    const entries = [...evenly(200, 20n), { createdAt: NOW - 1000, amountMinor: 35n }];
    const c = comparePlan(entries, NOW, planInUserMinor(offer(), 'USD'));
    expect([c.payPerUseCalls, c.payPerUseMinor, c.planCostMinor]).toEqual([1, 35n, 2035n]);
  });

  it('a plan dearer than the usage is not worth it; no usage at all neither', () => {
    const plan = planInUserMinor(offer(), 'USD');
    const few = comparePlan(evenly(40, 20n), NOW, plan);
    expect([few.savingMinor, few.worthIt]).toEqual([800n - 2000n, false]);
    const none = comparePlan([], NOW, plan);
    expect([none.spentMinor, none.calls, none.savingMinor, none.worthIt]).toEqual([0n, 0, -2000n, false]);
    // Breaking even is not a saving.
    expect(comparePlan(evenly(100, 20n), NOW, plan).worthIt).toBe(false);
  });

  it('an entry of several calls that straddles the allowance is split, rounded up', () => {
    const plan = planInUserMinor(offer({ includes: { calls: 2 }, price: 10n }), 'USD');
    const c = comparePlan([{ createdAt: NOW - DAY, amountMinor: 101n, calls: 5 }], NOW, plan);
    // 2 of 5 calls included; 3 beyond: ⌈101 × 3 / 5⌉ = 61.
    expect([c.calls, c.payPerUseCalls, c.payPerUseMinor, c.planCostMinor]).toEqual([5, 3, 61n, 71n]);
  });

  it('ignores entries that are not charges (no calls, negative amounts)', () => {
    const plan = planInUserMinor(offer(), 'USD');
    const c = comparePlan(
      [
        { createdAt: NOW - DAY, amountMinor: 20n, calls: 0 },
        { createdAt: NOW - DAY, amountMinor: -20n },
        { createdAt: NOW - DAY, amountMinor: 20n, calls: 1.5 },
      ],
      NOW,
      plan,
    );
    expect([c.spentMinor, c.calls]).toEqual([0n, 0]);
  });

  it('a credit plan spends its credit at each charge’s price, in order', () => {
    const plan = planInUserMinor(offer({ includes: { credit: 2000n }, price: 1500n }), 'USD');
    // 120 calls at 0.20: the credit covers 100, the other 20 cost 4.00 per use.
    const c = comparePlan(evenly(120, 20n), NOW, plan);
    expect([c.spentMinor, c.planCostMinor, c.payPerUseCalls, c.savingMinor]).toEqual([
      2400n,
      1900n,
      20,
      500n,
    ]);
    // A charge the rest of the credit cannot cover ends it: 1990 covered, then 50 does not fit.
    const mixed = comparePlan(
      [
        { createdAt: NOW - 3 * DAY, amountMinor: 1990n },
        { createdAt: NOW - 2 * DAY, amountMinor: 50n },
        { createdAt: NOW - DAY, amountMinor: 5n },
      ],
      NOW,
      plan,
    );
    expect([mixed.payPerUseCalls, mixed.payPerUseMinor]).toEqual([2, 55n]);
  });

  it('weekly plans: four whole weeks, each with its own allowance', () => {
    const plan = planInUserMinor(offer({ interval: 'week', includes: { calls: 10 }, price: 150n }), 'USD');
    const w = comparisonWindow(plan, NOW);
    expect(w).toEqual({ startMs: NOW - 28 * DAY, endMs: NOW, periods: 4, periodMs: 7 * DAY });
    // 15 calls in the oldest week (5 beyond), 10 in the newest; the two weeks between unused.
    const entries: UsageEntry[] = [
      ...Array.from({ length: 15 }, (_, i) => ({ createdAt: NOW - 28 * DAY + i * 1000, amountMinor: 20n })),
      ...Array.from({ length: 10 }, (_, i) => ({ createdAt: NOW - DAY + i * 1000, amountMinor: 20n })),
      // Day 29 and 30 before now: outside four weeks.
      { createdAt: NOW - 29 * DAY, amountMinor: 20n },
    ];
    const c = comparePlan(entries, NOW, plan);
    expect([c.periods, c.calls, c.spentMinor, c.payPerUseCalls, c.planCostMinor]).toEqual([
      4,
      25,
      500n,
      5,
      4n * 150n + 100n,
    ]);
    expect(c.savingMinor).toBe(500n - 700n);
  });

  it('a plan longer than the window is compared over one of its periods', () => {
    const year = comparisonWindow({ interval: 'year', intervalCount: 1 }, NOW);
    expect([year.periods, year.startMs]).toEqual([1, NOW - 365 * DAY]);
    const quarter = comparisonWindow({ interval: 'month', intervalCount: 3 }, NOW);
    expect([quarter.periods, quarter.startMs]).toEqual([1, NOW - 90 * DAY]);
    expect(comparisonWindow({ interval: 'day', intervalCount: 1 }, NOW).periods).toBe(30);
    expect(
      comparisonWindow({ interval: 'month', intervalCount: 1 }, NOW, COMPARISON_WINDOW_MS * 2).periods,
    ).toBe(2);
  });
});

describe('planInUserMinor', () => {
  const lightning = offer({
    rail: 'lightning',
    unit: { unit: 'sat' },
    price: 2000n,
    includes: { credit: 3000n },
    overage: { price: 8n, cap: 1000n },
  });

  it('converts a Lightning plan at the rate: costs rounded up, allowances down', () => {
    // 97 123.45 USD per BTC: 1 sat = 0.097 123 45 cents.
    const p = planInUserMinor(lightning, 'USD', { minorPerBtc: 9_712_345n });
    expect(p.priceMinor).toBe(195n); // 194.2469 → 195
    expect(p.includes).toEqual({ creditMinor: 291n }); // 291.37035 → 291
    expect(p.overage).toEqual({ priceMinor: 1n, capMinor: 97n }); // 0.777 → 1, 97.12345 → 97
  });

  it('msat plans (L402) convert as msat', () => {
    const p = planInUserMinor({ ...lightning, unit: { unit: 'msat' }, price: 2_000_000n }, 'USD', {
      minorPerBtc: 9_712_345n,
    });
    expect(p.priceMinor).toBe(195n);
  });

  it('refuses a card plan in another currency, and a Lightning plan without a rate', () => {
    expect(() => planInUserMinor(offer(), 'EUR')).toThrow(/USD, your budgets are in EUR/);
    expect(() => planInUserMinor(lightning, 'USD')).toThrow(/exchange rate/);
  });
});

/** A small deterministic generator: every run draws the same ledger. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The same comparison written call by call, as a second opinion for one-period plans. */
function callByCall(entries: UsageEntry[], nowMs: number, plan: PlanInUserMinor) {
  const calls = entries
    .filter((e) => e.createdAt >= nowMs - 30 * DAY && e.createdAt < nowMs)
    .sort((a, b) => a.createdAt - b.createdAt)
    .map((e) => e.amountMinor);
  const included = 'calls' in plan.includes ? plan.includes.calls : 0;
  let cost = plan.priceMinor;
  let overage = 0n;
  calls.forEach((amount, i) => {
    if (i < included) return;
    if (plan.overage && overage + plan.overage.priceMinor <= plan.overage.capMinor) {
      overage += plan.overage.priceMinor;
      cost += plan.overage.priceMinor;
    } else cost += amount;
  });
  return { spent: calls.reduce((a, b) => a + b, 0n), cost };
}

describe('comparePlan against a seeded ledger', () => {
  const rnd = lcg(424242);
  const ledger: UsageEntry[] = Array.from({ length: 400 }, () => ({
    // 45 days back to a day ahead: some outside the window on either side.
    createdAt: NOW - Math.floor(rnd() * 45 * DAY) + DAY,
    amountMinor: BigInt(5 + Math.floor(rnd() * 40)),
  }));

  it.each<[string, PlanInUserMinor]>([
    ['calls only', planInUserMinor(offer({ includes: { calls: 150 } }), 'USD')],
    [
      'calls and overage',
      planInUserMinor(offer({ includes: { calls: 100 }, overage: { price: 10n, cap: 500n } }), 'USD'),
    ],
    [
      'a cap below one call',
      planInUserMinor(offer({ includes: { calls: 100 }, overage: { price: 10n, cap: 9n } }), 'USD'),
    ],
    ['more included than used', planInUserMinor(offer({ includes: { calls: 100_000 } }), 'USD')],
  ])('%s: agrees with a call-by-call count', (_what, plan) => {
    const c = comparePlan(ledger, NOW, plan);
    const oracle = callByCall(ledger, NOW, plan);
    expect(c.spentMinor).toBe(oracle.spent);
    expect(c.planCostMinor).toBe(oracle.cost);
    expect(c.savingMinor).toBe(oracle.spent - oracle.cost);
    expect(c.worthIt).toBe(oracle.spent > oracle.cost);
    expect(c.overageMinor <= (plan.overage?.capMinor ?? 0n)).toBe(true);
  });

  it('planWouldHaveBeenCheaper picks the plan that saves the most, or none', () => {
    const small = planInUserMinor(offer({ id: 'small', price: 500n, includes: { calls: 50 } }), 'USD');
    const big = planInUserMinor(offer({ id: 'big', price: 2000n, includes: { calls: 1000 } }), 'USD');
    const dear = planInUserMinor(offer({ id: 'dear', price: 900_000n, includes: { calls: 1000 } }), 'USD');
    const best = planWouldHaveBeenCheaper(ledger, NOW, [small, big, dear]);
    const [bySmall, byBig] = [small, big].map((p) => comparePlan(ledger, NOW, p).savingMinor) as [
      bigint,
      bigint,
    ];
    // Both would have saved something, so the choice between them is what is tested.
    expect(bySmall > 0n && byBig > 0n && bySmall !== byBig).toBe(true);
    const winner =
      bySmall > byBig ? { planId: 'small', savingMinor: bySmall } : { planId: 'big', savingMinor: byBig };
    expect(best).toMatchObject(winner);
    expect(planWouldHaveBeenCheaper(ledger, NOW, [dear])).toBeUndefined();
    expect(planWouldHaveBeenCheaper([], NOW, [small, big])).toBeUndefined();
  });
});
