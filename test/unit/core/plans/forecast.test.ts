import { describe, expect, it } from 'vitest';
import { type BudgetForecast, forecastBudget, forecastCrossed } from '../../../../src/core/plans/forecast';
import { periodBounds } from '../../../../src/core/policy/periods';

const at = (iso: string) => Date.parse(iso);
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const month = (limitMinor: bigint) => ({ period: 'month' as const, limitMinor });

describe('forecastBudget', () => {
  it('runs out before the month ends at this pace (Europe/Berlin, November)', () => {
    // 1 Nov 00:00 CET is 31 Oct 23:00 UTC; half way through (15 of 30 days), 30.00 of 50.00 spent.
    const f = forecastBudget({
      budget: month(5000n),
      spentMinor: 3000n,
      nowMs: at('2026-11-15T23:00:00Z'),
      timeZone: 'Europe/Berlin',
    });
    expect(f).toEqual({
      kind: 'runsOut',
      periodStartMs: at('2026-10-31T23:00:00Z'),
      periodEndMs: at('2026-11-30T23:00:00Z'),
      // 5000 / 3000 × 15 days = 25 days in: 26 Nov 00:00 in Berlin.
      atMs: at('2026-11-25T23:00:00Z'),
      projectedMinor: 6000n,
    });
  });

  it('lasts the month when the pace stays under the limit', () => {
    const f = forecastBudget({
      budget: month(5000n),
      spentMinor: 2000n,
      nowMs: at('2026-11-15T23:00:00Z'),
      timeZone: 'Europe/Berlin',
    });
    expect(f).toMatchObject({ kind: 'lasts', projectedMinor: 4000n });
  });

  it('a projection that reaches the limit exactly at the end lasts', () => {
    const f = forecastBudget({
      budget: month(5000n),
      spentMinor: 2500n,
      nowMs: at('2026-11-15T23:00:00Z'),
      timeZone: 'Europe/Berlin',
    });
    expect(f).toMatchObject({ kind: 'lasts', projectedMinor: 5000n });
  });

  it('October in Berlin has 745 hours (DST ends on the 25th): the pace counts them', () => {
    const { startMs, endMs } = periodBounds('month', at('2026-10-10T00:00:00Z'), 'Europe/Berlin');
    expect([iso(startMs), iso(endMs), (endMs - startMs) / H]).toEqual([
      '2026-09-30T22:00:00.000Z',
      '2026-10-31T23:00:00.000Z',
      745,
    ]);
    // 372.5 h in (half the month), 25.00 of 40.00 spent: the limit is reached 1.6 × 372.5 h = 596 h
    // in, 24 days and 20 hours after 30 Sep 22:00 UTC.
    const f = forecastBudget({
      budget: month(4000n),
      spentMinor: 2500n,
      nowMs: startMs + 372.5 * H,
      timeZone: 'Europe/Berlin',
    });
    expect(f.kind).toBe('runsOut');
    if (f.kind === 'runsOut') {
      expect(iso(f.atMs)).toBe('2026-10-25T18:00:00.000Z');
      expect(f.projectedMinor).toBe(5000n);
    }
  });

  it('March in New York has 743 hours (DST starts on the 8th)', () => {
    const nowMs = at('2026-03-20T12:00:00Z');
    const f = forecastBudget({ budget: month(100n), spentMinor: 1n, nowMs, timeZone: 'America/New_York' });
    expect([iso(f.periodStartMs), iso(f.periodEndMs)]).toEqual([
      '2026-03-01T05:00:00.000Z',
      '2026-04-01T04:00:00.000Z',
    ]);
    // 463 h of 743 elapsed, 0.72 spent: ⌈72 × 743 / 463⌉ = 116 > 100, reached ⌈100 × 463 h / 72⌉ in.
    const g = forecastBudget({ budget: month(100n), spentMinor: 72n, nowMs, timeZone: 'America/New_York' });
    expect(g).toMatchObject({ kind: 'runsOut', projectedMinor: 116n });
    if (g.kind === 'runsOut') expect(g.atMs).toBe(f.periodStartMs + Math.ceil((100 * 463 * H) / 72));
  });

  it('a day budget on the 25-hour day New York falls back', () => {
    const nowMs = at('2026-11-01T16:00:00Z'); // 11:00 EST, 12 h into the local day
    const f = forecastBudget({
      budget: { period: 'day', limitMinor: 200n },
      spentMinor: 100n,
      nowMs,
      timeZone: 'America/New_York',
    });
    expect((f.periodEndMs - f.periodStartMs) / H).toBe(25);
    // 12 h for 1.00: 2.00 is reached 24 h in, an hour before the day ends.
    expect(f).toMatchObject({ kind: 'runsOut', atMs: f.periodStartMs + 24 * H, projectedMinor: 209n });
  });

  it('month boundaries are local midnight: one minute either side of 1 Dec in Berlin', () => {
    const before = forecastBudget({
      budget: month(5000n),
      spentMinor: 100n,
      nowMs: at('2026-11-30T22:59:00Z'),
      timeZone: 'Europe/Berlin',
    });
    expect(before).toMatchObject({ kind: 'lasts', periodStartMs: at('2026-10-31T23:00:00Z') });
    const after = forecastBudget({
      budget: month(5000n),
      spentMinor: 100n,
      nowMs: at('2026-11-30T23:01:00Z'),
      timeZone: 'Europe/Berlin',
    });
    // A minute into December: too early for a pace.
    expect(after).toMatchObject({ kind: 'tooEarly', periodStartMs: at('2026-11-30T23:00:00Z') });
  });

  it('too early in the period by default, unless asked; exhausted once spent', () => {
    const input = {
      budget: month(5000n),
      spentMinor: 100n,
      nowMs: at('2026-11-02T23:00:00Z'), // two days of thirty: under a tenth
      timeZone: 'Europe/Berlin',
    };
    expect(forecastBudget(input).kind).toBe('tooEarly');
    expect(forecastBudget({ ...input, minElapsedMs: 0 })).toMatchObject({
      kind: 'lasts',
      projectedMinor: 1500n,
    });
    expect(forecastBudget({ ...input, spentMinor: 5000n }).kind).toBe('exhausted');
    expect(forecastBudget({ ...input, spentMinor: 0n, minElapsedMs: 0 })).toMatchObject({
      kind: 'lasts',
      projectedMinor: 0n,
    });
  });

  it('from a seeded ledger with a fixed clock: the spent total is the budget’s period', () => {
    const timeZone = 'America/New_York';
    const nowMs = at('2026-11-20T17:00:00Z');
    const { startMs } = periodBounds('month', nowMs, timeZone);
    let s = 7;
    const next = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const ledger = Array.from({ length: 300 }, () => ({
      createdAt: nowMs - Math.floor(next() * 40 * 24 * H),
      amountMinor: BigInt(1 + Math.floor(next() * 30)),
    }));
    const spent = ledger.filter((e) => e.createdAt >= startMs).reduce((a, e) => a + e.amountMinor, 0n);
    const elapsed = BigInt(nowMs - startMs);
    // 19.5 days of November's 30 (and its extra DST hour): the pace ends near 1.54 × the spend.
    const limit = (spent * 5n) / 4n;
    const f = forecastBudget({ budget: month(limit), spentMinor: spent, nowMs, timeZone });
    expect(f.kind).toBe('runsOut');
    if (f.kind === 'runsOut') {
      expect(BigInt(f.atMs - startMs)).toBe((limit * elapsed + spent - 1n) / spent);
      expect(f.atMs).toBeLessThan(f.periodEndMs);
      expect(f.atMs).toBeGreaterThan(nowMs);
    }
  });
});

