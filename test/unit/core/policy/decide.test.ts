import { describe, expect, it } from 'vitest';
import { decide, type PolicyInput } from '../../../../src/core/policy/decide';
import { periodKey } from '../../../../src/core/policy/periods';
import {
  autoTotalKeys,
  defaultRules,
  parseRules,
  type Rules,
  rulesToWire,
  totalKey,
} from '../../../../src/core/policy/rules';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const SITE = 'app.example';
// A site the user already paid and let pay automatically, with room in its daily limits: the
// tier and budget rules below are about money, not consent (that has its own block at the end).
const rules: Rules = {
  ...defaultRules('UTC'),
  autoDayCapMinor: 100_000n,
  sites: [{ site: SITE, mode: 'trusted', dayLimitMinor: 100_000n }],
};
const KNOWN = { siteKnown: true, payeeKnown: true };
const monthKey = totalKey({ scope: { kind: 'global' }, period: 'month' }, periodKey('month', NOW, 'UTC'));

function input(amountMinor: bigint, over: Partial<PolicyInput> = {}, r: Rules = rules): PolicyInput {
  return {
    charge: { site: SITE, amountMinor },
    rules: r,
    totals: new Map(),
    recentAutoCount: 0,
    consent: KNOWN,
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
          scope: { kind: 'site', site: SITE },
          period: 'day',
          limitMinor: 100n,
          milestones: [],
        },
      ],
    };
    const dayKey = totalKey(
      { scope: { kind: 'site', site: SITE }, period: 'day' },
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
      charge: { site: 'other.example', amountMinor: 10n },
      rules: { ...r, sites: [...r.sites, { site: 'other.example', mode: 'trusted' }] },
    });
    expect(other.tier).toBe('auto');
    expect(other.budgets.map((b) => b.budgetId)).toEqual(['global-month']);
  });
});

describe('decide: site rules and the runaway guard', () => {
  it('blocked sites are refused, ask-sites always confirm, trusted sites have their own auto limit', () => {
    const r = (mode: 'block' | 'ask' | 'trusted', autoLimitMinor?: bigint): Rules => ({
      ...rules,
      sites: [
        {
          site: SITE,
          mode,
          dayLimitMinor: 100_000n,
          ...(autoLimitMinor !== undefined ? { autoLimitMinor } : {}),
        },
      ],
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

describe('decide: consent per site and payee', () => {
  const fresh = { ...rules, sites: [] };
  it('the first payment to a site asks, however small, even for a site trusted in settings', () => {
    const d = decide(input(1n, { consent: { siteKnown: false, payeeKnown: false } }));
    expect(d.tier).toBe('confirm');
    expect(d.reasons).toContain('the first payment to this site');
    expect(decide(input(1n, { consent: { siteKnown: false, payeeKnown: false } }, fresh)).tier).toBe(
      'confirm',
    );
  });

  it('a new payee for a known site asks', () => {
    const d = decide(input(1n, { consent: { siteKnown: true, payeeKnown: false } }));
    expect(d.tier).toBe('confirm');
    expect(d.reasons).toContain('a new payee for this site');
  });

  it('a known site the user did not let pay automatically asks for every charge', () => {
    const d = decide(input(1n, {}, fresh));
    expect(d.tier).toBe('confirm');
    expect(d.reasons).toContain('you have not let this site pay automatically');
  });

  it("a trusted site's own per-charge and per-day limits, and the daily cap across all sites", () => {
    const r: Rules = {
      ...rules,
      autoDayCapMinor: 200n,
      sites: [{ site: SITE, mode: 'trusted', autoLimitMinor: 30n, dayLimitMinor: 50n }],
    };
    const day = periodKey('day', NOW, 'UTC');
    const keys = autoTotalKeys(SITE, day);
    expect(decide(input(30n, {}, r))).toMatchObject({ tier: 'auto', autoKeys: [keys.all, keys.site] });
    expect(decide(input(31n, {}, r)).reasons).toContain('above the automatic-payment limit for this site');
    // 30 already paid automatically to this site today: 21 more would pass its 50.
    const siteDay = new Map([[keys.site, 30n]]);
    expect(decide(input(20n, { totals: siteDay }, r)).tier).toBe('auto');
    expect(decide(input(21n, { totals: siteDay }, r)).reasons).toContain(
      "above this site's automatic payments for today",
    );
    // 190 paid automatically across all sites today: 11 more passes the 200 cap, whatever the site.
    const allDay = new Map([[keys.all, 190n]]);
    expect(decide(input(10n, { totals: allDay }, r)).tier).toBe('auto');
    expect(decide(input(11n, { totals: allDay }, r)).reasons).toContain(
      'above your daily cap on automatic payments',
    );
    expect(decide(input(11n, { totals: allDay }, r)).autoKeys).toBeUndefined();
  });
});

describe('rules on the wire', () => {
  it("reads rules written when sites were origins as those origins' sites", () => {
    const wire = rulesToWire(rules);
    const legacy = {
      ...wire,
      sites: [{ origin: 'https://shop.example.co.uk', mode: 'block' }],
      budgets: [{ ...wire.budgets[0], scope: { kind: 'site', origin: 'https://alice.github.io' } }],
    };
    const parsed = parseRules(legacy);
    expect(parsed.sites).toEqual([{ site: 'example.co.uk', mode: 'block' }]);
    expect(parsed.budgets[0]?.scope).toEqual({ kind: 'site', site: 'alice.github.io' });
    expect(
      parseRules({ ...wire, sites: [{ site: 'https://api.app.example.com/x', mode: 'ask' }] }).sites,
    ).toEqual([{ site: 'example.com', mode: 'ask' }]);
    expect(() => parseRules({ ...wire, sites: [{ site: 'not a site', mode: 'ask' }] })).toThrow(/a site/);
  });

  it('round-trips and refuses invalid rules with the reason', () => {
    expect(parseRules(rulesToWire(rules))).toEqual(rules);
    const wire = rulesToWire(rules);
    expect(() => parseRules({ ...wire, autoMaxMinor: '600' })).toThrow(/auto limit/);
    expect(() => parseRules({ ...wire, autoMaxMinor: '-1' })).toThrow(/minor units/);
    expect(() => parseRules({ ...wire, timeZone: 'Mars/Olympus' })).toThrow(/time zone/);
  });
});
