import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LightningNode } from '../../../server/standins/lightning/node';
import type { ApprovalService } from '../../../src/background/services/approvals';
import { PaymentService } from '../../../src/background/services/payments';
import type { LightningRail } from '../../../src/background/services/rails/types';
import type { RateService } from '../../../src/background/services/rates';
import { SubscriptionService } from '../../../src/background/services/subscriptions';
import { type RuleApi, SUBSCRIBER_RULE_BASE, TokenService } from '../../../src/background/services/tokens';
import { periodKey } from '../../../src/core/policy/periods';
import { defaultRules, type Rules, totalKey } from '../../../src/core/policy/rules';
import { PayboundDb, type RailRecord } from '../../../src/db/schema';

const RAIL: RailRecord = {
  id: 'lnbits-test',
  kind: 'lnbits',
  label: 'test',
  network: 'regtest',
  config: { url: 'http://wallet.invalid', adminKey: 'x'.repeat(16) },
  createdAt: 0,
};
const API = 'https://app.example/api/generate';
const SUBSCRIBE = 'https://app.example/plans/subscribe';
const DAY = 86_400_000;

// Every charge asks unless a standing approval covers it: that is what these tests are about.
const askingRules: Rules = { ...defaultRules('UTC'), autoMaxMinor: 0n };
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const expires = () => new Date(Date.now() + 600_000).toISOString().replace(/\.\d+Z$/, 'Z');

const PLAN = {
  id: 'quill-pro',
  name: 'Quill Pro',
  price: '2000',
  interval: 'month',
  intervalCount: 1,
  includes: { calls: 200 },
  overage: { price: '8', cap: '40' },
  subscribe: SUBSCRIBE,
};

