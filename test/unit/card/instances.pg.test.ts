// Several card-service instances on one PostgreSQL database (unit-pg only): any instance answers
// any request, one challenge is one PaymentIntent whichever instances its requests reach, a capture
// racing a cancel has one winner, and the database going away answers 503 and loses nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../harness/database';
import { api, challengeId, claimLink, linkUrl, newLink, SimBrowser } from './helpers';
import { type InstancePair, startInstancePair } from './instances-stack';

let pair: InstancePair;
let token: string;

beforeAll(async () => {
  const url = await freshDatabaseUrl();
  if (!url) throw new Error('instances.pg.test.ts runs in the unit-pg project (a PostgreSQL server)');
  pair = await startInstancePair(url);
});

afterAll(async () => {
  await pair?.close();
});

const at = (target: 'a' | 'b') => {
  pair.lb.target = target;
  return pair.lb.url;
};

function authorize(target: 'a' | 'b', cid = challengeId(), amount = 400) {
  return api(at(target), token, 'POST', '/api/payments', {
    challengeId: cid,
    amount,
    currency: 'usd',
    destination: pair.merchant.accountId,
  });
}

function intentsFor(cid: string) {
  return [...pair.stripe.state.paymentIntents.values()].filter(
    (pi) => (pi.metadata as Record<string, string>).paybound_challenge_id === cid,
  );
}