describe('forecastCrossed: told once a period, when the run-out date moves inside it', () => {
  const period = { periodStartMs: 0, periodEndMs: 100 };
  const lasts: BudgetForecast = { ...period, kind: 'lasts', projectedMinor: 10n };
  const runsOut: BudgetForecast = { ...period, kind: 'runsOut', atMs: 90, projectedMinor: 20n };
  const exhausted: BudgetForecast = { ...period, kind: 'exhausted' };
  const early: BudgetForecast = { ...period, kind: 'tooEarly' };
  const nextPeriod: BudgetForecast = {
    periodStartMs: 100,
    periodEndMs: 200,
    kind: 'runsOut',
    atMs: 150,
    projectedMinor: 20n,
  };

  it.each<[string, BudgetForecast | undefined, BudgetForecast, boolean]>([
    ['from lasting to running out', lasts, runsOut, true],
    ['from too early to running out', early, runsOut, true],
    ['with no forecast before', undefined, runsOut, true],
    ['running out again', runsOut, { ...runsOut, atMs: 80 }, false],
    ['after it ran out', exhausted, runsOut, false],
    ['running out in a new period', runsOut, nextPeriod, true],
    ['back to lasting', runsOut, lasts, false],
    ['to exhausted (the milestone says it)', lasts, exhausted, false],
  ])('%s: %s', (_what, prev, next, told) => {
    expect(forecastCrossed(prev, next)).toBe(told);
  });
});
