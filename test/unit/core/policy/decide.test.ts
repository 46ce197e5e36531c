import { describe, expect, it } from 'vitest';
import { decide, type PolicyInput } from '../../../../src/core/policy/decide';
import { periodKey } from '../../../../src/core/policy/periods';
import {
  defaultRules,
  parseRules,
  type Rules,
  rulesToWire,
  totalKey,
} from '../../../../src/core/policy/rules';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const SITE = 'https://app.example';
const rules = defaultRules('UTC');
const monthKey = totalKey({ scope: { kind: 'global' }, period: 'month' }, periodKey('month', NOW, 'UTC'));

function input(amountMinor: bigint, over: Partial<PolicyInput> = {}, r: Rules = rules): PolicyInput {
  return {
    charge: { origin: SITE, amountMinor },
    rules: r,
    totals: new Map(),
    recentAutoCount: 0,
    nowMs: NOW,
    ...over,
  };
}

describe('decide: tiers at their boundaries', () => {
  it.each([
    [1n, 'auto'],
    [25n, 'auto'], // exactly the auto limit
    [26n, 'confirm'], // one cent over
    [500n, 'confirm'], // exactly the confirm limit
    [501n, 'strong'],
  ] as const)('%s cents → %s', (amount, tier) => {
    expect(decide(input(amount)).tier).toBe(tier);
  });

  it('refuses non-positive and absurd amounts', () => {
    expect(decide(input(0n)).tier).toBe('deny');
    expect(decide(input(-5n)).tier).toBe('deny');
    expect(decide(input(100_000_001n)).tier).toBe('deny');
  });
});

describe('decide: budgets', () => {
  it('a charge that exactly fills the budget fits; one cent more is an overage naming the budget', () => {
    const totals = new Map([[monthKey, 4990n]]);
    expect(decide(input(10n, { totals }))).toMatchObject({ tier: 'auto' });
    const d = decide(input(11n, { totals }));
    expect(d.tier).toBe('overage');
    expect(d.budgets[0]).toMatchObject({
      budgetId: 'global-month',
      overMinor: 1n,
      beforeMinor: 4990n,
      afterMinor: 5001n,
    });
    expect(d.reasons).toContain('this would exceed "Monthly budget"');
  });

  it('last month’s spending does not count this month', () => {
    const lastMonth = totalKey({ scope: { kind: 'global' }, period: 'month' }, 'month:2026-10');
    expect(decide(input(10n, { totals: new Map([[lastMonth, 5000n]]) })).tier).toBe('auto');
  });

  it('a per-site budget counts only that site, and the stricter budget wins', () => {
    const r: Rules = {
      ...rules,
      budgets: [
        ...rules.budgets,
        {
          id: 'app-day',
          label: 'App per day',
          scope: { kind: 'site', origin: SITE },
          period: 'day',
          limitMinor: 100n,
          milestones: [],
        },
      ],
    };
    const dayKey = totalKey(
      { scope: { kind: 'site', origin: SITE }, period: 'day' },
      periodKey('day', NOW, 'UTC'),
    );
    const totals = new Map([[dayKey, 95n]]);
    const d = decide(input(10n, { totals }, r));
    expect(d.tier).toBe('overage');
    expect(d.budgets.map((b) => [b.budgetId, b.overMinor])).toEqual([
      ['global-month', 0n],
      ['app-day', 5n],
    ]);
    const other = decide({
      ...input(10n, { totals }, r),
      charge: { origin: 'https://other.example', amountMinor: 10n },
    });
    expect(other.tier).toBe('auto');
    expect(other.budgets.map((b) => b.budgetId)).toEqual(['global-month']);
  });
});

describe('decide: site rules and the runaway guard', () => {
  it('blocked sites are refused, ask-sites always confirm, trusted sites have their own auto limit', () => {
    const r = (mode: 'block' | 'ask' | 'trusted', autoLimitMinor?: bigint): Rules => ({
      ...rules,
      sites: [{ origin: SITE, mode, ...(autoLimitMinor !== undefined ? { autoLimitMinor } : {}) }],
    });
    expect(decide(input(1n, {}, r('block'))).tier).toBe('deny');
    expect(decide(input(1n, {}, r('ask'))).tier).toBe('confirm');
    expect(decide(input(200n, {}, r('trusted', 200n))).tier).toBe('auto');
    expect(decide(input(201n, {}, r('trusted', 200n))).tier).toBe('confirm');
    // Trust never lifts the strong tier.
    expect(decide(input(600n, {}, r('trusted', 1000n))).tier).toBe('strong');
  });

  it('drops a site to confirm after too many automatic payments', () => {
    expect(decide(input(1n, { recentAutoCount: 19 })).tier).toBe('auto');
    const d = decide(input(1n, { recentAutoCount: 20 }));
    expect(d.tier).toBe('confirm');
    expect(d.reasons[0]).toMatch(/20 times/);
  });
});

describe('rules on the wire', () => {
  it('round-trips and refuses invalid rules with the reason', () => {
    expect(parseRules(rulesToWire(rules))).toEqual(rules);
    const wire = rulesToWire(rules);
    expect(() => parseRules({ ...wire, autoMaxMinor: '600' })).toThrow(/auto limit/);
    expect(() => parseRules({ ...wire, autoMaxMinor: '-1' })).toThrow(/minor units/);
    expect(() => parseRules({ ...wire, timeZone: 'Mars/Olympus' })).toThrow(/time zone/);
  });
});
