import { base64urlnopad } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { readMppSubscription } from '../../../../src/core/challenge/mpp';
import { readPlanOffers } from '../../../../src/core/challenge/plans';
import { parseWwwAuthenticate } from '../../../../src/core/challenge/www-authenticate';
import {
  agreedFromOffer,
  type Mandate,
  mandateActive,
  mandateFromOffer,
  mandatePeriod,
  matchesMandate,
  nextRenewal,
  overageWithin,
  periodBoundary,
  renewalWithin,
} from '../../../../src/core/plans/mandate';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const enc = (o: unknown) => base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(o)));
const at = (iso: string) => Date.parse(iso);

const subscription = (request: Record<string, unknown>, method = 'lightning') => {
  const [c] = parseWwwAuthenticate(
    `Payment id="s", realm="quill", method="${method}", intent="subscription", request="${enc(request)}"`,
  );
  return readMppSubscription(c!, NOW);
};

const lightningMandate: Mandate = {
  site: 'quill.example',
  planId: 'quill-pro',
  planName: 'Quill Pro',
  rail: 'lightning',
  unit: { unit: 'sat' },
  amountPerPeriod: 2000n,
  interval: 'month',
  intervalCount: 1,
  overagePrice: 8n,
  overageCap: 1000n,
  createdAt: at('2026-11-15T09:30:00Z'),
};

describe('a mandate from an offer', () => {
  it('records what the person agreed to', () => {
    const [offer] = readPlanOffers(
      {
        v: 1,
        plans: [
          {
            id: 'quill-pro',
            name: 'Quill Pro',
            price: '2000',
            interval: 'month',
            includes: { calls: 200 },
            overage: { price: '8', cap: '1000' },
            subscribe: 'https://api.quill.example/plans/subscribe',
          },
        ],
      },
      10n,
      { unit: 'sat' },
      'https://api.quill.example/v1',
      'https://quill.example',
      'lightning',
    );
    expect(mandateFromOffer(offer!, 'quill.example', lightningMandate.createdAt)).toEqual(lightningMandate);
    expect(agreedFromOffer(offer!)).toEqual({
      unit: { unit: 'sat' },
      amountPerPeriod: 2000n,
      interval: 'month',
      intervalCount: 1,
    });
  });
});

