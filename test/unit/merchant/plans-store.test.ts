// The subscription store's contract, on both engines: in memory, and SQL (PGlite in `unit`, the
// run's PostgreSQL in `unit-pg`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../server/lib/sql';
import {
  memorySubscriptionStore,
  type SubscriptionRecord,
  type SubscriptionStore,
  sqlSubscriptionStore,
} from '../../../server/merchant/kit/plan-store';
import { testDatabase } from '../harness/database';

let db: Database;

beforeAll(async () => {
  db = await testDatabase();
});

afterAll(async () => {
  await db?.close();
});

let n = 0;
function record(overrides: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  n += 1;
  return {
    id: `psub_${n}`,
    credentialHash: `hash-${n}`,
    plan: 'pro',
    rail: 'lightning',
    status: 'active',
    periodStart: 1_000,
    periodEnd: 2_000,
    cancelAtPeriodEnd: false,
    used: 0,
    overageCalls: 0,
    overageAmount: 0n,
    createdAt: 1_000,
    ...overrides,
  };
}

const engines: [string, () => Promise<SubscriptionStore>][] = [
  ['memory', async () => memorySubscriptionStore()],
  ['sql', () => sqlSubscriptionStore(db)],
];

describe.each(engines)('the %s store', (_name, open) => {
  let store: SubscriptionStore;
  beforeAll(async () => {
    store = await open();
  });

  it('adds a subscription once per id, credential and card subscription, and finds it by credential', async () => {
    const r = record({ rail: 'card', cardSubscription: `sub_${n + 1}` });
    expect(await store.add(r)).toBe(true);
    expect(await store.get(r.id)).toEqual(r);
    expect(await store.byCredential(r.credentialHash)).toEqual(r);
    expect(await store.add({ ...r, id: 'psub_other' })).toBe(false);
    expect(await store.add({ ...record(), credentialHash: r.credentialHash })).toBe(false);
    expect(await store.add({ ...record(), cardSubscription: r.cardSubscription })).toBe(false);
    expect(await store.byCredential('nobody')).toBeUndefined();
  });

  it('draws included calls up to what the plan includes, also when asked at once, in the current period only', async () => {
    const r = record();
    await store.add(r);
    const draws = await Promise.all(
      Array.from({ length: 6 }, () => store.drawIncluded(r.id, r.periodStart, 4)),
    );
    expect(draws.filter(Boolean)).toHaveLength(4);
    expect((await store.get(r.id))?.used).toBe(4);
    expect(await store.drawIncluded(r.id, r.periodStart + 1, 10)).toBeUndefined();
    await store.giveBack(r.id, r.periodStart);
    expect((await store.get(r.id))?.used).toBe(3);
    await store.giveBack(r.id, r.periodStart + 1);
    expect((await store.get(r.id))?.used).toBe(3);
  });

  it('counts overage, and starts a new period from zero only from the period it was asked from', async () => {
    const r = record();
    await store.add(r);
    await store.drawIncluded(r.id, r.periodStart, 5);
    expect(await store.addOverage(r.id, 400n)).toMatchObject({ overageCalls: 1, overageAmount: 400n });
    expect(await store.addOverage(r.id, 400n)).toMatchObject({ overageCalls: 2, overageAmount: 800n });
    const update = {
      periodStart: 2_000,
      periodEnd: 3_000,
      status: 'active' as const,
      cancelAtPeriodEnd: false,
    };
    expect(await store.setPeriod(r.id, 1_500, update)).toBeUndefined();
    expect(await store.setPeriod(r.id, 1_000, update)).toMatchObject({
      periodStart: 2_000,
      periodEnd: 3_000,
      used: 0,
      overageCalls: 0,
      overageAmount: 0n,
    });
    // A second renewal from the old period changes nothing.
    expect(
      await store.setPeriod(r.id, 1_000, { ...update, periodStart: 3_000, periodEnd: 4_000 }),
    ).toBeUndefined();
    // The same period with a new status keeps the counters.
    await store.drawIncluded(r.id, 2_000, 5);
    expect(await store.setPeriod(r.id, 2_000, { ...update, status: 'canceled' })).toMatchObject({
      status: 'canceled',
      used: 1,
    });
    expect(await store.setCancelAtPeriodEnd(r.id)).toMatchObject({ cancelAtPeriodEnd: true });
  });

  it('consumes a challenge once, and gives an overage invoice’s subscription once', async () => {
    const key = `subscribe:${n}-${Math.random()}`;
    const consumed = await Promise.all([
      store.consume(key, 4_000_000_000),
      store.consume(key, 4_000_000_000),
    ]);
    expect(consumed.sort()).toEqual([false, true]);
    const hash = `${n}`.padStart(64, 'a');
    await store.issueOverage(hash, 'psub_x', 4_000_000_000);
    expect(await store.overageOwner(hash)).toBe('psub_x');
    const taken = await Promise.all([store.takeOverage(hash), store.takeOverage(hash)]);
    expect(taken.filter(Boolean)).toEqual(['psub_x']);
    expect(await store.overageOwner(hash)).toBe('psub_x');
    expect(await store.takeOverage('b'.repeat(64))).toBeUndefined();
  });
});
