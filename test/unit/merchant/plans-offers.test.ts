// Plan definitions and their offers in the `paybound` terms: what the kit refuses to offer, each
// challenge's unit, the terms' round trip, periods, and the Paybound-Usage header.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { MSAT_PER_SAT } from '../../../server/merchant/kit/money';
import {
  checkPlans,
  formatUsage,
  type PlanDefinition,
  parseSubscriberAuthorization,
  periodEnd,
  planOffers,
  readSubscriber,
} from '../../../server/merchant/kit/plans';
import { encodePaybound } from '../../../server/merchant/kit/review';

const PRO: PlanDefinition = {
  id: 'quill-pro',
  name: 'Quill Pro',
  interval: 'month',
  includes: { calls: 200 },
  lightning: { price: 20_000, overage: { price: 500, cap: 10_000 } },
  card: { price: 2000, overage: { price: 50, cap: 1000 } },
};
const URL_ = 'https://api.quill.example/plans/subscribe';

const decode = (value: string) => JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;

describe('plan definitions', () => {
  it('are checked as a wallet checks an offer', () => {
    const bad: [Partial<PlanDefinition>, RegExp][] = [
      [{ id: 'Quill Pro' }, /not \[a-z0-9-\]/],
      [{ name: '' }, /1–60/],
      [{ name: 'x'.repeat(61) }, /1–60/],
      [{ intervalCount: 0 }, /1–12/],
      [{ intervalCount: 13 }, /1–12/],
      [{ includes: { calls: 0 } }, /1–1 000 000/],
      [{ includes: { calls: 1_000_001 } }, /1–1 000 000/],
      [{ lightning: { price: 0 } }, /positive/],
      [{ lightning: { price: 1.5 } }, /integer/],
      [{ card: { price: 100, overage: { price: 50, cap: 10 } } }, /cap is below/],
      [{ lightning: undefined, card: undefined }, /no price/],
    ];
    for (const [change, message] of bad) expect(() => checkPlans([{ ...PRO, ...change }])).toThrow(message);
    expect(() => checkPlans([PRO, PRO])).toThrow(/used twice/);
    expect(() => checkPlans(['a', 'b', 'c', 'd', 'e'].map((id) => ({ ...PRO, id })))).toThrow(/at most 4/);
    expect(checkPlans([PRO])[0]).toMatchObject({
      intervalCount: 1,
      calls: 200,
      lightning: { price: 20_000n },
    });
  });
});

describe('offers', () => {
  const plans = checkPlans([PRO]);

  it('are written in each challenge’s unit: msat on L402, sat on MPP Lightning, cents on card', () => {
    const l402 = planOffers(plans, 'msat', 4_010_000n, URL_, 'usd');
    expect(l402[0]).toMatchObject({ price: 20_000_000n, overage: { price: 500_000n, cap: 10_000_000n } });
    const sat = planOffers(plans, 'sat', 4_010n, URL_, 'usd');
    expect(sat[0]).toMatchObject({ price: 20_000n, overage: { price: 500n, cap: 10_000n } });
    const card = planOffers(plans, 'usd', 401n, URL_, 'usd');
    expect(card[0]).toMatchObject({ price: 2000n, overage: { price: 50n, cap: 1000n } });
    // A currency the desk does not take cards in gets no card plan.
    expect(planOffers(plans, 'eur', 401n, URL_, 'usd')).toEqual([]);
    expect(planOffers(plans, 'usd', 401n, URL_, undefined)).toEqual([]);
  });

  it('leave out a plan a wallet would refuse for this charge', () => {
    // 200 calls at 99 sat cost less than the plan's 20 000 sat.
    const flat = checkPlans([{ ...PRO, lightning: { price: 20_000 } }]);
    expect(planOffers(flat, 'sat', 99n, URL_, 'usd')).toEqual([]);
    expect(planOffers(flat, 'sat', 100n, URL_, 'usd')).toHaveLength(1);
    // An overage price above the per-use price.
    const dear = checkPlans([{ ...PRO, includes: { calls: 1000 } }]);
    expect(planOffers(dear, 'sat', 499n, URL_, 'usd')).toEqual([]);
    expect(planOffers(dear, 'msat', 500n * MSAT_PER_SAT, URL_, 'usd')).toHaveLength(1);
  });

  it('round-trip through the paybound param as the contract writes them', () => {
    const [offer] = planOffers(plans, 'sat', 4_010n, URL_, 'usd');
    const encoded = encodePaybound({ plans: [offer!] });
    expect(decode(encoded)).toEqual({
      v: 1,
      plans: [
        {
          id: 'quill-pro',
          name: 'Quill Pro',
          price: '20000',
          interval: 'month',
          intervalCount: 1,
          includes: { calls: 200 },
          overage: { price: '500', cap: '10000' },
          subscribe: URL_,
        },
      ],
    });
    expect(decode(encodePaybound({ overage: { plan: 'quill-pro' } }))).toEqual({
      v: 1,
      overage: { plan: 'quill-pro' },
    });
    // Review terms and plans side by side.
    const both = decode(encodePaybound({ review: { window: 600, refund: URL_ }, plans: [offer!] })) as Record<
      string,
      unknown
    >;
    expect(Object.keys(both).sort()).toEqual(['plans', 'review', 'v']);
  });
});