describe('two instances on one database', () => {
  it('a link started on one instance is completed and claimed on the other', async () => {
    const browser = new SimBrowser();
    const link = newLink();
    const opened = await browser.navigate(linkUrl(at('a'), link));
    expect(opened.url.startsWith(pair.stripe.url)).toBe(true);
    await opened.res.arrayBuffer();
    // Stripe sends the browser (and its webhook) back to the service: instance b answers.
    at('b');
    const done = await browser.submitCard(opened.url, '4242 4242 4242 4242');
    expect(done.res.status).toBe(200);
    expect(await done.res.text()).toContain('id="linked"');
    await pair.stripe.webhooksIdle();
    at('a');
    const claimed = await claimLink(pair.lb.url, link);
    expect(claimed.status).toBe(200);
    token = ((await claimed.json()) as { deviceToken: string }).deviceToken;
    // The device token works on both.
    expect((await api(at('b'), token, 'GET', '/api/device')).status).toBe(200);
    // A second claim, at the other instance, is refused: the claim is in the database.
    expect((await claimLink(at('b'), link)).status).toBe(410);
  });

  it('the same authorization sent to both at once is one PaymentIntent, and both answer with it', async () => {
    const cid = challengeId();
    const body = {
      challengeId: cid,
      amount: 400,
      currency: 'usd',
      destination: pair.merchant.accountId,
    };
    const send = (url: string) => api(url, token, 'POST', '/api/payments', body);
    const [one, two] = await Promise.all([send(pair.a.url), send(pair.b.url)]);
    expect([one.status, two.status].sort()).toEqual([200, 201]);
    const ids = [one, two].map((r) => (r.json.payment as { id: string }).id);
    expect(ids[0]).toBe(ids[1]);
    expect(intentsFor(cid)).toHaveLength(1);
  });

  it('the same subscription challenge sent to both at once is one subscription, and usage counts once', async () => {
    const cid = challengeId();
    const body = {
      challengeId: cid,
      destination: pair.merchant.accountId,
      amount: 1500,
      currency: 'usd',
      interval: 'month',
      intervalCount: 1,
      plan: { id: 'quill-pro', name: 'Quill Pro' },
      overage: { unitAmount: 10, capAmount: 50 },
    };
    const send = (url: string) => api(url, token, 'POST', '/api/subscriptions', body);
    const [one, two] = await Promise.all([send(pair.a.url), send(pair.b.url)]);
    expect([one.status, two.status]).toEqual([200, 200]);
    const id = (one.json.subscription as { id: string }).id;
    expect((two.json.subscription as { id: string }).id).toBe(id);
    const atStripe = [...pair.stripe.state.billing.subscriptions.values()].filter(
      (s) => s.metadata.paybound_challenge_id === cid,
    );
    expect(atStripe).toHaveLength(1);
    // The cap holds across instances: 3 + 3 calls at 10 would pass 50, so one of the two is refused.
    const report = (url: string, identifier: string) =>
      api(url, pair.merchant.apiKey, 'POST', `/api/merchant/subscriptions/${id}/usage`, {
        quantity: 3,
        identifier,
      });
    const reports = await Promise.all([report(pair.a.url, 'a-1'), report(pair.b.url, 'b-1')]);
    expect(reports.map((r) => r.status).sort()).toEqual([200, 409]);
    const seen = await api(pair.b.url, pair.merchant.apiKey, 'GET', `/api/merchant/subscriptions/${id}`);
    expect(seen.json.subscription).toMatchObject({ overageCalls: 3, overageAmount: 30 });
  });

  it('a capture racing a cancel on the other instance: exactly one wins, and Stripe agrees', async () => {
    for (let round = 0; round < 3; round++) {
      const paid = await authorize('a');
      const id = (paid.json.payment as { id: string }).id;
      const [capture, cancel] = await Promise.all([
        api(pair.a.url, token, 'POST', `/api/payments/${id}/capture`, {}),
        api(pair.b.url, token, 'POST', `/api/payments/${id}/cancel`, {}),
      ]);
      const statuses = [capture.status, cancel.status].sort();
      expect(statuses).toEqual([200, 409]);
      const winner = capture.status === 200 ? 'succeeded' : 'canceled';
      const loser = capture.status === 200 ? cancel : capture;
      expect((loser.json.error as { code: string }).code).toBe(
        winner === 'succeeded' ? 'already_captured' : 'already_canceled',
      );
      expect(pair.stripe.state.paymentIntents.get(id)?.status).toBe(winner);
      for (const target of ['a', 'b'] as const) {
        const seen = await api(at(target), token, 'GET', `/api/payments/${id}`);
        expect(seen.json.payment).toMatchObject({ status: winner });
      }
    }
  });

  it('a refund retried at the other instance with its Idempotency-Key is the same refund', async () => {
    const paid = await authorize('a', challengeId(), 500);
    const id = (paid.json.payment as { id: string }).id;
    await api(pair.a.url, token, 'POST', `/api/payments/${id}/capture`, {});
    const refund = (url: string) =>
      api(
        url,
        pair.merchant.apiKey,
        'POST',
        '/api/merchant/refund',
        { paymentIntent: id, amount: 300 },
        { 'idempotency-key': 'refund-across-0001' },
      );
    const [one, two] = await Promise.all([refund(pair.a.url), refund(pair.b.url)]);
    expect(one).toEqual(two);
    expect(one.json.payment).toMatchObject({ amountRefunded: 300 });
    const atStripe = [...pair.stripe.state.refunds.values()].filter((r) => r.payment_intent === id);
    expect(atStripe).toHaveLength(1);
  });

  it('the database going away mid-request answers 503 with Retry-After; the retry finds the same payment, and nothing answered before is lost', async () => {
    const before = await authorize('a');
    expect(before.status).toBe(201);
    const cid = challengeId();
    // The authorization is at Stripe when the database goes away.
    pair.stripeGate.hold = (req) => req.method === 'POST' && req.url === '/v1/payment_intents';
    const pending = authorize('b', cid);
    await pair.stripeGate.held();
    pair.db.cut();
    pair.stripeGate.release();
    const failed = await pending;
    expect(failed.status).toBe(503);
    expect(failed.json.error).toMatchObject({ code: 'database_unavailable' });
    // Every request answers so while it is gone, on both instances.
    const down = await fetch(`${at('a')}/api/payments`, { headers: { authorization: `Bearer ${token}` } });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('2');
    pair.db.restore();
    // The wallet retries with the same challenge: the PaymentIntent Stripe made is the one kept.
    const retried = await authorize('a', cid);
    expect(retried.status).toBe(201);
    expect(intentsFor(cid)).toHaveLength(1);
    expect((retried.json.payment as { id: string }).id).toBe(intentsFor(cid)[0]?.id);
    const earlier = await api(
      at('b'),
      token,
      'GET',
      `/api/payments/${(before.json.payment as { id: string }).id}`,
    );
    expect(earlier.json.payment).toMatchObject({ status: 'requires_capture', amount: 400 });
  });
});
