/** The history's charts count exactly: charges that cost money, less refunds, per local day and per site. */
import { describe, expect, test } from 'vitest';
import type { PaymentView } from '../../../src/messages/map';
import {
  axisTicks,
  labelledDays,
  spendPerDay,
  spendPerSite,
  spentMinor,
} from '../../../src/ui/options/spend';

const NOW = new Date(2026, 11, 1, 15, 0); // 1 Dec 2026, 15:00 local

function payment(over: Partial<PaymentView>): PaymentView {
  return {
    id: Math.random().toString(36).slice(2),
    railId: 'lnbits',
    origin: 'https://app.example',
    url: 'https://app.example/api',
    via: 'fetch',
    state: 'paid',
    approval: 'auto',
    kind: 'lightning',
    amountMsat: '1000',
    amountMinor: '100',
    currency: 'USD',
    paymentHash: 'ab',
    createdAt: NOW.getTime(),
    provisional: false,
    ...over,
  };
}

describe('spentMinor', () => {
  test('counts paid, accepted and proof_failed charges, less what came back', () => {
    expect(spentMinor(payment({ state: 'paid' }), 'USD')).toBe(100n);
    expect(spentMinor(payment({ state: 'accepted', refundedMinor: '30' }), 'USD')).toBe(70n);
    expect(spentMinor(payment({ state: 'proof_failed' }), 'USD')).toBe(100n);
    expect(spentMinor(payment({ state: 'accepted', refundedMinor: '150' }), 'USD')).toBe(0n);
  });
  test('leaves out what cost nothing, has no amount, or is in another currency', () => {
    for (const state of ['reserved', 'failed', 'rejected', 'refunded', 'unknown']) {
      expect(spentMinor(payment({ state }), 'USD'), state).toBeUndefined();
    }
    expect(spentMinor(payment({ amountMinor: undefined }), 'USD')).toBeUndefined();
    expect(spentMinor(payment({ currency: 'EUR' }), 'USD')).toBeUndefined();
  });
  test('stays exact past what a Number holds', () => {
    const big = '90071992547409931';
    expect(spentMinor(payment({ amountMinor: big, refundedMinor: '1' }), 'USD')).toBe(90071992547409930n);
  });
});

describe('spendPerDay', () => {
  test('30 local days, today last, days without spend as 0', () => {
    const day = (back: number, hour = 10) =>
      new Date(NOW.getFullYear(), NOW.getMonth(), NOW.getDate() - back, hour).getTime();
    const days = spendPerDay(
      [
        payment({ createdAt: day(0), amountMinor: '514' }),
        payment({ createdAt: day(0, 0), amountMinor: '1' }),
        payment({ createdAt: day(29, 23), amountMinor: '7' }),
        payment({ createdAt: day(30), amountMinor: '1000' }), // a day too old
        payment({ createdAt: day(3), state: 'failed' }),
      ],
      'USD',
      NOW,
    );
    expect(days).toHaveLength(30);
    expect(days.at(-1)?.date).toEqual(new Date(2026, 11, 1));
    expect(days[0]?.date).toEqual(new Date(2026, 10, 2));
    expect(days.at(-1)?.minor).toBe(515n);
    expect(days[0]?.minor).toBe(7n);
    expect(days.slice(1, -1).every((d) => d.minor === 0n)).toBe(true);
  });
});

describe('spendPerSite', () => {
  test('largest first, sites that cost nothing left out', () => {
    const rows = spendPerSite(
      [
        payment({ origin: 'https://a.example', amountMinor: '5' }),
        payment({ origin: 'https://b.example', amountMinor: '50' }),
        payment({ origin: 'https://a.example', amountMinor: '6' }),
        payment({ origin: 'https://c.example', state: 'failed' }),
      ],
      'USD',
    );
    expect(rows).toEqual({
      rows: [
        { origin: 'https://b.example', minor: 50n },
        { origin: 'https://a.example', minor: 11n },
      ],
    });
  });
  test('at most 8 rows: the sites past those are counted and added up', () => {
    const payments = Array.from({ length: 11 }, (_, i) =>
      payment({ origin: `https://s${i}.example`, amountMinor: String(100 - i) }),
    );
    const { rows, rest } = spendPerSite(payments, 'USD');
    expect(rows).toHaveLength(8);
    expect(rows[0]).toEqual({ origin: 'https://s0.example', minor: 100n });
    expect(rows[7]).toEqual({ origin: 'https://s7.example', minor: 93n });
    expect(rest).toEqual({ sites: 3, minor: 92n + 91n + 90n });
  });
});

describe('axisTicks', () => {
  test('from 0 past the largest value, in round steps', () => {
    expect(axisTicks(514)).toEqual([0, 200, 400, 600]);
    expect(axisTicks(100)).toEqual([0, 50, 100]);
    expect(axisTicks(0)).toEqual([0, 50, 100]);
    expect(axisTicks(3)).toEqual([0, 1, 2, 3]);
    expect(axisTicks(1)).toEqual([0, 1]);
    for (const max of [1, 7, 99, 1234, 98765]) {
      const ticks = axisTicks(max);
      expect(ticks.at(-1)).toBeGreaterThanOrEqual(max);
      expect(ticks.length).toBeLessThanOrEqual(5);
      expect(ticks.every(Number.isInteger)).toBe(true);
    }
  });
});

test('every 5th day is labelled, counted back from today', () => {
  expect(labelledDays(30)).toEqual([4, 9, 14, 19, 24, 29]);
});
