// Quill Pro in the demo app over real HTTP with the Lightning stand-in: subscribing at
// /plans/subscribe, drafts served by the plan, overage past the 200 included, the test-only clock
// route and a renewal, and the route's absence in a normal run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import { planNote, QUILL_PRO } from '../../../server/merchant/demo/plans';
import type { CardPlanClient } from '../../../server/merchant/kit/plan-desk';
import {
  challengeList,
  decodeInvoice,
  decodePaybound,
  payInvoice,
  type Standin,
  startStandin,
  type WalletKeys,
} from './helpers';
import { decodeRequest, jsonOf, paymentChallenges, paymentCredential, usageOf } from './plans-helpers';

let lightning: Standin;
let user: WalletKeys;
let app: DemoApp;
let plain: DemoApp;

beforeAll(async () => {
  const started = await startStandin();
  lightning = started.standin;
  user = started.user;
  const common = { port: 0, lnbitsUrl: lightning.url, invoiceKey: started.app.invoiceKey };
  app = await startDemoApp({ ...common, testRoutes: true });
  plain = await startDemoApp(common);
});

afterAll(async () => {
  await app?.close();
  await plain?.close();
  await lightning?.close();
});

/** A draft request, with the subscriber header and an Authorization when given. */
function draft(subscriber?: string, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (subscriber) headers['paybound-subscriber'] = subscriber;
  if (authorization) headers.authorization = authorization;
  return fetch(`${app.url}/drafts/generate`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ prompt: 'a short note' }),
  });
}

