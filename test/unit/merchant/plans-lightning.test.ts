// The plan desk on Lightning over real HTTP: offers on a route's challenges, the subscribe
// exchange (a real BOLT11 invoice from the Lightning stand-in, paid from the user wallet), its
// refusals, included usage, overage charges (L402 and MPP), renewal and cancelling at period end.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestOrigin, sendJson } from '../../../server/merchant/kit/http';
import { LnbitsClient } from '../../../server/merchant/kit/lnbits-client';
import { lightningMethod } from '../../../server/merchant/kit/mpp-lightning';
import { paymentPaywall } from '../../../server/merchant/kit/payment-paywall';
import { PlanDesk, subscribeEndpoint } from '../../../server/merchant/kit/plan-desk';
import { periodEnd } from '../../../server/merchant/kit/plans';
import { readMppSubscription } from '../../../src/core/challenge/mpp';
import { readPlanOffers } from '../../../src/core/challenge/plans';
import { parseWwwAuthenticate } from '../../../src/core/challenge/www-authenticate';
import {
  challengeList,
  decodeInvoice,
  decodePaybound,
  parseChallenges,
  payInvoice,
  type Standin,
  startStandin,
  type WalletKeys,
} from './helpers';
import {
  decodeRequest,
  headersOf,
  jsonOf,
  type PaymentChallengeParams,
  paymentChallenges,
  paymentCredential,
  usageOf,
} from './plans-helpers';

const REALM = 'plans-test';
const CALL_MSAT = 1_000_000n; // 1 000 sat per call, pay-per-use

let lightning: Standin;
let user: WalletKeys;
let server: Server;
let base: string;
let offsetMs = 0;
const now = () => Date.now() + offsetMs;
let desk: PlanDesk;

