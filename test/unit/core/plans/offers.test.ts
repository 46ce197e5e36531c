import { base64urlnopad } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { PlanOfferError, type PlanUnit, readPlanOffers } from '../../../../src/core/challenge/plans';
import { ReviewTermsError, readReviewTerms } from '../../../../src/core/challenge/review';

const enc = (v: unknown) => base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(v)));
const REQUEST = 'https://api.quill.example/v1/draft';
const PAGE = 'https://quill.example';
const SAT: PlanUnit = { unit: 'sat' };
const USD: PlanUnit = { unit: 'minor', currency: 'usd' };

/** The example of docs/plans.md §1. */
const proPlan = () => ({
  id: 'quill-pro',
  name: 'Quill Pro',
  price: '2000',
  interval: 'month',
  intervalCount: 1,
  includes: { calls: 200 },
  overage: { price: '8', cap: '1000' },
  subscribe: 'https://api.quill.example/plans/subscribe',
});

const read = (plans: unknown, charged = 10n, unit: PlanUnit = SAT, page = PAGE) =>
  readPlanOffers({ v: 1, plans }, charged, unit, REQUEST, page, unit.unit === 'minor' ? 'card' : 'lightning');

const withPlan = (patch: Record<string, unknown>) => ({ ...proPlan(), ...patch });
const without = (key: string) => {
  const p: Record<string, unknown> = proPlan();
  delete p[key];
  return p;
};

describe('readPlanOffers: the example', () => {
  it('reads the plan of the contract, amounts as bigints in the challenge unit', () => {
    expect(read([proPlan()])).toEqual([
      {
        id: 'quill-pro',
        name: 'Quill Pro',
        nameAltered: false,
        rail: 'lightning',
        unit: SAT,
        price: 2000n,
        interval: 'month',
        intervalCount: 1,
        includes: { calls: 200 },
        overage: { price: 8n, cap: 1000n },
        subscribeUrl: 'https://api.quill.example/plans/subscribe',
        perUse: 10n,
      },
    ]);
  });

  it('reads it from the paybound param as sent, too', () => {
    const [offer] = readPlanOffers(enc({ v: 1, plans: [proPlan()] }), 10n, SAT, REQUEST, PAGE, 'lightning');
    expect(offer?.price).toBe(2000n);
  });

  it('a card plan keeps its currency; intervalCount defaults to 1; a credit plan', () => {
    const { overage: _o, intervalCount: _c, ...rest } = proPlan();
    const credit = { ...rest, id: 'credit', includes: { credit: '2500' } };
    const [offer] = read([credit], 10n, USD);
    expect(offer).toMatchObject({ rail: 'card', unit: USD, intervalCount: 1, includes: { credit: 2500n } });
    expect(offer?.overage).toBeUndefined();
  });

  it('no plans: an empty list', () => {
    expect(readPlanOffers({ v: 1 }, 10n, SAT, REQUEST, PAGE, 'lightning')).toEqual([]);
  });

  it('accepts the limits themselves', () => {
    const four = ['a', 'b', 'c', 'd'].map((id) => withPlan({ id }));
    expect(read(four)).toHaveLength(4);
    // Exactly what paying per use would cost: allowed (no worse).
    expect(read([withPlan({ price: '2000' })], 10n)).toHaveLength(1);
    expect(read([withPlan({ overage: { price: '10', cap: '10' } })], 10n)).toHaveLength(1);
    expect(read([withPlan({ includes: { credit: '2000' } })], 10n)).toHaveLength(1);
    expect(read([withPlan({ intervalCount: 12, interval: 'year' })], 10n)).toHaveLength(1);
    expect(read([withPlan({ includes: { calls: 1_000_000 } })], 10n)).toHaveLength(1);
    expect(read([withPlan({ name: 'x'.repeat(60) })])).toHaveLength(1);
  });

  it('http on loopback is allowed, as for the review URL', () => {
    const r = readPlanOffers(
      { v: 1, plans: [withPlan({ subscribe: 'http://127.0.0.1:8402/plans' })] },
      10n,
      SAT,
      'http://127.0.0.1:8402/api',
      'http://127.0.0.1:8402',
      'lightning',
    );
    expect(r[0]?.subscribeUrl).toBe('http://127.0.0.1:8402/plans');
  });

  it('cleans the name for display and says so', () => {
    const [offer] = read([withPlan({ name: 'Quill\u202E Pro' })]);
    expect(offer?.name).toBe('Quill Pro');
    expect(offer?.nameAltered).toBe(true);
  });

  it('a rail and unit that do not go together is the caller’s error, not the app’s', () => {
    expect(() => readPlanOffers({ v: 1, plans: [] }, 10n, USD, REQUEST, PAGE, 'lightning')).toThrow(Error);
    expect(() => readPlanOffers({ v: 1, plans: [] }, 10n, USD, REQUEST, PAGE, 'lightning')).not.toThrow(
      PlanOfferError,
    );
  });
});

