import { describe, expect, it } from 'vitest';
import { nextPeriodStart, periodKey } from '../../../../src/core/policy/periods';

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
});
