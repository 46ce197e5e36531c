// The plan desk's card rail against a fake of the card service's subscription API: the offer in
// cents, subscribing with a subscription and its receipt, usage beyond the plan reported as meter
// events, pay-per-use once the card service says the cap is reached, periods moved by the card
// service, and cancelling at period end.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CardServiceClient,
  CardServiceError,
  cardMethod,
  receiptKeyFromHex,
} from '../../../server/merchant/kit/card';
import { requestOrigin, sendJson } from '../../../server/merchant/kit/http';
import { LnbitsClient } from '../../../server/merchant/kit/lnbits-client';
import { paymentPaywall } from '../../../server/merchant/kit/payment-paywall';
import {
  type CardPlanClient,
  type CardSubscriptionState,
  cardPlanClient,
  PlanDesk,
  type PlanReceiptExpectation,
  subscribeEndpoint,
} from '../../../server/merchant/kit/plan-desk';
import { readPlanOffers } from '../../../src/core/challenge/plans';
import { parseWwwAuthenticate } from '../../../src/core/challenge/www-authenticate';
import { challengeList, decodePaybound, type Standin, startStandin } from './helpers';
import {
  decodeRequest,
  headersOf,
  jsonOf,
  type PaymentChallengeParams,
  paymentChallenges,
  paymentCredential,
  usageOf,
} from './plans-helpers';

const CARD_SERVICE = 'https://cards.example';
const ACCOUNT = 'acct_quill';
const CALL_CENTS = 1000n;
const MONTH = 30 * 86_400;

/** The card service as the desk sees it: subscriptions with a cap on reported overage. */
class FakeCardService implements CardPlanClient {
  readonly url = CARD_SERVICE;
  readonly subscriptions = new Map<string, CardSubscriptionState & { challengeId: string }>();
  readonly usages: { id: string; quantity: number; identifier: string }[] = [];
  readonly canceled: string[] = [];
  /** Overage reported this period per subscription, in calls; the cap allows `capCalls`. */
  readonly reported = new Map<string, number>();
  capCalls = 2;
  unreachable = false;
  #next = 0;

  /** What the extension's worker does at the card service: create the subscription, get a receipt. */
  create(challengeId: string, start: number): { subscription: string; receipt: string } {
    const id = `sub_${++this.#next}`;
    this.subscriptions.set(id, {
      id,
      challengeId,
      status: 'active',
      currentPeriodStart: start,
      currentPeriodEnd: start + MONTH,
      cancelAtPeriodEnd: false,
    });
    return { subscription: id, receipt: `receipt.${challengeId}.${id}` };
  }

  /** Stripe renewed the subscription: the next period. */
  renew(id: string): void {
    const s = this.subscriptions.get(id)!;
    s.currentPeriodStart = s.currentPeriodEnd;
    s.currentPeriodEnd += MONTH;
    this.reported.set(id, 0);
  }

  #down(): void {
    if (this.unreachable) throw new CardServiceError('unreachable', 'card service unreachable', 0);
  }

  async subscription(id: string): Promise<CardSubscriptionState> {
    this.#down();
    const s = this.subscriptions.get(id);
    if (!s) throw new CardServiceError('not_found', 'no such subscription', 404);
    const { challengeId: _, ...state } = s;
    return state;
  }

  async usage(id: string, quantity: number, identifier: string): Promise<void> {
    this.#down();
    const reported = this.reported.get(id) ?? 0;
    if (reported + quantity > this.capCalls)
      throw new CardServiceError('overage_cap_reached', 'this period’s overage cap is reached', 409);
    this.reported.set(id, reported + quantity);
    this.usages.push({ id, quantity, identifier });
  }

  async cancel(id: string): Promise<CardSubscriptionState> {
    this.#down();
    this.canceled.push(id);
    const s = this.subscriptions.get(id)!;
    s.cancelAtPeriodEnd = true;
    return this.subscription(id);
  }
}

let lightning: Standin;
let server: Server;
let base: string;
let offsetMs = 0;
const now = () => Date.now() + offsetMs;
const cards = new FakeCardService();
const expectations: PlanReceiptExpectation[] = [];

