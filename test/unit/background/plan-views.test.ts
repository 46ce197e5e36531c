import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { planHints, planViews, siteHistory } from '../../../src/background/services/plan-views';
import type { PlanOffer } from '../../../src/core/challenge/plans';
import { PayboundDb, type PaymentRecord } from '../../../src/db/schema';

const NOW = Date.UTC(2026, 11, 1, 12);
const DAY = 86_400_000;

const quillPro: PlanOffer = {
  id: 'quill-pro',
  name: 'Quill Pro',
  nameAltered: false,
  rail: 'card',
  unit: { unit: 'minor', currency: 'usd' },
  price: 2000n,
  interval: 'month',
  intervalCount: 1,
  includes: { calls: 200 },
  overage: { price: 8n, cap: 1000n },
  subscribeUrl: 'https://quill.example/plans/subscribe',
  perUse: 20n,
};

let db: PayboundDb;
afterEach(async () => {
  await db?.delete();
});

/** 137 paid drafts over the last 30 days: 27.40 in all (some at 0.20, some at 0.19 or 0.21). */
async function seed(): Promise<void> {
  const rows = Array.from({ length: 137 }, (_, i) => ({
    id: `p-${i}`,
    key: `k-${i}`,
    site: 'quill.example',
    state: 'paid',
    amountMinor: i < 10 ? 19n : i < 20 ? 21n : 20n,
    createdAt: NOW - Math.floor((i * 29 * DAY) / 137) - 1,
  }));
  // A charge of another site, one older than 30 days, one denied and one of the plan itself count nothing.
  rows.push({
    id: 'other',
    key: 'o',
    site: 'other.example',
    state: 'paid',
    amountMinor: 500n,
    createdAt: NOW - DAY,
  });
  rows.push({
    id: 'old',
    key: 'old',
    site: 'quill.example',
    state: 'paid',
    amountMinor: 500n,
    createdAt: NOW - 31 * DAY,
  });
  rows.push({
    id: 'no',
    key: 'no',
    site: 'quill.example',
    state: 'failed',
    amountMinor: 500n,
    createdAt: NOW - DAY,
  });
  await db.payments.bulkAdd(rows as unknown as PaymentRecord[]);
  await db.payments.add({
    id: 'plan',
    key: 'plan',
    site: 'quill.example',
    state: 'paid',
    amountMinor: 2000n,
    createdAt: NOW - DAY,
    plan: {
      kind: 'subscribe',
      planId: 'quill-pro',
      planName: 'Quill Pro',
      interval: 'month',
      intervalCount: 1,
    },
  } as unknown as PaymentRecord);
}

describe('the quote window’s plan comparison', () => {
  it('compares a plan with this site’s own last 30 days, exactly', async () => {
    db = new PayboundDb(`v-${Math.random()}`);
    await seed();
    const history = await siteHistory(db, 'quill.example', NOW);
    expect(history).toHaveLength(137);
    const quote = { plans: [quillPro], amountMinor: 20n } as unknown as PaymentRecord;
    const [view] = planViews(quote, history, 'USD', NOW) ?? [];
    expect(view).toMatchObject({
      id: 'quill-pro',
      priceMinor: '2000',
      includes: { calls: 200 },
      overage: { priceMinor: '8', capMinor: '1000' },
      comparison: { days: 30, spentMinor: '2740', calls: 137, planCostMinor: '2000', savingMinor: '740' },
    });
  });

  it('says when the plan would have cost more, and what lies beyond its included calls', async () => {
    db = new PayboundDb(`v-${Math.random()}`);
    await seed();
    const history = await siteHistory(db, 'quill.example', NOW);
    const small = { ...quillPro, includes: { calls: 100 }, price: 1500n };
    const quote = { plans: [small], amountMinor: 20n } as unknown as PaymentRecord;
    const [view] = planViews(quote, history, 'USD', NOW) ?? [];
    // 100 included, 37 more at 0.08 = 2.96: 17.96 against 27.40 paid.
    expect(view?.comparison).toMatchObject({ planCostMinor: '1796', savingMinor: '944' });
    const dear = { ...quillPro, price: 3000n };
    const [worse] = planViews({ plans: [dear] } as unknown as PaymentRecord, history, 'USD', NOW) ?? [];
    expect(worse?.comparison.savingMinor).toBe('-260');
  });

  it('leaves out a Lightning plan it cannot price without a rate', () => {
    const ln = { ...quillPro, rail: 'lightning' as const, unit: { unit: 'sat' as const }, price: 20_000n };
    expect(planViews({ plans: [ln] } as unknown as PaymentRecord, [], 'USD', NOW)).toEqual([]);
  });
});

describe('a plan would have been cheaper here', () => {
  it('names the site and the plan its last 30 days per use cost more than, until subscribed', async () => {
    db = new PayboundDb(`v-${Math.random()}`);
    await seed();
    await db.payments.update('p-0', { plans: [quillPro] });
    expect(await planHints(db, 'USD', NOW)).toEqual([
      {
        site: 'quill.example',
        planId: 'quill-pro',
        planName: 'Quill Pro',
        currency: 'USD',
        spentMinor: '2740',
        calls: 137,
        planCostMinor: '2000',
        savingMinor: '740',
      },
    ]);
    await db.subscriptions.add({
      id: 's',
      site: 'quill.example',
      planId: 'quill-pro',
      state: 'active',
    } as never);
    expect(await planHints(db, 'USD', NOW)).toEqual([]);
  });
});