function setup() {
  // A month behind the wall clock: the app's invoices carry real time, as the wallet's checks do,
  // so a test moves a month on and lands at the present.
  let now = Date.now() - 31 * DAY;
  const db = new PayboundDb(`s-${Math.random()}`);
  const node = new LightningNode();
  const user = node.createWallet({ name: 'user', balanceMsat: 100_000_000n });
  const app = node.createWallet({ name: 'app' });
  const rail: LightningRail = {
    id: RAIL.id,
    network: 'regtest',
    sendPayment: async (invoice: string) => ({
      preimage: (await node.payInvoice(user.id, invoice)).preimage ?? '',
    }),
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
  const rates = {
    current: async () => ({
      rate: { currency: 'USD', minorPerBtc: 10_000_000n, source: 'test', asOf: now - 5000 },
      ageMs: 5000,
      stale: false,
    }),
  } as unknown as RateService;

  /** The app's side of docs/plans.md §2: a subscription price, a paid credential, the subscriber. */
  const shop = {
    price: '2000',
    interval: 'month',
    issued: new Map<string, string>(),
    subscribers: new Map<string, { periodEnd: number; canceled: boolean }>(),
    requests: [] as { method: string; body?: string; headers: Record<string, string> }[],
    /** How long a period the app gives. */
    periodMs: 30 * DAY,
    /** Bytes of padding in the app's answer to a paid subscription. */
    padding: 0,
  };
  const fetchFake = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    const headers = Object.fromEntries(
      Object.entries((init?.headers as Record<string, string>) ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    );
    shop.requests.push({ method: init?.method ?? 'GET', body: init?.body as string, headers });
    expect(String(input)).toBe(SUBSCRIBE);
    expect(init?.credentials).toBe('omit');
    const subscriber = headers['paybound-subscriber'];
    if (init?.method === 'GET' || init?.method === 'DELETE') {
      const s = subscriber ? shop.subscribers.get(subscriber) : undefined;
      if (!s) return new Response('{}', { status: 401 });
      if (init.method === 'DELETE') s.canceled = true;
      return Response.json({
        plan: PLAN.id,
        status: 'active',
        periodStart: Math.floor((s.periodEnd - 30 * DAY) / 1000),
        periodEnd: Math.floor(s.periodEnd / 1000),
        cancelAtPeriodEnd: s.canceled,
        used: 12,
        included: 200,
        overageCalls: 0,
        overageAmount: 0,
      });
    }
    const auth = headers.authorization;
    if (!auth) {
      const inv = node.createInvoice(app.id, { amountMsat: BigInt(shop.price) * 1000n, memo: 'Quill Pro' });
      const id = `sub-${shop.issued.size + 1}`;
      shop.issued.set(id, inv.paymentHash);
      const request = b64url({
        amount: shop.price,
        currency: 'sat',
        interval: shop.interval,
        methodDetails: { invoice: inv.bolt11 },
      });
      return new Response('{}', {
        status: 402,
        headers: {
          'www-authenticate': `Payment id="${id}", realm="app", method="lightning", intent="subscription", expires="${expires()}", request="${request}"`,
        },
      });
    }
    const credential = JSON.parse(Buffer.from(auth.replace(/^Payment /, ''), 'base64url').toString()) as {
      challenge: { id: string };
      payload: { preimage: string };
    };
    const hash = createHash('sha256').update(Buffer.from(credential.payload.preimage, 'hex')).digest('hex');
    if (shop.issued.get(credential.challenge.id) !== hash) return new Response('{}', { status: 402 });
    const name = JSON.parse(String(init?.body)) as { subscriber?: string };
    const id = name.subscriber ?? `subscriber-${shop.subscribers.size + 1}-0123456789`;
    const periodEnd = now + shop.periodMs;
    shop.subscribers.set(id, { periodEnd, canceled: false });
    return Response.json({
      ...(shop.padding ? { padding: 'x'.repeat(shop.padding) } : {}),
      subscriber: id,
      plan: PLAN.id,
      periodStart: Math.floor(now / 1000),
      periodEnd: Math.floor(periodEnd / 1000),
    });
  });

  let payments: PaymentService;
  const subscriptions = new SubscriptionService({
    db,
    rules: sessionRules,
    fetch: fetchFake as unknown as typeof fetch,
    now: () => now,
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
    now: () => now,
  });

  /** A per-use MPP Lightning charge of 21 sats, with the plan offered beside it. */
  const perUse = (terms: Record<string, unknown> = { v: 1, plans: [PLAN] }) => {
    const inv = node.createInvoice(app.id, { amountMsat: 21_000n, memo: 'a draft' });
    const request = b64url({ amount: '21', currency: 'sat', methodDetails: { invoice: inv.bolt11 } });
    const header = `Payment id="c-${inv.paymentHash.slice(0, 8)}", realm="app", method="lightning", intent="charge", expires="${expires()}", request="${request}", paybound="${b64url(terms)}"`;
    return [['www-authenticate', header]] as const;
  };
  /** The app asks a subscriber to renew: a `subscription` challenge on the API request itself. */
  const renewal402 = () =>
    [
      [
        'www-authenticate',
        `Payment id="renew", realm="app", method="lightning", intent="subscription", expires="${expires()}", request="${b64url({ amount: '2000', currency: 'sat', interval: 'month', methodDetails: { invoice: 'x' } })}"`,
      ],
    ] as const;
  /** `carried`: the request carried the subscriber credential (the page keeps it once handed it). */
  const present = (
    headers: ReadonlyArray<readonly [string, string]>,
    origin = 'https://app.example',
    carried?: true,
  ) => payments.onChallenge({ url: API, method: 'POST', headers, origin, tabId: 3, via: 'fetch', carried });

  /** A quote shown with the plan beside it, and the user taking the plan instead. */
  const subscribe = async () => {
    let quoteId = '';
    vi.mocked(approvals.request).mockImplementationOnce(async (p: { id: string }) => {
      quoteId = p.id;
      // The user clicks "Subscribe" in the window: the quote is withdrawn for the plan's.
      await payments.subscribeInstead(p.id, PLAN.id);
      await db.payments.update(p.id, { approval: 'denied' });
      return 'denied';
    });
    const verdict = await present(perUse());
    return { verdict, quoteId };
  };
  return {
    db,
    node,
    user,
    app,
    shop,
    fetchFake,
    sessionRules,
    approvals,
    asked,
    payments,
    subscriptions,
    present,
    perUse,
    renewal402,
    subscribe,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

let env: ReturnType<typeof setup>;
beforeEach(async () => {
  env = setup();
  await env.db.rails.put(RAIL);
});
afterEach(async () => {
  await env.db.delete();
});

describe('subscribing to a plan offered beside a charge', () => {
  it('pays the first period once approved, keeps the standing approval and retries the page as the subscriber', async () => {
    const { verdict, quoteId } = await env.subscribe();
    expect(verdict).toMatchObject({
      action: 'retry',
      credential: { header: 'Paybound-Subscriber', value: 'subscriber-1-0123456789' },
    });
    const [sub] = await env.db.subscriptions.toArray();
    expect(sub).toMatchObject({
      site: 'app.example',
      origin: 'https://app.example',
      planId: 'quill-pro',
      planName: 'Quill Pro',
      rail: 'lightning',
      state: 'active',
      mandate: { unit: 'sat', amountPerPeriod: 2000n, interval: 'month', overage: { price: 8n, cap: 40n } },
    });
    const rows = await env.db.payments.toArray();
    // The per-use quote gave way; the plan's first period was asked for in a window, and paid.
    expect(rows.find((p) => p.id === quoteId)).toMatchObject({
      state: 'failed',
      failure: { code: 'switched' },
    });
    const first = rows.find((p) => p.plan);
    expect(first).toMatchObject({
      state: 'paid',
      approval: 'approved',
      amount: { value: 2_000_000n },
      plan: { kind: 'subscribe', planId: 'quill-pro', subscriptionId: sub!.id },
    });
    expect(env.asked).toContain(first!.id);
    // The browser attaches the credential to this site's requests to the app, and only those.
    const added = vi
      .mocked(env.sessionRules.updateSessionRules)
      .mock.calls.flatMap(([o]) => o.addRules ?? []);
    expect(added).toEqual([
      expect.objectContaining({
        id: SUBSCRIBER_RULE_BASE + 1,
        action: {
          type: 'modifyHeaders',
          requestHeaders: [
            { header: 'paybound-subscriber', operation: 'set', value: 'subscriber-1-0123456789' },
          ],
        },
        condition: {
          urlFilter: '|https://app.example/',
          resourceTypes: ['xmlhttprequest'],
          initiatorDomains: ['app.example'],
        },
      }),
    ]);
  });

  it('pays nothing when the app asks another price than the plan it offered', async () => {
    env.shop.price = '2500';
    const before = env.node.wallet(env.user.id)?.balanceMsat;
    const { verdict } = await env.subscribe();
    expect(verdict).toMatchObject({ action: 'pass', said: { key: 'planPriceChanged' } });
    expect(env.node.wallet(env.user.id)?.balanceMsat).toBe(before);
    expect(await env.db.subscriptions.count()).toBe(0);
  });

  it('reads no more than 16 KB of the app’s answer: a larger one is no subscription', async () => {
    env.shop.padding = 20_000;
    const { verdict } = await env.subscribe();
    expect(verdict).toMatchObject({ action: 'pass', said: { key: 'planNoAnswer' } });
    expect(await env.db.subscriptions.count()).toBe(0);
    env.shop.padding = 15_000;
    expect((await env.subscribe()).verdict).toMatchObject({ action: 'retry' });
  });

  it('pays nothing when the app asks another period than the plan it offered', async () => {
    env.shop.interval = 'week';
    const { verdict } = await env.subscribe();
    expect(verdict).toMatchObject({ action: 'pass', said: { key: 'planPriceChanged' } });
    expect(await env.db.payments.filter((p) => p.state === 'paid').count()).toBe(0);
  });

  it('does not show plans that cost more than their included calls would per use', async () => {
    const greedy = { ...PLAN, price: '5000', includes: { calls: 10 } };
    vi.mocked(env.approvals.request).mockImplementationOnce(async (p: { id: string }) => {
      const row = await env.db.payments.get(p.id);
      expect(row?.plans).toBeUndefined();
      // The quote says why: the charge itself is quoted as it is.
      expect(row?.plansRefused).toContain('more than paying 21 per call would');
      await env.db.payments.update(p.id, { approval: 'denied' });
      return 'denied';
    });
    await env.present(env.perUse({ v: 1, plans: [greedy] }));
    expect(env.approvals.request).toHaveBeenCalledOnce();
  });
});

describe('a subscription in force', () => {
  it('renews within the standing approval without a window, and keeps the subscriber', async () => {
    await env.subscribe();
    env.asked.length = 0;
    env.advance(31 * DAY);
    const verdict = await env.present(env.renewal402());
    expect(verdict).toMatchObject({ action: 'retry', credential: { header: 'Paybound-Subscriber' } });
    expect(env.asked).toEqual([]);
    const renewal = (await env.db.payments.toArray()).find((p) => p.plan?.kind === 'renewal');
    expect(renewal).toMatchObject({ state: 'paid', approval: 'auto', amount: { value: 2_000_000n } });
    expect(env.shop.requests.filter((r) => r.method === 'POST').at(-1)?.body).toContain('"subscriber"');
    expect(await env.db.subscriptions.count()).toBe(1);
    // Renewed for a month: the next renewal waits for it.
    const [sub] = await env.db.subscriptions.toArray();
    expect(sub!.periodEnd - sub!.periodStart).toBeGreaterThanOrEqual(28 * DAY);
    expect(await env.present(env.renewal402())).toMatchObject({
      action: 'pass',
      said: { key: 'planNotDue' },
    });
  });

  it('asks in a window for a renewal priced above the standing approval', async () => {
    await env.subscribe();
    env.advance(31 * DAY);
    env.asked.length = 0;
    env.shop.price = '2600';
    const verdict = await env.present(env.renewal402());
    expect(verdict.action).toBe('retry');
    const renewal = (await env.db.payments.toArray()).find((p) => p.plan?.kind === 'renewal');
    expect(renewal).toMatchObject({ approval: 'approved', amount: { value: 2_600_000n } });
    expect(env.asked).toEqual([renewal!.id]);
  });

  it('renews once a period: a renewal 402 in the middle of the period pays nothing', async () => {
    // The app answers a five-minute period, and says so again when asked: the mandate's month holds.
    env.shop.periodMs = 5 * 60 * 1000;
    await env.subscribe();
    env.advance(10 * 60 * 1000);
    const [sub] = await env.db.subscriptions.toArray();
    await env.subscriptions.refresh(sub!.id);
    const paid = await env.db.payments.filter((p) => p.state === 'paid').count();
    const posts = env.shop.requests.length;
    for (let i = 0; i < 3; i++) {
      expect(await env.present(env.renewal402())).toMatchObject({
        action: 'pass',
        said: { key: 'planNotDue' },
      });
    }
    expect(await env.db.payments.filter((p) => p.state === 'paid').count()).toBe(paid);
    expect(env.shop.requests.length).toBe(posts);
  });

  it('another site cannot renew it: its renewal 402 is nobody’s subscription', async () => {
    await env.subscribe();
    const paidBefore = await env.db.payments.filter((p) => p.state === 'paid').count();
    const verdict = await env.present(env.renewal402(), 'https://evil.example');
    expect(verdict.action).toBe('pass');
    expect(await env.db.payments.filter((p) => p.state === 'paid').count()).toBe(paidBefore);
  });

  it('pays overage within the cap without a window, then asks once the cap is reached', async () => {
    await env.subscribe();
    env.asked.length = 0;
    const overage = () => env.perUse({ v: 1, overage: { plan: 'quill-pro' } });
    // The cap is 40 sats, at 8 a call: the app prices overage calls at 8 sats each.
    for (let i = 0; i < 2; i++) {
      const inv = env.node.createInvoice(env.app.id, { amountMsat: 8_000n, memo: 'overage' });
      const request = b64url({ amount: '8', currency: 'sat', methodDetails: { invoice: inv.bolt11 } });
      const header = `Payment id="o-${i}", realm="app", method="lightning", intent="charge", expires="${expires()}", request="${request}", paybound="${b64url({ v: 1, overage: { plan: 'quill-pro' } })}"`;
      expect((await env.present([['www-authenticate', header]], undefined, true)).action).toBe('retry');
    }
    expect(env.asked).toEqual([]);
    const paidOverage = (await env.db.payments.toArray()).filter((p) => p.plan?.kind === 'overage');
    expect(paidOverage.map((p) => p.approval)).toEqual(['auto', 'auto']);
    // 21 sats is above the plan's overage price: asked for as any charge.
    const dear = overage();
    expect((await env.present(dear, undefined, true)).action).toBe('retry');
    expect(env.asked).toHaveLength(1);
  });

  it('cancels at the period end: no renewal after, and the rule goes', async () => {
    await env.subscribe();
    const [sub] = await env.db.subscriptions.toArray();
    await env.subscriptions.cancel(sub!.id);
    expect(env.shop.requests.at(-1)).toMatchObject({ method: 'DELETE' });
    expect((await env.db.subscriptions.get(sub!.id))?.state).toBe('canceling');
    env.advance(31 * DAY);
    const verdict = await env.present(env.renewal402());
    expect(verdict).toMatchObject({ action: 'pass', said: { key: 'planCancelled' } });
    await env.subscriptions.sweep();
    expect((await env.db.subscriptions.get(sub!.id))?.state).toBe('ended');
    const removed = vi
      .mocked(env.sessionRules.updateSessionRules)
      .mock.calls.flatMap(([o]) => o.removeRuleIds ?? []);
    expect(removed).toContain(sub!.ruleId);
  });

  it('reads the app’s word on usage', async () => {
    await env.subscribe();
    const [sub] = await env.db.subscriptions.toArray();
    const fresh = await env.subscriptions.refresh(sub!.id);
    expect(fresh?.usage).toMatchObject({ used: 12, included: 200, overageCalls: 0, overageAmount: 0n });
  });
});

describe('a card plan’s metered overage', () => {
  it('counts against the budgets as the card service bills it, each rise once', async () => {
    const db = new PayboundDb(`m-${Math.random()}`);
    const now = Date.UTC(2026, 11, 10, 12);
    let billed = 150n;
    const rules = defaultRules('UTC');
    const service = new SubscriptionService({
      db,
      rules: { updateSessionRules: async () => {}, getSessionRules: async () => [] },
      pay: async () => ({ action: 'pass', reason: 'unused' }),
      now: () => now,
      cardOverage: async () => ({ periodStart: Date.UTC(2026, 11, 1), amount: billed }),
      spendingRules: async () => rules,
    });
    await db.subscriptions.add({
      id: 'card-sub',
      site: 'quill.example',
      origin: 'https://quill.example',
      subscribeUrl: 'https://quill.example/plans/subscribe',
      planId: 'quill-pro',
      planName: 'Quill Pro',
      rail: 'card',
      railId: 'card-rail',
      mandate: {
        unit: 'minor',
        currency: 'usd',
        amountPerPeriod: 2000n,
        interval: 'month',
        intervalCount: 1,
        includes: { calls: 200 },
        overage: { price: 50n, cap: 1000n },
      },
      credential: 'subscriber-credential',
      ruleId: SUBSCRIBER_RULE_BASE + 1,
      state: 'active',
      periodStart: Date.UTC(2026, 11, 1),
      periodEnd: Date.UTC(2027, 0, 1),
      cardSubscription: 'sub_1',
      createdAt: now,
      updatedAt: now,
    });
    const monthTotal = async () =>
      (await db.spend.get(totalKey(rules.budgets[0]!, periodKey('month', now, 'UTC'))))?.committedMinor;
    await service.countCardOverage('card-sub');
    await service.countCardOverage('card-sub');
    expect(await monthTotal()).toBe(150n);
    billed = 300n;
    await service.countCardOverage('card-sub');
    expect(await monthTotal()).toBe(300n);
    const rows = (await db.payments.toArray()).filter((p) => p.plan?.kind === 'overage');
    expect(rows.map((p) => [p.state, p.amountMinor])).toEqual([
      ['paid', 150n],
      ['paid', 150n],
    ]);
    await db.delete();
  });
});