beforeAll(async () => {
  const started = await startStandin();
  lightning = started.standin;
  const wallet = new LnbitsClient({ url: lightning.url, invoiceKey: started.app.invoiceKey });
  const desk = new PlanDesk({
    plans: [
      {
        id: 'pro',
        name: 'Pro',
        interval: 'month',
        includes: { calls: 2 },
        card: { price: 2000, overage: { price: 50, cap: 100 } },
      },
    ],
    realm: 'plans-card-test',
    secret: '12'.repeat(32),
    subscribeUrl: (req) => `${requestOrigin(req)}/plans/subscribe`,
    card: {
      client: cards,
      accountId: ACCOUNT,
      verifyReceipt: async (receipt, expected) => {
        expectations.push(expected);
        return receipt === `receipt.${expected.challengeId}.${expected.subscription}`
          ? { ok: true }
          : { ok: false, reason: 'receipt signature does not verify' };
      },
    },
    now,
  });
  const paywall = paymentPaywall<null>({
    wallet,
    rootKey: '34'.repeat(32),
    location: 'plans-card-test',
    capability: 'call',
    priceMsat: () => 10_000_000n,
    description: () => 'one call',
    plans: desk,
    now,
    mpp: {
      realm: 'plans-card-test',
      secret: '56'.repeat(32),
      methods: [
        cardMethod<null>({
          client: new CardServiceClient({ url: CARD_SERVICE, apiKey: 'unused' }),
          accountId: ACCOUNT,
          receiptKey: receiptKeyFromHex('ab'.repeat(32), 'k1'),
          amountMinor: () => CALL_CENTS,
        }),
      ],
    },
  });
  const guarded = desk.guard(paywall);
  const subscribe = subscribeEndpoint(desk);
  server = createServer((req, res) => {
    const run =
      req.url === '/plans/subscribe'
        ? subscribe(req, res)
        : guarded(req, res, null, (_req, res, _body, paid) =>
            sendJson(res, 200, {
              kind: paid?.kind ?? null,
              ...(paid?.kind === 'plan' ? { plan: paid.plan } : {}),
            }),
          );
    run.catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await lightning?.close();
});

/** A string is an Authorization value; an object, the headers as they are. */
const call = (auth?: string | Record<string, string>) => fetch(`${base}/call`, { headers: headersOf(auth) });
/** The subscriber credential as the extension sends it. */
const subscriberAuth = (credential: string) => ({ 'paybound-subscriber': credential });

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

async function cardChallenge(): Promise<PaymentChallengeParams> {
  const res = await subscribeRequest({ plan: 'pro', rail: 'card' });
  expect(res.status).toBe(402);
  await res.arrayBuffer();
  return paymentChallenges(res.headers.get('www-authenticate'))[0]!;
}

async function subscribe(): Promise<{ subscriber: string; subscription: string; periodEnd: number }> {
  const challenge = await cardChallenge();
  const { subscription, receipt } = cards.create(challenge.id, Math.floor(now() / 1000));
  const res = await subscribeRequest(
    { plan: 'pro', rail: 'card' },
    paymentCredential(challenge, { subscription, receipt }),
  );
  const json = await jsonOf(res);
  expect(res.status, JSON.stringify(json)).toBe(200);
  return { subscriber: String(json.subscriber), subscription, periodEnd: Number(json.periodEnd) };
}

describe('the card plan', () => {
  it('is offered on the card challenge in cents, and not on the L402 one', async () => {
    const res = await call();
    expect(res.status).toBe(402);
    await res.arrayBuffer();
    const challenges = challengeList(res.headers.get('www-authenticate'));
    expect(challenges.map((c) => c.scheme)).toEqual(['L402', 'LSAT', 'Payment']);
    expect(challenges[0]!.params.paybound).toBeUndefined();
    expect(decodePaybound(challenges[2]!.params.paybound)).toEqual({
      v: 1,
      plans: [
        {
          id: 'pro',
          name: 'Pro',
          price: '2000',
          interval: 'month',
          intervalCount: 1,
          includes: { calls: 2 },
          overage: { price: '50', cap: '100' },
          subscribe: `${base}/plans/subscribe`,
        },
      ],
    });
  });

  it('is read by the extension as a card plan in cents', async () => {
    const res = await call();
    await res.arrayBuffer();
    const card = parseWwwAuthenticate(res.headers.get('www-authenticate')!).find(
      (c) => c.params.get('method') === 'card',
    )!;
    const [offer] = readPlanOffers(
      card.params.get('paybound')!,
      CALL_CENTS,
      { unit: 'minor', currency: 'usd' },
      `${base}/call`,
      base,
      'card',
    );
    expect(offer).toMatchObject({
      id: 'pro',
      rail: 'card',
      price: 2000n,
      overage: { price: 50n, cap: 100n },
    });
  });

  it('subscribes with the card service’s subscription and receipt; the period is the card service’s', async () => {
    const challenge = await cardChallenge();
    expect(challenge).toMatchObject({ method: 'card', intent: 'subscription' });
    expect(decodeRequest(challenge.request)).toEqual({
      amount: '2000',
      currency: 'usd',
      interval: 'month',
      intervalCount: 1,
      description: 'Pro, one month',
      recipient: ACCOUNT,
      methodDetails: { cardService: CARD_SERVICE },
    });
    const start = Math.floor(now() / 1000);
    const { subscription, receipt } = cards.create(challenge.id, start);
    const credential = paymentCredential(challenge, { subscription, receipt });
    const res = await subscribeRequest({ plan: 'pro', rail: 'card' }, credential);
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toMatchObject({ plan: 'pro', periodStart: start, periodEnd: start + MONTH });
    expect(expectations.at(-1)).toEqual({
      challengeId: challenge.id,
      subscription,
      amount: '2000',
      currency: 'usd',
      destination: ACCOUNT,
      interval: 'month',
      intervalCount: 1,
    });

    const replay = await subscribeRequest({ plan: 'pro', rail: 'card' }, credential);
    expect(replay.status).toBe(402);
    expect(await jsonOf(replay)).toMatchObject({
      code: 'invalid-challenge',
      error: 'this challenge was already used',
    });
  });

  it('refuses a receipt that does not verify, a payload without a subscription, and one subscription twice', async () => {
    const first = await cardChallenge();
    const made = cards.create(first.id, Math.floor(now() / 1000));
    const forged = await subscribeRequest(
      { plan: 'pro', rail: 'card' },
      paymentCredential(first, { subscription: made.subscription, receipt: 'receipt.other.sub_x' }),
    );
    expect(forged.status).toBe(402);
    expect(await jsonOf(forged)).toMatchObject({ code: 'verification-failed' });
    const empty = await subscribeRequest(
      { plan: 'pro', rail: 'card' },
      paymentCredential(first, { receipt: made.receipt }),
    );
    expect(empty.status).toBe(402);
    expect(await jsonOf(empty)).toMatchObject({ code: 'invalid-payload' });
    expect(
      (await subscribeRequest({ plan: 'pro', rail: 'card' }, paymentCredential(first, made))).status,
    ).toBe(200);

    // The card service would not sign a second receipt for it; a desk that got one still binds one credential.
    const second = await cardChallenge();
    const twice = await subscribeRequest(
      { plan: 'pro', rail: 'card' },
      paymentCredential(second, {
        subscription: made.subscription,
        receipt: `receipt.${second.id}.${made.subscription}`,
      }),
    );
    expect(twice.status).toBe(409);
    expect(await jsonOf(twice)).toMatchObject({ error: { code: 'already_subscribed' } });
  });

  it('serves the included calls, reports each call beyond as a meter event, and charges per use at the cap', async () => {
    const { subscriber, subscription } = await subscribe();
    for (let used = 1; used <= 2; used++) {
      const res = await call(subscriberAuth(subscriber));
      expect(res.status).toBe(200);
      expect(usageOf(res)).toMatchObject({ plan: 'pro', used, included: 2, overage: 0 });
    }
    expect(cards.usages.filter((u) => u.id === subscription)).toEqual([]);
    for (let overage = 1; overage <= 2; overage++) {
      const res = await call(subscriberAuth(subscriber));
      expect(res.status).toBe(200);
      expect(usageOf(res)).toMatchObject({ used: 2, overage, 'overage-amount': 50 * overage });
      expect(await jsonOf(res)).toMatchObject({
        kind: 'plan',
        plan: { overage: { amount: '50', unit: 'usd', method: 'card' } },
      });
    }
    const reported = cards.usages.filter((u) => u.id === subscription);
    expect(reported.map((u) => u.quantity)).toEqual([1, 1]);
    expect(new Set(reported.map((u) => u.identifier)).size).toBe(2);

    const capped = await call(subscriberAuth(subscriber));
    expect(capped.status).toBe(402);
    const card = paymentChallenges(capped.headers.get('www-authenticate')).find((c) => c.method === 'card')!;
    expect(card.intent).toBe('charge');
    expect(decodeRequest(card.request)).toMatchObject({ amount: String(CALL_CENTS), currency: 'usd' });
    expect(usageOf(capped)).toMatchObject({ overage: 2, 'overage-amount': 100 });
  });

  it('answers 503 when the card service cannot take the report, and counts nothing', async () => {
    const { subscriber } = await subscribe();
    for (let i = 0; i < 2; i++) expect((await call(subscriberAuth(subscriber))).status).toBe(200);
    cards.unreachable = true;
    try {
      const res = await call(subscriberAuth(subscriber));
      expect(res.status).toBe(503);
    } finally {
      cards.unreachable = false;
    }
    const state = await jsonOf(await subscribeRequest(undefined, subscriberAuth(subscriber), 'GET'));
    expect(state).toMatchObject({ used: 2, overageCalls: 0, overageAmount: '0' });
  });

  it('follows the period the card service moved, and renews nothing itself', async () => {
    const { subscriber, subscription, periodEnd } = await subscribe();
    for (let i = 0; i < 2; i++) expect((await call(subscriberAuth(subscriber))).status).toBe(200);
    const renew = await subscribeRequest({ plan: 'pro', rail: 'card', subscriber });
    expect(renew.status).toBe(409);
    expect(await jsonOf(renew)).toMatchObject({ error: { code: 'renews_at_card_service' } });

    offsetMs += (periodEnd - Math.floor(now() / 1000) + 1) * 1000;
    // Not renewed at the card service yet: the period is over, so the call is charged per use.
    const lapsed = await call(subscriberAuth(subscriber));
    expect(lapsed.status).toBe(402);
    await lapsed.arrayBuffer();
    cards.renew(subscription);
    const served = await call(subscriberAuth(subscriber));
    expect(served.status).toBe(200);
    expect(usageOf(served)).toMatchObject({ used: 1, overage: 0, 'period-end': periodEnd + MONTH });
  });

  it('cancels at the card service at period end; after it the credential pays per use', async () => {
    const { subscriber, subscription, periodEnd } = await subscribe();
    const canceled = await subscribeRequest(undefined, subscriberAuth(subscriber), 'DELETE');
    expect(canceled.status).toBe(200);
    expect(await jsonOf(canceled)).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    expect(cards.canceled).toContain(subscription);
    expect((await call(subscriberAuth(subscriber))).status).toBe(200);

    offsetMs += (periodEnd - Math.floor(now() / 1000) + 1) * 1000;
    cards.subscriptions.get(subscription)!.status = 'canceled';
    const after = await call(subscriberAuth(subscriber));
    expect(after.status).toBe(402);
    expect(usageOf(after)).toBeNull();
    const state = await jsonOf(await subscribeRequest(undefined, subscriberAuth(subscriber), 'GET'));
    expect(state).toMatchObject({ status: 'canceled' });
  });
});

describe('cardPlanClient', () => {
  it('speaks the card service’s merchant subscription API with the app key', async () => {
    const seen: { method: string; url: string; auth: string; body: string }[] = [];
    const service = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization ?? '', body });
        const subscription = {
          id: 'sub_9',
          status: 'active',
          currentPeriodStart: 100,
          currentPeriodEnd: 200,
          cancelAtPeriodEnd: req.url!.endsWith('/cancel'),
        };
        if (req.url!.endsWith('/usage') && JSON.parse(body).quantity > 1) {
          res.writeHead(409, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ error: { code: 'overage_cap_reached', message: 'cap reached' } }));
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        // The card service's shapes (server/card/README.md, "Plans").
        res.end(
          JSON.stringify(
            req.url!.endsWith('/usage')
              ? {
                  usage: { identifier: JSON.parse(body).identifier, quantity: 1, duplicate: false },
                  subscription,
                }
              : { subscription },
          ),
        );
      });
    });
    await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
      const client = cardPlanClient(new CardServiceClient({ url, apiKey: 'sk_app' }));
      expect(client.url).toBe(url);
      expect(await client.subscription('sub_9')).toEqual({
        id: 'sub_9',
        status: 'active',
        currentPeriodStart: 100,
        currentPeriodEnd: 200,
        cancelAtPeriodEnd: false,
      });
      await client.usage('sub_9', 1, 'psub_1.abc');
      await expect(client.usage('sub_9', 2, 'psub_1.def')).rejects.toMatchObject({
        code: 'overage_cap_reached',
        status: 409,
      });
      expect(await client.cancel('sub_9')).toMatchObject({ cancelAtPeriodEnd: true });
      expect(seen.map((r) => [r.method, r.url])).toEqual([
        ['GET', '/api/merchant/subscriptions/sub_9'],
        ['POST', '/api/merchant/subscriptions/sub_9/usage'],
        ['POST', '/api/merchant/subscriptions/sub_9/usage'],
        ['POST', '/api/merchant/subscriptions/sub_9/cancel'],
      ]);
      expect(seen.every((r) => r.auth === 'Bearer sk_app')).toBe(true);
      expect(JSON.parse(seen[1]!.body)).toEqual({ quantity: 1, identifier: 'psub_1.abc' });
    } finally {
      await new Promise<void>((r) => service.close(() => r()));
    }
  });
});