describe('matchesMandate and renewalWithin', () => {
  const monthly = { amount: '2000', currency: 'sat', interval: 'month' };

  it('the agreed amount and period: ok; a lower amount too', () => {
    expect(matchesMandate(subscription(monthly), lightningMandate)).toEqual({ ok: true });
    expect(matchesMandate(subscription({ ...monthly, amount: '1500' }), lightningMandate)).toEqual({
      ok: true,
    });
    expect(renewalWithin(lightningMandate, subscription(monthly))).toEqual({ ok: true });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'one sat more per period',
      { ...monthly, amount: '2001' },
      /asks 2001 sat a period, more than the 2000 sat agreed/,
    ],
    [
      'another interval',
      { ...monthly, interval: 'week' },
      /every 1 week, the plan agreed renews every 1 month/,
    ],
    ['another interval count', { ...monthly, intervalCount: 2 }, /every 2 month/],
    ['another currency', { ...monthly, currency: 'usd' }, /in USD, the plan agreed was in sat/],
  ])('%s: a reason', (_what, request, reason) => {
    const r = matchesMandate(subscription(request), lightningMandate);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('a plan offered in msat compares with a renewal in sats', () => {
    const msat: Mandate = { ...lightningMandate, unit: { unit: 'msat' }, amountPerPeriod: 2_000_000n };
    expect(matchesMandate(subscription(monthly), msat)).toEqual({ ok: true });
    expect(matchesMandate(subscription({ ...monthly, amount: '2001' }), msat).ok).toBe(false);
    // 1 999 999 msat agreed: 2000 sats is one msat more.
    expect(matchesMandate(subscription(monthly), { ...msat, amountPerPeriod: 1_999_999n }).ok).toBe(false);
  });

  it('a card mandate compares currency without case', () => {
    const card: Mandate = {
      ...lightningMandate,
      rail: 'card',
      unit: { unit: 'minor', currency: 'usd' },
      amountPerPeriod: 1900n,
    };
    const usd = { amount: '1900', currency: 'USD', interval: 'month' };
    expect(renewalWithin(card, subscription(usd, 'card'))).toEqual({ ok: true });
    expect(renewalWithin(card, subscription({ ...usd, currency: 'eur' }, 'card')).ok).toBe(false);
    expect(renewalWithin(card, subscription({ ...usd, currency: 'sat' }, 'card')).ok).toBe(false);
  });

  it('a renewal on another rail, or of a cancelled mandate, asks', () => {
    const byCard = renewalWithin(lightningMandate, subscription(monthly, 'card'));
    expect(byCard).toEqual({
      ok: false,
      reason: expect.stringMatching(/paid by card, the plan agreed was paid by lightning/),
    });
    const other = renewalWithin(lightningMandate, subscription(monthly, 'tempo'));
    expect(other.ok).toBe(false);
    const cancelled = { ...lightningMandate, cancelAt: at('2026-12-15T09:30:00Z') };
    expect(renewalWithin(cancelled, subscription(monthly))).toEqual({
      ok: false,
      reason: 'the plan Quill Pro was cancelled',
    });
  });
});

describe('overageWithin', () => {
  it('pays within the agreed price and cap, up to the cap exactly', () => {
    expect(overageWithin(lightningMandate, 0n, 8n)).toEqual({ ok: true });
    expect(overageWithin(lightningMandate, 992n, 8n)).toEqual({ ok: true });
    expect(overageWithin(lightningMandate, 993n, 8n)).toEqual({
      ok: false,
      reason: "this period's overage would pass the 1000 sat agreed",
    });
  });

  it('asks for a charge above the agreed overage price', () => {
    const r = overageWithin(lightningMandate, 0n, 9n);
    expect(r).toEqual({ ok: false, reason: 'the overage charge is above the 8 sat a call agreed' });
  });

  it('compares across msat and sats', () => {
    expect(overageWithin(lightningMandate, 0n, 8000n, { unit: { unit: 'msat' } })).toEqual({ ok: true });
    expect(overageWithin(lightningMandate, 0n, 8001n, { unit: { unit: 'msat' } }).ok).toBe(false);
    expect(overageWithin(lightningMandate, 992_001n, 8000n, { unit: { unit: 'msat' } }).ok).toBe(false);
  });

  it('asks without agreed overage, after the mandate ended, in another currency, or for nothing', () => {
    const { overagePrice: _p, overageCap: _c, ...noOverage } = lightningMandate;
    expect(overageWithin(noOverage, 0n, 1n)).toEqual({
      ok: false,
      reason: 'the plan Quill Pro agreed to no overage',
    });
    const ended = { ...lightningMandate, cancelAt: at('2026-12-15T09:30:00Z') };
    expect(overageWithin(ended, 0n, 8n, { nowMs: at('2026-12-15T09:29:59Z') })).toEqual({ ok: true });
    expect(overageWithin(ended, 0n, 8n, { nowMs: at('2026-12-15T09:30:00Z') }).ok).toBe(false);
    expect(overageWithin(lightningMandate, 0n, 8n, { unit: { unit: 'minor', currency: 'usd' } }).ok).toBe(
      false,
    );
    expect(overageWithin(lightningMandate, 0n, 0n).ok).toBe(false);
    expect(overageWithin(lightningMandate, -5n, 8n).ok).toBe(false);
  });

  it('mandateActive: until cancelAt', () => {
    expect(mandateActive(lightningMandate, NOW)).toBe(true);
    const c = { ...lightningMandate, cancelAt: NOW };
    expect(mandateActive(c, NOW - 1)).toBe(true);
    expect(mandateActive(c, NOW)).toBe(false);
  });
});

describe('mandate periods, from the start', () => {
  it('monthly periods keep the day and time of the start', () => {
    expect(mandatePeriod(lightningMandate, at('2026-12-01T12:00:00Z'))).toEqual({
      startMs: at('2026-11-15T09:30:00Z'),
      endMs: at('2026-12-15T09:30:00Z'),
    });
    expect(nextRenewal(lightningMandate, at('2026-12-15T09:30:00Z'))).toBe(at('2027-01-15T09:30:00Z'));
    // The boundary belongs to the next period.
    expect(mandatePeriod(lightningMandate, at('2026-12-15T09:30:00Z')).startMs).toBe(
      at('2026-12-15T09:30:00Z'),
    );
    expect(mandatePeriod(lightningMandate, at('2026-12-15T09:29:59.999Z')).startMs).toBe(
      at('2026-11-15T09:30:00Z'),
    );
  });

  it('a start on the 31st renews on the last day of shorter months, then on the 31st again', () => {
    const m = { ...lightningMandate, createdAt: at('2027-01-31T08:00:00Z') };
    const b = (n: number) => new Date(periodBoundary(m.createdAt, 'month', 1, n)).toISOString();
    expect([1, 2, 3, 4].map(b)).toEqual([
      '2027-02-28T08:00:00.000Z',
      '2027-03-31T08:00:00.000Z',
      '2027-04-30T08:00:00.000Z',
      '2027-05-31T08:00:00.000Z',
    ]);
    // 2028 is a leap year.
    expect(b(13)).toBe('2028-02-29T08:00:00.000Z');
    expect(nextRenewal(m, at('2027-02-28T08:00:00Z'))).toBe(at('2027-03-31T08:00:00Z'));
    expect(mandatePeriod(m, at('2027-03-01T00:00:00Z'))).toEqual({
      startMs: at('2027-02-28T08:00:00Z'),
      endMs: at('2027-03-31T08:00:00Z'),
    });
  });

  it('quarterly, weekly, daily and yearly periods; across years', () => {
    const q = { ...lightningMandate, intervalCount: 3 };
    expect(nextRenewal(q, q.createdAt)).toBe(at('2027-02-15T09:30:00Z'));
    const w = { ...lightningMandate, interval: 'week' as const, intervalCount: 2 };
    expect(nextRenewal(w, w.createdAt)).toBe(at('2026-11-29T09:30:00Z'));
    const d = { ...lightningMandate, interval: 'day' as const };
    expect(mandatePeriod(d, at('2027-03-01T09:29:00Z')).startMs).toBe(at('2027-02-28T09:30:00Z'));
    const y = { ...lightningMandate, interval: 'year' as const, createdAt: at('2028-02-29T00:00:00Z') };
    expect(nextRenewal(y, y.createdAt)).toBe(at('2029-02-28T00:00:00Z'));
    expect(mandatePeriod(y, at('2035-06-01T00:00:00Z')).startMs).toBe(at('2035-02-28T00:00:00Z'));
  });

  it('before its start, the first period', () => {
    expect(mandatePeriod(lightningMandate, at('2026-01-01T00:00:00Z')).startMs).toBe(
      lightningMandate.createdAt,
    );
  });

  it('many periods later, still exact', () => {
    const m = { ...lightningMandate, createdAt: at('2026-01-31T23:59:59Z') };
    for (let n = 0; n < 120; n++) {
      const start = periodBoundary(m.createdAt, 'month', 1, n);
      expect(mandatePeriod(m, start)).toEqual({
        startMs: start,
        endMs: periodBoundary(m.createdAt, 'month', 1, n + 1),
      });
      if (n > 0) expect(mandatePeriod(m, start - 1).endMs).toBe(start);
    }
  });
});