async function subscribe(
  subscriber?: string,
): Promise<{ subscriber: string; periodStart: number; periodEnd: number }> {
  const body = JSON.stringify({
    plan: 'quill-pro',
    rail: 'lightning',
    ...(subscriber ? { subscriber } : {}),
  });
  const post = (authorization?: string) =>
    fetch(`${app.url}/plans/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body,
    });
  const asked = await post();
  expect(asked.status).toBe(402);
  await asked.arrayBuffer();
  const [challenge] = paymentChallenges(asked.headers.get('www-authenticate'));
  const request = decodeRequest(challenge!.request);
  expect(request).toMatchObject({ amount: '20000', currency: 'sat', interval: 'month', intervalCount: 1 });
  const invoice = String((request.methodDetails as Record<string, unknown>).invoice);
  expect(decodeInvoice(invoice).amountMsat).toBe(20_000_000n);
  const paid = await post(
    paymentCredential(challenge!, { preimage: await payInvoice(lightning.url, user, invoice) }),
  );
  const json = await jsonOf(paid);
  expect(paid.status, JSON.stringify(json)).toBe(200);
  return json as { subscriber: string; periodStart: number; periodEnd: number };
}

describe('Quill Pro', () => {
  it('is one line on the page', async () => {
    const html = await (await fetch(app.url)).text();
    expect(planNote(false)).toBe(
      'Or Quill Pro: 20,000 sats a month, 200 drafts included, then 500 sats a draft, at most 10,000 sats a month more.',
    );
    expect(html).toContain(`<p class="hint" id="plan-note">${planNote(false)}</p>`);
    expect(planNote(true)).toBe(
      'Or Quill Pro: 20,000 sats or $20.00 a month, 200 drafts included, then 500 sats ($0.50) a draft, at most 10,000 sats ($10.00) a month more.',
    );
  });

  it('serves 200 drafts a month, then asks 500 sats a draft with the overage terms', async () => {
    const { subscriber, periodEnd } = await subscribe();
    const auth = subscriber;
    const first = await draft(auth);
    expect(first.status).toBe(200);
    expect(await jsonOf(first)).toMatchObject({
      plan: { id: 'quill-pro', used: 1, included: 200, period_end: periodEnd },
    });
    expect(usageOf(first)).toEqual({
      plan: 'quill-pro',
      used: 1,
      included: 200,
      overage: 0,
      'overage-amount': 0,
      'period-end': periodEnd,
    });
    for (let used = 2; used <= QUILL_PRO.includes.calls; used++) {
      const res = await draft(auth);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const beyond = await draft(auth);
    expect(beyond.status).toBe(402);
    expect(await jsonOf(beyond)).toMatchObject({ code: 'plan_overage', price_msat: '500000' });
    expect(usageOf(beyond)).toMatchObject({ used: 200, included: 200 });
    const [l402] = challengeList(beyond.headers.get('www-authenticate'));
    expect(decodeInvoice(l402!.params.invoice!).amountMsat).toBe(500_000n);
    expect(decodePaybound(l402!.params.paybound)).toEqual({ v: 1, overage: { plan: 'quill-pro' } });
    const token = `L402 ${l402!.params.macaroon}:${await payInvoice(lightning.url, user, l402!.params.invoice!)}`;
    const paid = await draft(subscriber, token);
    expect(paid.status).toBe(200);
    expect(await jsonOf(paid)).toMatchObject({
      plan: { id: 'quill-pro', overage: { amount: '500', unit: 'sat' } },
    });
    expect(usageOf(paid)).toMatchObject({ overage: 1, 'overage-amount': 500 });
  });

  it('asks a renewal once the test clock passes the period, and goes on with the same credential', async () => {
    const { subscriber, periodEnd } = await subscribe();
    const auth = subscriber;
    expect((await draft(auth)).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const moved = await fetch(`${app.url}/__test/plans/advance?seconds=${periodEnd - now + 60}`, {
      method: 'POST',
    });
    expect(moved.status).toBe(200);
    const due = await draft(auth);
    expect(due.status).toBe(402);
    expect(await jsonOf(due)).toMatchObject({ code: 'renewal_required', plan: 'quill-pro' });
    expect(paymentChallenges(due.headers.get('www-authenticate'))[0]).toMatchObject({
      intent: 'subscription',
    });
    const renewed = await subscribe(subscriber);
    expect(renewed.subscriber).toBe(subscriber);
    expect(renewed.periodStart).toBeGreaterThanOrEqual(periodEnd);
    const served = await draft(auth);
    expect(served.status).toBe(200);
    expect(usageOf(served)).toMatchObject({ used: 1, 'period-end': renewed.periodEnd });
  });

  it('asks a new price from the next renewal on, and keeps the price route to test runs', async () => {
    const { subscriber, periodEnd } = await subscribe();
    expect((await fetch(`${plain.url}/__test/plans/price?sats=25000`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${app.url}/__test/plans/price?sats=-5`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${app.url}/__test/plans/price?sats=25000`, { method: 'POST' })).status).toBe(200);
    try {
      const now = Math.floor(Date.now() / 1000);
      await fetch(`${app.url}/__test/plans/advance?seconds=${periodEnd - now + 60}`, { method: 'POST' });
      const due = await draft(subscriber);
      expect(due.status).toBe(402);
      const [renewal] = paymentChallenges(due.headers.get('www-authenticate'));
      const request = JSON.parse(Buffer.from(String(renewal?.request), 'base64url').toString()) as {
        amount: string;
      };
      expect(request.amount).toBe('25000');
    } finally {
      await fetch(`${app.url}/__test/plans/price?sats=20000`, { method: 'POST' });
    }
  });

  it('keeps the clock route to test runs, and checks its input', async () => {
    expect((await fetch(`${plain.url}/__test/plans/advance?seconds=60`, { method: 'POST' })).status).toBe(
      404,
    );
    expect((await fetch(`${app.url}/__test/plans/advance?seconds=-1`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${app.url}/__test/plans/advance?seconds=1.5`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${app.url}/__test/plans/advance?seconds=60`)).status).toBe(405);
  });
});

describe('Quill Pro by card', () => {
  let cardApp: DemoApp;
  const subscriptions = new Map<string, { start: number }>();
  const client: CardPlanClient = {
    url: 'https://cards.example',
    subscription: async (id) => ({
      id,
      status: 'active',
      currentPeriodStart: subscriptions.get(id)!.start,
      currentPeriodEnd: subscriptions.get(id)!.start + 30 * 86_400,
      cancelAtPeriodEnd: false,
    }),
    usage: async () => {},
    cancel: async (id) => client.subscription(id),
  };

  beforeAll(async () => {
    cardApp = await startDemoApp({
      port: 0,
      lnbitsUrl: lightning.url,
      invoiceKey: lightning.wallets.app!.invoiceKey,
      card: {
        cardServiceUrl: client.url,
        apiKey: 'unused',
        accountId: 'acct_quill',
        receiptPublicKey: 'ab'.repeat(32),
        receiptKeyId: 'k1',
        plans: {
          client,
          verifyReceipt: async (receipt, expected) =>
            receipt ===
            `signed:${expected.challengeId}:${expected.subscription}:${expected.amount}:${expected.destination}`
              ? { ok: true }
              : { ok: false, reason: 'not signed' },
        },
      },
    });
  });

  afterAll(async () => {
    await cardApp?.close();
  });

  it('is offered on the drafts’ card challenge in cents, and subscribed to with the card service’s receipt', async () => {
    const res = await fetch(`${cardApp.url}/drafts/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a short note' }),
    });
    expect(res.status).toBe(402);
    await res.arrayBuffer();
    const card = paymentChallenges(res.headers.get('www-authenticate')).find((c) => c.method === 'card')!;
    expect(decodePaybound(card.paybound).plans).toEqual([
      {
        id: 'quill-pro',
        name: 'Quill Pro',
        price: '2000',
        interval: 'month',
        intervalCount: 1,
        includes: { calls: 200 },
        overage: { price: '50', cap: '1000' },
        subscribe: `${cardApp.url}/plans/subscribe`,
      },
    ]);
    const page = await (await fetch(cardApp.url)).text();
    expect(page).toContain(planNote(true));

    const post = (authorization?: string) =>
      fetch(`${cardApp.url}/plans/subscribe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ plan: 'quill-pro', rail: 'card' }),
      });
    const asked = await post();
    expect(asked.status).toBe(402);
    await asked.arrayBuffer();
    const [challenge] = paymentChallenges(asked.headers.get('www-authenticate'));
    expect(decodeRequest(challenge!.request)).toMatchObject({
      amount: '2000',
      currency: 'usd',
      recipient: 'acct_quill',
    });
    subscriptions.set('sub_1', { start: Math.floor(Date.now() / 1000) });
    const receipt = `signed:${challenge!.id}:sub_1:2000:acct_quill`;
    const paid = await post(paymentCredential(challenge!, { subscription: 'sub_1', receipt }));
    const json = await jsonOf(paid);
    expect(paid.status, JSON.stringify(json)).toBe(200);
    const served = await fetch(`${cardApp.url}/drafts/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'paybound-subscriber': String(json.subscriber) },
      body: JSON.stringify({ prompt: 'a short note' }),
    });
    expect(served.status).toBe(200);
    expect(usageOf(served)).toMatchObject({ plan: 'quill-pro', used: 1, included: 200 });
  });
});
