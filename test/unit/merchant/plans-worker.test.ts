// The extension's worker (PaymentService and SubscriptionService) against the demo's Quill Pro
// over real HTTP, with the Lightning stand-in: the offer on a draft's 402, subscribing instead of
// paying per use, drafts served by the plan, the app's word on usage, an overage call paid within
// the standing approval, a renewal once the test clock passes the period, and cancelling.
import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import { startLightningStandin } from '../../../server/standins/lightning/index';
import type { ApprovalService } from '../../../src/background/services/approvals';
import { PaymentService } from '../../../src/background/services/payments';
import type { LightningRail } from '../../../src/background/services/rails/types';
import type { RateService } from '../../../src/background/services/rates';
import { SubscriptionService } from '../../../src/background/services/subscriptions';
import { type RuleApi, TokenService } from '../../../src/background/services/tokens';
import { defaultRules, type Rules } from '../../../src/core/policy/rules';
import { PayboundDb, type RailRecord } from '../../../src/db/schema';
import { payInvoice, type Standin, type WalletKeys } from './helpers';
import { jsonOf, usageOf } from './plans-helpers';

const RAIL: RailRecord = {
  id: 'lnbits-standin',
  kind: 'lnbits',
  label: 'stand-in',
  network: 'regtest',
  config: { url: 'http://wallet.invalid', adminKey: 'x'.repeat(16) },
  createdAt: 0,
};
// Every charge asks unless a standing approval covers it.
const askingRules: Rules = { ...defaultRules('UTC'), autoMaxMinor: 0n };

let lightning: Standin;
let user: WalletKeys;
let app: DemoApp;
let offsetMs = 0;

beforeAll(async () => {
  // Invoices carry the moved clock too: the worker checks their expiry against its own.
  lightning = await startLightningStandin({ port: 0, host: '127.0.0.1', now: () => Date.now() + offsetMs });
  user = lightning.wallets.user!;
  app = await startDemoApp({
    port: 0,
    lnbitsUrl: lightning.url,
    invoiceKey: lightning.wallets.app!.invoiceKey,
    testRoutes: true,
  });
});

afterAll(async () => {
  await app?.close();
  await lightning?.close();
});

/** Moves the demo's plan clock, the worker's and the Lightning stand-in's together. */
async function advance(seconds: number): Promise<void> {
  const res = await fetch(`${app.url}/__test/plans/advance?seconds=${seconds}`, { method: 'POST' });
  expect(res.status).toBe(200);
  offsetMs += seconds * 1000;
}

function worker() {
  const db = new PayboundDb(`plans-${Math.random()}`);
  const rail: LightningRail = {
    id: RAIL.id,
    network: 'regtest',
    sendPayment: async (invoice: string) => ({ preimage: await payInvoice(lightning.url, user, invoice) }),
    lookup: async () => ({ status: 'not_found' }),
    balance: async () => 0n,
    makeInvoice: async () => {
      throw new Error('unused');
    },
    received: async () => false,
  };
  const sessionRules: RuleApi = {
    updateSessionRules: vi.fn(async () => {}),
    getSessionRules: vi.fn(async () => []),
  };
  const asked: string[] = [];
  const approvals = {
    request: vi.fn(async (p: { id: string }) => {
      asked.push(p.id);
      await db.payments.update(p.id, { approval: 'approved' });
      return 'approved';
    }),
    withdraw: vi.fn(async () => {}),
  } as unknown as ApprovalService;
  const now = () => Date.now() + offsetMs;
  const rates = {
    current: async () => ({
      rate: { currency: 'USD', minorPerBtc: 10_000_000n, source: 'test', asOf: now() - 5000 },
      ageMs: 5000,
      stale: false,
    }),
  } as unknown as RateService;
  let payments: PaymentService;
  const subscriptions = new SubscriptionService({
    db,
    rules: sessionRules,
    now,
    pay: ({ request, plan, standing }) =>
      payments.onChallenge({ ...request, plan, ...(standing ? { standing } : {}) }),
  });
  payments = new PaymentService({
    db,
    rates,
    approvals,
    tokens: new TokenService(db, sessionRules),
    subscriptions,
    defaultRail: async () => RAIL,
    railFor: async () => rail,
    openRail: async (r) => r,
    rules: async () => askingRules,
    now,
  });
  return { db, approvals, asked, payments, subscriptions };
}