describe('readPlanOffers refuses hostile offers with a reason', () => {
  it.each<[string, unknown, RegExp]>([
    ['plans not a list', { id: 'x' }, /must be a list/],
    ['five plans', ['a', 'b', 'c', 'd', 'e'].map((id) => withPlan({ id })), /more than 4/],
    ['a plan that is not an object', ['quill-pro'], /object/],
    ['an upper-case id', [withPlan({ id: 'Quill' })], /plan id/],
    ['an id of 41 characters', [withPlan({ id: 'a'.repeat(41) })], /plan id/],
    ['an id with a slash', [withPlan({ id: '../x' })], /plan id/],
    ['two plans with one id', [proPlan(), proPlan()], /same id/],
    ['no name', [without('name')], /no name/],
    ['an empty name', [withPlan({ name: '' })], /name must be 1 to 60/],
    ['a name of invisible characters', [withPlan({ name: '\u200B\u200B' })], /name must be 1 to 60/],
    ['a name of 61 characters', [withPlan({ name: 'x'.repeat(61) })], /name must be 1 to 60/],
    ['a zero price', [withPlan({ price: '0' })], /price must be a whole number above zero/],
    ['a price as a JSON number', [withPlan({ price: 2000 })], /price must be/],
    ['a fractional price', [withPlan({ price: '19.99' })], /price must be/],
    ['a negative price', [withPlan({ price: '-1' })], /price must be/],
    ['a price of 19 digits', [withPlan({ price: '1'.repeat(19) })], /price must be/],
    ['an hourly interval', [withPlan({ interval: 'hour' })], /day, week, month or year/],
    ['no interval', [without('interval')], /day, week, month or year/],
    [
      'an interval count of 0',
      [withPlan({ intervalCount: 0 })],
      /intervalCount must be a whole number from 1 to 12/,
    ],
    ['an interval count of 13', [withPlan({ intervalCount: 13 })], /intervalCount/],
    ['a fractional interval count', [withPlan({ intervalCount: 1.5 })], /intervalCount/],
    ['an interval count as a string', [withPlan({ intervalCount: '1' })], /intervalCount/],
    ['nothing included', [without('includes')], /what it includes/],
    [
      'both calls and credit',
      [withPlan({ includes: { calls: 10, credit: '100' } })],
      /either calls or a credit/,
    ],
    ['neither calls nor credit', [withPlan({ includes: {} })], /either calls or a credit/],
    ['zero calls', [withPlan({ includes: { calls: 0 } })], /included calls must be/],
    ['too many calls', [withPlan({ includes: { calls: 1_000_001 } })], /included calls must be/],
    ['calls as a string', [withPlan({ includes: { calls: '200' } })], /included calls must be/],
    // 200 calls at 10 per use cost 2000: a price of 2001 is a worse deal than paying per use.
    ['included calls dearer than per use', [withPlan({ price: '2001' })], /more than paying 10 per call/],
    [
      'a credit plan dearer than its credit',
      [withPlan({ includes: { credit: '1999' } })],
      /credit of only 1999/,
    ],
    ['a zero credit', [withPlan({ includes: { credit: '0' } })], /credit must be/],
    [
      'overage dearer than per use',
      [withPlan({ overage: { price: '11', cap: '1000' } })],
      /costs more than paying per use/,
    ],
    ['overage without a cap', [withPlan({ overage: { price: '8' } })], /without a cap/],
    ['overage without a price', [withPlan({ overage: { cap: '1000' } })], /price per call/],
    ['an overage cap of 0', [withPlan({ overage: { price: '8', cap: '0' } })], /overage cap must be/],
    ['overage that is not an object', [withPlan({ overage: '8' })], /overage must be an object/],
    ['no subscribe URL', [without('subscribe')], /no subscribe URL/],
    [
      'a subscribe URL on another site',
      [withPlan({ subscribe: 'https://evil.example/s' })],
      /another site than the charge/,
    ],
    [
      'a subscribe URL on another origin of the site',
      [withPlan({ subscribe: 'https://pay.quill.example/s' })],
      /another site than the charge/,
    ],
    ['a subscribe URL over http', [withPlan({ subscribe: 'http://api.quill.example/s' })], /must use https/],
    [
      'a subscribe URL with a password',
      [withPlan({ subscribe: 'https://u:p@api.quill.example/s' })],
      /user name or password/,
    ],
    ['a javascript: subscribe URL', [withPlan({ subscribe: 'javascript:alert(1)' })], /must use https/],
    ['a subscribe URL that is not one', [withPlan({ subscribe: 'not a url' })], /not a URL/],
    [
      'a very long subscribe URL',
      [withPlan({ subscribe: `https://api.quill.example/${'a'.repeat(2048)}` })],
      /too long/,
    ],
  ])('%s', (_what, plans, reason) => {
    expect(() => read(plans)).toThrow(PlanOfferError);
    expect(() => read(plans)).toThrow(reason);
  });

  it('names the plan in the reason', () => {
    expect(() => read([withPlan({ id: 'cheap', price: '99999' })])).toThrow(/plan "cheap"/);
  });

  it('a subscribe URL the page could not call: another site’s page offering that API’s plans', () => {
    expect(() => read([proPlan()], 10n, SAT, 'https://evil.example')).toThrow(/page that paid/);
  });

  it.each([
    ['garbage', '%%%', /base64url JSON/],
    ['a list', enc([1]), /JSON object/],
    ['another version', enc({ v: 2, plans: [] }), /unknown version/],
  ])('refuses a param that is %s', (_what, raw, reason) => {
    expect(() => readPlanOffers(raw, 10n, SAT, REQUEST, PAGE, 'lightning')).toThrow(reason);
  });
});