beforeAll(async () => {
  const started = await startStandin();
  lightning = started.standin;
  user = started.user;
  const wallet = new LnbitsClient({ url: lightning.url, invoiceKey: started.app.invoiceKey });
  desk = new PlanDesk({
    plans: [
      {
        id: 'pro',
        name: 'Pro',
        interval: 'month',
        includes: { calls: 3 },
        lightning: { price: 3000, overage: { price: 400, cap: 800 } },
      },
      { id: 'basic', name: 'Basic', interval: 'week', includes: { calls: 2 }, lightning: { price: 1000 } },
    ],
    realm: REALM,
    secret: 'ab'.repeat(32),
    subscribeUrl: (req) => `${requestOrigin(req)}/plans/subscribe`,
    lightning: { wallet },
    now,
  });
  const paywall = paymentPaywall<null>({
    wallet,
    rootKey: 'cd'.repeat(32),
    location: 'plans-test',
    service: 'kit',
    capability: 'call',
    priceMsat: () => CALL_MSAT,
    description: () => 'one call',
    plans: desk,
    now,
    mpp: {
      realm: REALM,
      secret: 'ef'.repeat(32),
      methods: [lightningMethod<null>({ wallet, priceMsat: () => CALL_MSAT })],
    },
  });
  const guarded = desk.guard(paywall);
  const subscribe = subscribeEndpoint(desk);
  server = createServer((req, res) => {
    const done = (p: Promise<void>) =>
      p.catch((err: unknown) => {
        console.error(err);
        if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      });
    if (req.url === '/plans/subscribe') return void done(subscribe(req, res));
    void done(
      guarded(req, res, null, (_req, res, _body, paid) =>
        sendJson(res, 200, {
          kind: paid?.kind ?? null,
          ...(paid?.kind === 'plan' ? { plan: paid.plan } : {}),
        }),
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await lightning?.close();
});

/** A string is an Authorization value; an object, the headers as they are. */
function call(auth?: string | Record<string, string>): Promise<Response> {
  return fetch(`${base}/call`, { headers: headersOf(auth) });
}

function subscribeRequest(
  body: unknown,
  auth?: string | Record<string, string>,
  method = 'POST',
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...headersOf(auth) };
  return fetch(`${base}/plans/subscribe`, {
    method,
    headers,
    ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
  });
}

async function subscriptionChallenge(body: Record<string, unknown>): Promise<PaymentChallengeParams> {
  const res = await subscribeRequest(body);
  expect(res.status).toBe(402);
  await res.arrayBuffer();
  const [challenge, ...rest] = paymentChallenges(res.headers.get('www-authenticate'));
  expect(rest).toEqual([]);
  expect(challenge).toMatchObject({ realm: REALM, method: 'lightning', intent: 'subscription' });
  return challenge!;
}

/** What the wallet does: pay the subscription invoice, repeat the POST with the credential. */
async function subscribe(
  plan = 'pro',
  subscriber?: string,
): Promise<{ subscriber: string; periodStart: number; periodEnd: number }> {
  const body = { plan, rail: 'lightning', ...(subscriber ? { subscriber } : {}) };
  const challenge = await subscriptionChallenge(body);
  const invoice = String((decodeRequest(challenge.request).methodDetails as Record<string, unknown>).invoice);
  const preimage = await payInvoice(lightning.url, user, invoice);
  const res = await subscribeRequest(body, paymentCredential(challenge, { preimage }));
  const json = await jsonOf(res);
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json as { subscriber: string; periodStart: number; periodEnd: number };
}

/** The subscriber credential as the extension sends it. */
const subscriberAuth = (credential: string) => ({ 'paybound-subscriber': credential });

describe('offers', () => {
  it('puts the plans on the L402 challenges in msat and on the MPP Lightning one in sat', async () => {
    const res = await call();
    expect(res.status).toBe(402);
    await res.arrayBuffer();
    const challenges = challengeList(res.headers.get('www-authenticate'));
    expect(challenges.map((c) => c.scheme)).toEqual(['L402', 'LSAT', 'Payment']);
    const subscribeUrl = `${base}/plans/subscribe`;
    const pro = (unitFactor: bigint) => ({
      id: 'pro',
      name: 'Pro',
      price: (3000n * unitFactor).toString(),
      interval: 'month',
      intervalCount: 1,
      includes: { calls: 3 },
      overage: { price: (400n * unitFactor).toString(), cap: (800n * unitFactor).toString() },
      subscribe: subscribeUrl,
    });
    const basic = (unitFactor: bigint) => ({
      id: 'basic',
      name: 'Basic',
      price: (1000n * unitFactor).toString(),
      interval: 'week',
      intervalCount: 1,
      includes: { calls: 2 },
      subscribe: subscribeUrl,
    });
    for (const l402 of challenges.slice(0, 2)) {
      expect(decodePaybound(l402.params.paybound)).toEqual({ v: 1, plans: [pro(1000n), basic(1000n)] });
    }
    expect(decodePaybound(challenges[2]!.params.paybound)).toEqual({ v: 1, plans: [pro(1n), basic(1n)] });
  });
});

describe('the extension', () => {
  it('reads the offers as the kit wrote them, each checked against its challenge’s price', async () => {
    const res = await call();
    await res.arrayBuffer();
    const parsed = parseWwwAuthenticate(res.headers.get('www-authenticate')!);
    const l402 = parsed.find((c) => c.schemeKey === 'l402')!;
    const mpp = parsed.find((c) => c.schemeKey === 'payment')!;
    const fromL402 = readPlanOffers(
      l402.params.get('paybound')!,
      CALL_MSAT,
      { unit: 'msat' },
      `${base}/call`,
      base,
      'lightning',
    );
    expect(fromL402.map((o) => [o.id, o.price, o.overage])).toEqual([
      ['pro', 3_000_000n, { price: 400_000n, cap: 800_000n }],
      ['basic', 1_000_000n, undefined],
    ]);
    expect(fromL402[0]).toMatchObject({
      interval: 'month',
      intervalCount: 1,
      includes: { calls: 3 },
      subscribeUrl: `${base}/plans/subscribe`,
    });
    const fromMpp = readPlanOffers(
      mpp.params.get('paybound')!,
      CALL_MSAT / 1000n,
      { unit: 'sat' },
      `${base}/call`,
      base,
      'lightning',
    );
    expect(fromMpp.map((o) => o.price)).toEqual([3000n, 1000n]);
  });

  it('reads the subscribe 402 as a subscription challenge for the plan’s period', async () => {
    const res = await subscribeRequest({ plan: 'pro', rail: 'lightning' });
    await res.arrayBuffer();
    const [challenge] = parseWwwAuthenticate(res.headers.get('www-authenticate')!);
    const read = readMppSubscription(challenge!, now());
    expect(read.subscription).toEqual({ interval: 'month', intervalCount: 1 });
    expect(read.request).toMatchObject({ amount: '3000', currency: 'sat' });
  });
});

describe('subscribing', () => {
  it('answers 402 with a subscription challenge carrying a real invoice for one period, then 200 with a credential', async () => {
    const challenge = await subscriptionChallenge({ plan: 'pro', rail: 'lightning' });
    const request = decodeRequest(challenge.request);
    expect(request).toMatchObject({
      amount: '3000',
      currency: 'sat',
      interval: 'month',
      intervalCount: 1,
      description: 'Pro, one month',
    });
    const details = request.methodDetails as Record<string, string>;
    const invoice = decodeInvoice(details.invoice!);
    expect(invoice.amountMsat).toBe(3_000_000n);
    expect(invoice.paymentHash).toBe(details.paymentHash);
    const preimage = await payInvoice(lightning.url, user, details.invoice!);
    const res = await subscribeRequest(
      { plan: 'pro', rail: 'lightning' },
      paymentCredential(challenge, { preimage }),
    );
    expect(res.status).toBe(200);
    const json = await jsonOf(res);
    expect(json.plan).toBe('pro');
    expect(String(json.subscriber)).toMatch(/^[A-Za-z0-9._~-]{1,512}$/);
    const start = Math.floor(now() / 1000);
    expect(Math.abs(Number(json.periodStart) - start)).toBeLessThanOrEqual(5);
    expect(json.periodEnd).toBe(periodEnd(Number(json.periodStart), 'month', 1));
  });

  it('refuses a wrong preimage, a reused challenge, an expired one and one for another plan', async () => {
    const body = { plan: 'pro', rail: 'lightning' };
    const wrong = await subscriptionChallenge(body);
    const refusedWrong = await subscribeRequest(
      body,
      paymentCredential(wrong, { preimage: '00'.repeat(32) }),
    );
    expect(refusedWrong.status).toBe(402);
    expect(await jsonOf(refusedWrong)).toMatchObject({ code: 'verification-failed' });
    // A refusal carries a fresh challenge to pay.
    expect(paymentChallenges(refusedWrong.headers.get('www-authenticate'))[0]?.intent).toBe('subscription');

    const used = await subscriptionChallenge(body);
    const invoice = String((decodeRequest(used.request).methodDetails as Record<string, unknown>).invoice);
    const credential = paymentCredential(used, { preimage: await payInvoice(lightning.url, user, invoice) });
    expect((await subscribeRequest(body, credential)).status).toBe(200);
    const replay = await subscribeRequest(body, credential);
    expect(replay.status).toBe(402);
    expect(await jsonOf(replay)).toMatchObject({
      code: 'invalid-challenge',
      error: 'this challenge was already used',
    });

    const basic = await subscriptionChallenge({ plan: 'basic', rail: 'lightning' });
    const basicInvoice = String(
      (decodeRequest(basic.request).methodDetails as Record<string, unknown>).invoice,
    );
    const basicPaid = paymentCredential(basic, {
      preimage: await payInvoice(lightning.url, user, basicInvoice),
    });
    const otherPlan = await subscribeRequest(body, basicPaid);
    expect(otherPlan.status).toBe(402);
    expect(await jsonOf(otherPlan)).toMatchObject({
      code: 'invalid-challenge',
      error: 'the challenge is not for Pro',
    });

    const late = await subscriptionChallenge(body);
    const lateInvoice = String(
      (decodeRequest(late.request).methodDetails as Record<string, unknown>).invoice,
    );
    const lateCredential = paymentCredential(late, {
      preimage: await payInvoice(lightning.url, user, lateInvoice),
    });
    offsetMs += 301_000;
    const expired = await subscribeRequest(body, lateCredential);
    expect(expired.status).toBe(402);
    expect(await jsonOf(expired)).toMatchObject({ code: 'payment-expired' });
  });

  it('refuses an altered challenge, an unknown plan and a rail the plan is not offered on', async () => {
    const body = { plan: 'pro', rail: 'lightning' };
    const challenge = await subscriptionChallenge(body);
    const request = decodeRequest(challenge.request);
    const cheaper = Buffer.from(JSON.stringify({ ...request, amount: '1' })).toString('base64url');
    const altered = await subscribeRequest(
      body,
      paymentCredential({ ...challenge, request: cheaper }, { preimage: '11'.repeat(32) }),
    );
    expect(altered.status).toBe(402);
    expect(await jsonOf(altered)).toMatchObject({ code: 'invalid-challenge' });

    const unknown = await subscribeRequest({ plan: 'gold', rail: 'lightning' });
    expect(unknown.status).toBe(404);
    expect(await jsonOf(unknown)).toMatchObject({ error: { code: 'unknown_plan' } });
    const card = await subscribeRequest({ plan: 'pro', rail: 'card' });
    expect(card.status).toBe(409);
    expect(await jsonOf(card)).toMatchObject({ error: { code: 'rail_not_offered' } });
  });
});

describe('using the plan', () => {
  it('serves the included calls, then asks an overage charge per call (L402 or MPP), then pay-per-use at the cap', async () => {
    const { subscriber, periodEnd: end } = await subscribe();
    for (let used = 1; used <= 3; used++) {
      const res = await call(subscriberAuth(subscriber));
      expect(res.status).toBe(200);
      expect(usageOf(res)).toEqual({
        plan: 'pro',
        used,
        included: 3,
        overage: 0,
        'overage-amount': 0,
        'period-end': end,
      });
      expect(await jsonOf(res)).toMatchObject({ kind: 'plan', plan: { plan: 'pro', used, included: 3 } });
    }

    const beyond = await call(subscriberAuth(subscriber));
    expect(beyond.status).toBe(402);
    expect(await jsonOf(beyond)).toMatchObject({ code: 'plan_overage', price_msat: '400000', plan: 'pro' });
    expect(usageOf(beyond)).toMatchObject({ used: 3, overage: 0 });
    const header = beyond.headers.get('www-authenticate');
    const challenges = challengeList(header);
    expect(challenges.map((c) => c.scheme)).toEqual(['L402', 'LSAT', 'Payment']);
    for (const c of challenges)
      expect(decodePaybound(c.params.paybound)).toEqual({ v: 1, overage: { plan: 'pro' } });
    const [l402] = parseChallenges(header);
    expect(decodeInvoice(l402!.invoice).amountMsat).toBe(400_000n);
    const mpp = paymentChallenges(header)[0]!;
    expect(mpp).toMatchObject({ method: 'lightning', intent: 'charge' });
    expect(decodeRequest(mpp.request)).toMatchObject({ amount: '400', currency: 'sat' });

    // L402: the wallet pays and retries with the token beside the subscriber header.
    const token = `L402 ${l402!.macaroon}:${await payInvoice(lightning.url, user, l402!.invoice)}`;
    const paidL402 = await call({ ...subscriberAuth(subscriber), authorization: token });
    expect(paidL402.status).toBe(200);
    expect(usageOf(paidL402)).toMatchObject({ used: 3, overage: 1, 'overage-amount': 400 });
    expect(await jsonOf(paidL402)).toMatchObject({
      kind: 'plan',
      plan: { overage: { amount: '400', unit: 'sat', method: 'l402' } },
    });
    // An overage token pays for one call (with the subscriber header or without).
    const again = await call({ ...subscriberAuth(subscriber), authorization: token });
    expect(again.status).toBe(402);
    expect(await jsonOf(again)).toMatchObject({
      code: 'invalid-challenge',
      error: 'this overage charge was already used',
    });

    // MPP Lightning: the same, with the Payment credential.
    const next = await call(subscriberAuth(subscriber));
    const mppChallenge = paymentChallenges(next.headers.get('www-authenticate'))[0]!;
    await next.arrayBuffer();
    const invoice = String(
      (decodeRequest(mppChallenge.request).methodDetails as Record<string, unknown>).invoice,
    );
    const paidMpp = await call(
      paymentCredential(mppChallenge, { preimage: await payInvoice(lightning.url, user, invoice) }),
    );
    // Sent without the subscriber header, the paid charge still counts for the subscription it was made for.
    expect(paidMpp.status).toBe(200);
    expect(paidMpp.headers.get('payment-receipt')).toBeTruthy();
    expect(usageOf(paidMpp)).toMatchObject({ overage: 2, 'overage-amount': 800 });

    // 800 + 400 would pass the 800 sat cap: the call is charged per use, at the normal price.
    const capped = await call(subscriberAuth(subscriber));
    expect(capped.status).toBe(402);
    expect(usageOf(capped)).toMatchObject({ overage: 2, 'overage-amount': 800 });
    const cappedChallenges = challengeList(capped.headers.get('www-authenticate'));
    expect(
      decodeInvoice(parseChallenges(capped.headers.get('www-authenticate'))[0]!.invoice).amountMsat,
    ).toBe(CALL_MSAT);
    expect(decodePaybound(cappedChallenges[0]!.params.paybound).overage).toBeUndefined();
    expect(decodePaybound(cappedChallenges[0]!.params.paybound).plans).toHaveLength(2);

    // Paid per use beside the subscriber header: served as a paid call; the plan counts nothing.
    const [perUse] = parseChallenges(capped.headers.get('www-authenticate'));
    await capped.arrayBuffer();
    const paidPerUse = await call({
      ...subscriberAuth(subscriber),
      authorization: `L402 ${perUse!.macaroon}:${await payInvoice(lightning.url, user, perUse!.invoice)}`,
    });
    expect(paidPerUse.status).toBe(200);
    expect(await jsonOf(paidPerUse)).toEqual({ kind: 'l402' });
    expect(usageOf(paidPerUse)).toMatchObject({ used: 3, overage: 2, 'overage-amount': 800 });
  });

  it('also takes the credential as Authorization: Subscriber, which the paywall never sees', async () => {
    const { subscriber } = await subscribe('basic');
    const served = await call(`Subscriber ${subscriber}`);
    expect(served.status).toBe(200);
    expect(usageOf(served)).toMatchObject({ plan: 'basic', used: 1 });
    expect(usageOf(await call(`Subscriber ${subscriber}`))).toMatchObject({ used: 2 });
    // Past the plan: the per-use 402 of a request without credentials, not a refused one.
    const past = await call(`Subscriber ${subscriber}`);
    expect(past.status).toBe(402);
    expect(await jsonOf(past)).toMatchObject({ code: 'payment_required' });
  });

  it('refuses a wrong preimage on an overage token with a fresh overage charge', async () => {
    const { subscriber } = await subscribe();
    for (let i = 0; i < 3; i++) expect((await call(subscriberAuth(subscriber))).status).toBe(200);
    const beyond = await call(subscriberAuth(subscriber));
    await beyond.arrayBuffer();
    const [l402] = parseChallenges(beyond.headers.get('www-authenticate'));
    const refused = await call(`L402 ${l402!.macaroon}:${'22'.repeat(32)}`);
    expect(refused.status).toBe(402);
    expect(await jsonOf(refused)).toMatchObject({ code: 'verification-failed', plan: 'pro' });
    expect(
      decodePaybound(challengeList(refused.headers.get('www-authenticate'))[0]!.params.paybound),
    ).toEqual({
      v: 1,
      overage: { plan: 'pro' },
    });
  });

  it('counts each subscriber on its own, and charges per use past a plan without overage or for an unknown credential', async () => {
    const pro = await subscribe('pro');
    const basic = await subscribe('basic');
    expect(usageOf(await call(subscriberAuth(pro.subscriber)))).toMatchObject({ plan: 'pro', used: 1 });
    expect(usageOf(await call(subscriberAuth(basic.subscriber)))).toMatchObject({
      plan: 'basic',
      used: 1,
      included: 2,
    });
    expect(usageOf(await call(subscriberAuth(basic.subscriber)))).toMatchObject({ used: 2 });
    expect(usageOf(await call(subscriberAuth(pro.subscriber)))).toMatchObject({ plan: 'pro', used: 2 });

    const past = await call(subscriberAuth(basic.subscriber));
    expect(past.status).toBe(402);
    expect(usageOf(past)).toMatchObject({ used: 2 });
    expect(decodeInvoice(parseChallenges(past.headers.get('www-authenticate'))[0]!.invoice).amountMsat).toBe(
      CALL_MSAT,
    );

    for (const forged of [`${pro.subscriber.slice(0, -2)}xy`, 'nobody', `${basic.subscriber}0`]) {
      const res = await call(subscriberAuth(forged));
      expect(res.status).toBe(402);
      expect(usageOf(res)).toBeNull();
      expect(parseChallenges(res.headers.get('www-authenticate'))).toHaveLength(2);
    }
    // Nobody else's calls were counted.
    const state = await jsonOf(await subscribeRequest(undefined, subscriberAuth(pro.subscriber), 'GET'));
    expect(state).toMatchObject({ plan: 'pro', used: 2, status: 'active' });
  });

  it('renews once the period is over: a subscription challenge on use, the same credential, a new period', async () => {
    const first = await subscribe();
    expect((await call(subscriberAuth(first.subscriber))).status).toBe(200);
    const early = await subscribeRequest({ plan: 'pro', rail: 'lightning', subscriber: first.subscriber });
    expect(early.status).toBe(409);
    expect(await jsonOf(early)).toMatchObject({ error: { code: 'renewal_not_due' } });

    // In the period's last ten minutes a renewal is taken, not yet asked for.
    offsetMs += (first.periodEnd - Math.floor(now() / 1000) - 600 - 5) * 1000;
    const stillEarly = await subscribeRequest({
      plan: 'pro',
      rail: 'lightning',
      subscriber: first.subscriber,
    });
    expect(stillEarly.status).toBe(409);
    await stillEarly.arrayBuffer();
    offsetMs += 10_000;
    expect((await call(subscriberAuth(first.subscriber))).status).toBe(200);
    expect(
      (await subscribeRequest({ plan: 'pro', rail: 'lightning', subscriber: first.subscriber })).status,
    ).toBe(402);

    offsetMs += (first.periodEnd - Math.floor(now() / 1000) + 1) * 1000;
    const due = await call(subscriberAuth(first.subscriber));
    expect(due.status).toBe(402);
    expect(await jsonOf(due)).toMatchObject({
      code: 'renewal_required',
      subscribe: `${base}/plans/subscribe`,
    });
    const [renewal] = paymentChallenges(due.headers.get('www-authenticate'));
    expect(renewal).toMatchObject({ method: 'lightning', intent: 'subscription' });
    expect(decodeRequest(renewal!.request)).toMatchObject({ amount: '3000', interval: 'month' });
    const state = await jsonOf(await subscribeRequest(undefined, subscriberAuth(first.subscriber), 'GET'));
    expect(state).toMatchObject({ status: 'past_due', periodEnd: first.periodEnd });

    const renewed = await subscribe('pro', first.subscriber);
    expect(renewed.subscriber).toBe(first.subscriber);
    expect(renewed.periodStart).toBeGreaterThanOrEqual(first.periodEnd);
    expect(renewed.periodEnd).toBe(periodEnd(renewed.periodStart, 'month', 1));
    const served = await call(subscriberAuth(first.subscriber));
    expect(served.status).toBe(200);
    expect(usageOf(served)).toMatchObject({ used: 1, overage: 0, 'period-end': renewed.periodEnd });
  });

  it('renewed in the period’s last minutes, the new period starts where the old one ends', async () => {
    const first = await subscribe('basic');
    offsetMs += (first.periodEnd - Math.floor(now() / 1000) - 60) * 1000;
    const renewed = await subscribe('basic', first.subscriber);
    expect(renewed.periodStart).toBe(first.periodEnd);
    expect(renewed.periodEnd).toBe(periodEnd(first.periodEnd, 'week', 1));
    expect(usageOf(await call(subscriberAuth(first.subscriber)))).toMatchObject({
      used: 1,
      'period-end': renewed.periodEnd,
    });
  });

  it('cancels at period end: served until then, refused after, and not renewable', async () => {
    const { subscriber, periodEnd: end } = await subscribe();
    const canceled = await subscribeRequest(undefined, subscriberAuth(subscriber), 'DELETE');
    expect(canceled.status).toBe(200);
    expect(await jsonOf(canceled)).toMatchObject({
      status: 'active',
      cancelAtPeriodEnd: true,
      periodEnd: end,
    });
    expect((await call(subscriberAuth(subscriber))).status).toBe(200);

    offsetMs += (end - Math.floor(now() / 1000) + 1) * 1000;
    const after = await call(subscriberAuth(subscriber));
    expect(after.status).toBe(402);
    expect(usageOf(after)).toBeNull();
    expect(paymentChallenges(after.headers.get('www-authenticate')).map((c) => c.intent)).toEqual(['charge']);
    const state = await jsonOf(await subscribeRequest(undefined, subscriberAuth(subscriber), 'GET'));
    expect(state).toMatchObject({ status: 'canceled', cancelAtPeriodEnd: true });
    const renew = await subscribeRequest({ plan: 'pro', rail: 'lightning', subscriber });
    expect(renew.status).toBe(409);
    expect(await jsonOf(renew)).toMatchObject({ error: { code: 'subscription_canceled' } });
  });

  it('answers the state only to a known subscriber credential', async () => {
    const { subscriber } = await subscribe('basic');
    const state = await subscribeRequest(undefined, subscriberAuth(subscriber), 'GET');
    expect(await jsonOf(state)).toMatchObject({
      plan: 'basic',
      status: 'active',
      used: 0,
      included: 2,
      overageCalls: 0,
      overageAmount: '0',
      cancelAtPeriodEnd: false,
    });
    for (const auth of [
      undefined,
      { 'paybound-subscriber': 'nope' },
      'Subscriber nope',
      `Bearer ${subscriber}`,
    ]) {
      const res = await subscribeRequest(undefined, auth, 'GET');
      expect(res.status).toBe(403);
      expect(await jsonOf(res)).toMatchObject({ error: { code: 'unknown_subscriber' } });
    }
    const renewOther = await subscribeRequest({ plan: 'pro', rail: 'lightning', subscriber });
    expect(renewOther.status).toBe(409);
    expect(await jsonOf(renewOther)).toMatchObject({ error: { code: 'other_plan' } });
    const unknown = await subscribeRequest({ plan: 'pro', rail: 'lightning', subscriber: 'a'.repeat(43) });
    expect(unknown.status).toBe(404);
  });
});