describe('periods', () => {
  const at = (iso: string) => Date.parse(iso) / 1000;
  it('are calendar months and years in UTC, and fixed days and weeks', () => {
    expect(periodEnd(at('2026-01-15T10:00:00Z'), 'month', 1)).toBe(at('2026-02-15T10:00:00Z'));
    expect(periodEnd(at('2026-01-31T10:00:00Z'), 'month', 1)).toBe(at('2026-02-28T10:00:00Z'));
    expect(periodEnd(at('2028-01-31T00:00:00Z'), 'month', 1)).toBe(at('2028-02-29T00:00:00Z'));
    expect(periodEnd(at('2026-11-30T00:00:00Z'), 'month', 3)).toBe(at('2027-02-28T00:00:00Z'));
    expect(periodEnd(at('2028-02-29T00:00:00Z'), 'year', 1)).toBe(at('2029-02-28T00:00:00Z'));
    expect(periodEnd(at('2026-03-01T00:00:00Z'), 'week', 2)).toBe(at('2026-03-15T00:00:00Z'));
    expect(periodEnd(at('2026-03-01T00:00:00Z'), 'day', 1)).toBe(at('2026-03-02T00:00:00Z'));
  });
});

describe('headers', () => {
  it('Paybound-Usage is the contract’s dictionary', () => {
    expect(
      formatUsage({
        plan: 'quill-pro',
        used: 12,
        included: 200,
        overageCalls: 0,
        overageAmount: 0n,
        periodEnd: 1767225600,
      }),
    ).toBe('plan="quill-pro", used=12, included=200, overage=0, overage-amount=0, period-end=1767225600');
  });

  it('Authorization: Subscriber takes 1–512 characters of [A-Za-z0-9._~-] only', () => {
    expect(parseSubscriberAuthorization('Subscriber abc_-.~9')).toBe('abc_-.~9');
    expect(parseSubscriberAuthorization('subscriber  abc ')).toBe('abc');
    for (const bad of [
      undefined,
      'Subscriber',
      'Subscriber a b',
      'Subscriber a+b',
      `Subscriber ${'a'.repeat(513)}`,
      'Bearer abc',
    ])
      expect(parseSubscriberAuthorization(bad)).toBeUndefined();
  });

  it('the credential is read from Paybound-Subscriber first, and from Authorization: Subscriber', () => {
    const req = (headers: Record<string, string | string[]>) => ({ headers }) as unknown as IncomingMessage;
    expect(readSubscriber(req({ 'paybound-subscriber': 'abc' }))).toEqual({
      credential: 'abc',
      viaAuthorization: false,
    });
    expect(readSubscriber(req({ 'paybound-subscriber': 'abc', authorization: 'L402 m:p' }))).toEqual({
      credential: 'abc',
      viaAuthorization: false,
    });
    expect(readSubscriber(req({ authorization: 'Subscriber abc' }))).toEqual({
      credential: 'abc',
      viaAuthorization: true,
    });
    expect(readSubscriber(req({ authorization: 'Subscriber a+b' }))).toEqual({ viaAuthorization: true });
    expect(readSubscriber(req({ 'paybound-subscriber': 'a b' }))).toEqual({ viaAuthorization: false });
    expect(readSubscriber(req({ authorization: 'L402 m:p' }))).toEqual({ viaAuthorization: false });
    expect(readSubscriber(req({}))).toEqual({ viaAuthorization: false });
  });
});
