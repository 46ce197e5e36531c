import { describe, expect, it } from 'vitest';
import { nextPeriodStart, periodBounds, periodKey } from '../../../../src/core/policy/periods';

const at = (isoUtc: string) => Date.parse(isoUtc);

describe('periods', () => {
  it('months roll over at local midnight, not UTC midnight', () => {
    // 23:30 on 31 Oct in New York is already 1 Nov in UTC.
    expect(periodKey('month', at('2026-11-01T03:30:00Z'), 'America/New_York')).toBe('month:2026-10');
    expect(periodKey('month', at('2026-11-01T04:30:00Z'), 'America/New_York')).toBe('month:2026-11');
    expect(periodKey('month', at('2026-10-31T23:30:00Z'), 'Asia/Tokyo')).toBe('month:2026-11');
    expect(periodKey('month', at('2026-12-31T23:59:59Z'), 'UTC')).toBe('month:2026-12');
    expect(periodKey('month', at('2027-01-01T00:00:00Z'), 'UTC')).toBe('month:2027-01');
  });

  it('the day of a DST change is one period, whatever its length', () => {
    // Europe/Paris falls back on 25 Oct 2026: that local day lasts 25 hours.
    const start = at('2026-10-24T22:00:00Z'); // 00:00 local, +02:00
    const end = at('2026-10-25T22:59:00Z'); // 23:59 local, +01:00
    expect(periodKey('day', start, 'Europe/Paris')).toBe('day:2026-10-25');
    expect(periodKey('day', end, 'Europe/Paris')).toBe('day:2026-10-25');
    expect(periodKey('day', end + 60_000, 'Europe/Paris')).toBe('day:2026-10-26');
    // Spring forward, 29 Mar 2026: a 23-hour day.
    expect(periodKey('day', at('2026-03-28T23:00:00Z'), 'Europe/Paris')).toBe('day:2026-03-29');
    expect(periodKey('day', at('2026-03-29T21:59:00Z'), 'Europe/Paris')).toBe('day:2026-03-29');
    expect(periodKey('day', at('2026-03-29T22:00:00Z'), 'Europe/Paris')).toBe('day:2026-03-30');
  });

  it('weeks start on Monday, across month and year ends', () => {
    expect(periodKey('week', at('2026-11-25T12:00:00Z'), 'UTC')).toBe('week:2026-11-23');
    expect(periodKey('week', at('2026-11-29T23:59:00Z'), 'UTC')).toBe('week:2026-11-23');
    expect(periodKey('week', at('2026-11-30T00:00:00Z'), 'UTC')).toBe('week:2026-11-30');
    expect(periodKey('week', at('2027-01-01T12:00:00Z'), 'UTC')).toBe('week:2026-12-28');
  });

  it('a time zone change moves the boundary with the user', () => {
    const t = at('2026-11-30T23:30:00Z');
    expect(periodKey('month', t, 'UTC')).toBe('month:2026-11');
    expect(periodKey('month', t, 'Europe/Berlin')).toBe('month:2026-12');
  });

  it('says when the next period starts', () => {
    expect(nextPeriodStart('month', at('2026-12-15T00:00:00Z'), 'UTC')).toBe('2027-01-01');
    expect(nextPeriodStart('week', at('2026-11-25T00:00:00Z'), 'UTC')).toBe('2026-11-30');
    expect(nextPeriodStart('day', at('2026-02-28T10:00:00Z'), 'UTC')).toBe('2026-03-01');
  });

  it('bounds a period as instants: local midnight to local midnight, DST hours included', () => {
    const bounds = (period: 'day' | 'week' | 'month', t: string, zone: string) => {
      const b = periodBounds(period, at(t), zone);
      return [new Date(b.startMs).toISOString(), (b.endMs - b.startMs) / 3_600_000];
    };
    expect(bounds('month', '2026-10-15T12:00:00Z', 'Europe/Berlin')).toEqual([
      '2026-09-30T22:00:00.000Z',
      745,
    ]);
    expect(bounds('month', '2026-03-15T12:00:00Z', 'Europe/Berlin')).toEqual([
      '2026-02-28T23:00:00.000Z',
      743,
    ]);
    expect(bounds('month', '2026-03-15T12:00:00Z', 'America/New_York')).toEqual([
      '2026-03-01T05:00:00.000Z',
      743,
    ]);
    expect(bounds('month', '2026-02-10T12:00:00Z', 'UTC')).toEqual(['2026-02-01T00:00:00.000Z', 672]);
    expect(bounds('day', '2026-11-01T12:00:00Z', 'America/New_York')).toEqual([
      '2026-11-01T04:00:00.000Z',
      25,
    ]);
    expect(bounds('day', '2026-03-29T12:00:00Z', 'Europe/Berlin')).toEqual(['2026-03-28T23:00:00.000Z', 23]);
    // The week of 26 Oct 2026 starts on Monday after Berlin fell back: 168 hours.
    expect(bounds('week', '2026-10-28T12:00:00Z', 'Europe/Berlin')).toEqual([
      '2026-10-25T23:00:00.000Z',
      168,
    ]);
    // The week that contains the change: 169.
    expect(bounds('week', '2026-10-22T12:00:00Z', 'Europe/Berlin')).toEqual([
      '2026-10-18T22:00:00.000Z',
      169,
    ]);
    // 23:30 on 31 Oct in New York is October, whatever UTC says.
    expect(bounds('month', '2026-11-01T03:30:00Z', 'America/New_York')).toEqual([
      '2026-10-01T04:00:00.000Z',
      744,
    ]);
    expect(bounds('month', '2026-12-31T23:30:00Z', 'Asia/Tokyo')).toEqual(['2026-12-31T15:00:00.000Z', 744]);
  });

  it('a period always contains the instant it was asked for, and the next starts where it ends', () => {
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago']) {
      for (
        let t = at('2026-01-01T00:00:00Z');
        t < at('2027-01-01T00:00:00Z');
        t += 29 * 3_600_000 + 13 * 60_000
      ) {
        for (const period of ['day', 'week', 'month'] as const) {
          const b = periodBounds(period, t, zone);
          expect(b.startMs <= t && t < b.endMs).toBe(true);
          expect(periodKey(period, b.startMs, zone)).toBe(periodKey(period, t, zone));
          expect(periodKey(period, b.startMs - 1, zone)).not.toBe(periodKey(period, t, zone));
          expect(periodKey(period, b.endMs, zone)).not.toBe(periodKey(period, t, zone));
        }
      }
    }
  });
});