/** A small deterministic generator: every run draws the same cases. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('readPlanOffers on random plans', () => {
  // The first value of each pool is valid with the others' first values.
  const pools: Record<string, unknown[]> = {
    id: ['quill-pro', 'a', 'A', '', 'x'.repeat(40), 'x'.repeat(41), 7, null],
    name: ['Pro', '', 'x'.repeat(60), 'x'.repeat(61), '\u202E', 3, undefined],
    price: ['1', '2000', '2001', '0', '-5', '1e3', '99999999999999999999', 2000, undefined],
    interval: ['day', 'week', 'month', 'year', 'hour', '', 'Month', undefined],
    intervalCount: [undefined, 0, 1, 12, 13, -1, 2.5, '2', null],
    includes: [
      { calls: 200 },
      { calls: 1 },
      { calls: 0 },
      { calls: 2_000_000 },
      { credit: '2000' },
      { credit: '10' },
      { credit: 2000 },
      { calls: 1, credit: '1' },
      {},
      [],
      undefined,
    ],
    overage: [
      undefined,
      { price: '8', cap: '1000' },
      { price: '10', cap: '1' },
      { price: '11', cap: '1000' },
      { price: '8' },
      { cap: '8' },
      { price: '0', cap: '5' },
      null,
    ],
    subscribe: [
      'https://api.quill.example/plans/subscribe',
      'https://evil.example/s',
      'http://api.quill.example/s',
      'https://api.quill.example:444/s',
      'data:text/plain,x',
      undefined,
    ],
  };

  it('either refuses with PlanOfferError or returns plans that keep every rule', () => {
    const rnd = lcg(20261201);
    // Mostly the first (valid) value of each pool, so that some plans pass and each rule is reached.
    const pick = <T>(xs: T[]): T => (rnd() < 0.75 ? xs[0] : xs[Math.floor(rnd() * xs.length)]) as T;
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const plan: Record<string, unknown> = {};
      for (const [k, pool] of Object.entries(pools)) {
        const v = pick(pool);
        if (v !== undefined) plan[k] = v;
      }
      const charged = BigInt(pick([10, 1, 9, 11, 1000]));
      let offers: ReturnType<typeof read>;
      try {
        offers = read([plan], charged);
      } catch (e) {
        expect(e).toBeInstanceOf(PlanOfferError);
        refused++;
        continue;
      }
      accepted++;
      for (const o of offers) {
        expect(o.price > 0n).toBe(true);
        expect(o.intervalCount >= 1 && o.intervalCount <= 12).toBe(true);
        if ('calls' in o.includes) expect(o.price <= BigInt(o.includes.calls) * charged).toBe(true);
        else expect(o.price <= o.includes.credit).toBe(true);
        if (o.overage) {
          expect(o.overage.price <= charged).toBe(true);
          expect(o.overage.cap > 0n).toBe(true);
        }
        expect(new URL(o.subscribeUrl).origin).toBe(new URL(REQUEST).origin);
      }
    }
    // Both sides of the rules were exercised.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(accepted);
  });
});

describe('readReviewTerms with plans', () => {
  const lightning = { rail: 'lightning' as const, unit: SAT };

  it('returns the plans beside the estimate', () => {
    const raw = enc({ v: 1, estimate: { min: '5', max: '10' }, plans: [proPlan()] });
    const t = readReviewTerms(raw, 10n, REQUEST, PAGE, lightning);
    expect(t?.estimate).toEqual({ min: 5n, max: 10n });
    expect(t?.plans?.map((p) => p.id)).toEqual(['quill-pro']);
    expect(t?.plansRefused).toBeUndefined();
  });

  it('a bad plan drops the plans with the reason; the charge is still quoted', () => {
    const raw = enc({ v: 1, estimate: { min: '5', max: '10' }, plans: [withPlan({ price: '2001' })] });
    const t = readReviewTerms(raw, 10n, REQUEST, PAGE, lightning);
    expect(t?.estimate).toEqual({ min: 5n, max: 10n });
    expect(t?.plans).toBeUndefined();
    expect(t?.plansRefused).toMatch(/plan "quill-pro": it costs 2001 for 200 calls/);
  });

  it('more than four plans: refused, the terms kept', () => {
    const raw = enc({ v: 1, plans: ['a', 'b', 'c', 'd', 'e'].map((id) => withPlan({ id })) });
    expect(readReviewTerms(raw, 10n, REQUEST, PAGE, lightning)).toEqual({
      plansRefused: "the app's plans are unusable: more than 4 plans",
    });
  });

  it('without a plan context the plans are not read', () => {
    const raw = enc({ v: 1, plans: [withPlan({ price: '2001' })] });
    expect(readReviewTerms(raw, 10n, REQUEST, PAGE)).toEqual({});
  });

  it('bad estimate terms still make the terms unusable, plans or not', () => {
    const raw = enc({ v: 1, estimate: { min: '5', max: '9' }, plans: [proPlan()] });
    expect(() => readReviewTerms(raw, 10n, REQUEST, PAGE, lightning)).toThrow(ReviewTermsError);
  });

  it('reads the overage marker, and drops one that names no plan', () => {
    expect(readReviewTerms(enc({ v: 1, overage: { plan: 'quill-pro' } }), 8n, REQUEST)?.overage).toEqual({
      plan: 'quill-pro',
    });
    const bad = readReviewTerms(enc({ v: 1, overage: { plan: 'Quill Pro!' } }), 8n, REQUEST);
    expect(bad?.overage).toBeUndefined();
    expect(bad?.overageRefused).toMatch(/plan id/);
    expect(readReviewTerms(enc({ v: 1, overage: 'quill-pro' }), 8n, REQUEST)?.overage).toBeUndefined();
  });
});