let w: ReturnType<typeof worker>;
beforeEach(async () => {
  w = worker();
  await w.db.rails.put(RAIL);
});
afterEach(async () => {
  await w.db.delete();
});

function draft(headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${app.url}/drafts/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ prompt: 'a short note' }),
  });
}

/** What the worker sees of a page's 402 (its headers), and its verdict. */
/** `carried`: the request carried the subscriber credential (the page keeps it once handed it). */
async function present(res: Response, carried?: true) {
  expect(res.status).toBe(402);
  await res.arrayBuffer();
  return w.payments.onChallenge({
    url: `${app.url}/drafts/generate`,
    method: 'POST',
    headers: [...res.headers],
    origin: app.url,
    tabId: 3,
    via: 'fetch',
    carried,
  });
}

/** The quote window shows Quill Pro beside the draft's price, and the person takes the plan. */
async function subscribe(): Promise<string> {
  vi.mocked(w.approvals.request).mockImplementationOnce(async (p: { id: string }) => {
    const row = await w.db.payments.get(p.id);
    expect(row?.plans?.map((o) => o.id)).toEqual(['quill-pro']);
    await w.payments.subscribeInstead(p.id, 'quill-pro');
    await w.db.payments.update(p.id, { approval: 'denied' });
    return 'denied';
  });
  const verdict = await present(await draft());
  expect(verdict).toMatchObject({ action: 'retry', credential: { header: 'Paybound-Subscriber' } });
  return (verdict as { credential: { value: string } }).credential.value;
}

describe('the worker and Quill Pro', () => {
  it('subscribes instead of paying per use, and the draft is then the plan’s', async () => {
    const subscriber = await subscribe();
    const [sub] = await w.db.subscriptions.toArray();
    expect(sub).toMatchObject({
      planId: 'quill-pro',
      rail: 'lightning',
      state: 'active',
      credential: subscriber,
    });
    const served = await draft({ 'paybound-subscriber': subscriber });
    expect(served.status).toBe(200);
    expect(usageOf(served)).toMatchObject({ plan: 'quill-pro', used: 1, included: 200 });
    const fresh = await w.subscriptions.refresh(sub!.id);
    expect(fresh?.usage).toMatchObject({ used: 1, included: 200, overageCalls: 0, overageAmount: 0n });
    expect(fresh?.periodEnd).toBe(sub!.periodEnd);
  });

  it('pays an overage call within the standing approval without a window, beside the subscriber header', async () => {
    const subscriber = await subscribe();
    w.asked.length = 0;
    for (let i = 0; i < 200; i++) {
      const res = await draft({ 'paybound-subscriber': subscriber });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const verdict = await present(await draft({ 'paybound-subscriber': subscriber }), true);
    expect(verdict).toMatchObject({ action: 'retry', credential: { header: 'Authorization' } });
    expect(w.asked).toEqual([]);
    const { value } = (verdict as { credential: { value: string } }).credential;
    const paid = await draft({ 'paybound-subscriber': subscriber, authorization: value });
    expect(paid.status).toBe(200);
    expect(await jsonOf(paid)).toMatchObject({ plan: { overage: { amount: '500', unit: 'sat' } } });
    expect(usageOf(paid)).toMatchObject({ used: 200, overage: 1, 'overage-amount': 500 });
  });

  it('renews once the period is over, keeping the subscriber, and cancels at period end', async () => {
    const subscriber = await subscribe();
    const [sub] = await w.db.subscriptions.toArray();
    await advance(Math.ceil((sub!.periodEnd - Date.now() - offsetMs) / 1000) + 60);
    const verdict = await present(await draft({ 'paybound-subscriber': subscriber }), true);
    expect(verdict).toMatchObject({
      action: 'retry',
      credential: { header: 'Paybound-Subscriber', value: subscriber },
    });
    const renewed = await w.db.subscriptions.get(sub!.id);
    expect(renewed!.periodEnd).toBeGreaterThan(sub!.periodEnd);
    const served = await draft({ 'paybound-subscriber': subscriber });
    expect(served.status).toBe(200);
    expect(usageOf(served)).toMatchObject({ used: 1, 'period-end': renewed!.periodEnd / 1000 });

    await w.subscriptions.cancel(sub!.id);
    expect((await w.db.subscriptions.get(sub!.id))?.state).toBe('canceling');
    const state = await fetch(`${app.url}/plans/subscribe`, {
      headers: { 'paybound-subscriber': subscriber },
    });
    expect(await jsonOf(state)).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
  });
});
