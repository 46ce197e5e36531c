// Reporting the actual amount without capturing it (routes with a review window), over real HTTP,
// against the Stripe stand-in through the official SDK. (Migrations: test/unit/sql/.)
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_API_VERSION } from '../../../server/card/stripe';
import { CardServiceClient } from '../../../server/merchant/kit/card';
import { api, type CardStack, challengeId, linkCard, startCardStack } from './helpers';

let stack: CardStack;
let stripe: Stripe;
let token: string;

beforeAll(async () => {
  stack = await startCardStack();
  stripe = new Stripe(stack.stripe.secretKey, {
    host: stack.stripe.host,
    port: stack.stripe.port,
    protocol: 'http',
    apiVersion: STRIPE_API_VERSION,
  });
  token = await linkCard(stack);
});

afterAll(async () => {
  await stack?.close();
});

async function authorize(amount: number): Promise<{ id: string; challengeId: string }> {
  const cid = challengeId();
  const res = await api(stack.card.url, token, 'POST', '/api/payments', {
    challengeId: cid,
    amount,
    currency: 'usd',
    destination: stack.merchant.accountId,
    description: 'Quill: a draft (estimated)',
  });
  expect(res.status).toBe(201);
  expect(res.json.payment).toMatchObject({ amountReported: null, overReported: null });
  return { id: (res.json.payment as { id: string }).id, challengeId: cid };
}

function merchant(path: string, body: unknown, key = stack.merchant.apiKey) {
  return fetch(`${stack.card.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, json: (await res.json()) as Record<string, unknown> }));
}

describe('POST /api/merchant/report', () => {
  it('records the actual without capturing; the same amount again is a no-op, another replaces it', async () => {
    const { id, challengeId: cid } = await authorize(500);
    const first = await merchant('/api/merchant/report', { challengeId: cid, amount: 320 });
    expect(first).toMatchObject({
      status: 200,
      json: {
        payment: { id, status: 'requires_capture', amount: 500, amountReported: 320, amountCaptured: 0 },
      },
    });
    expect((await stripe.paymentIntents.retrieve(id)).status).toBe('requires_capture');
    expect((await merchant('/api/merchant/report', { challengeId: cid, amount: '320' })).json).toEqual(
      first.json,
    );
    const replaced = await merchant('/api/merchant/report', { paymentIntent: id, amount: 280 });
    expect(replaced.json.payment).toMatchObject({ amountReported: 280, status: 'requires_capture' });

    // The device and the app see the same numbers.
    const device = await api(stack.card.url, token, 'GET', `/api/payments/${id}`);
    expect(device.json.payment).toMatchObject({ amountReported: 280, overReported: null });
    const app = await fetch(`${stack.card.url}/api/merchant/payments/${cid}`, {
      headers: { authorization: `Bearer ${stack.merchant.apiKey}` },
    });
    expect(await app.json()).toMatchObject({ payment: { amountReported: 280 } });
  });

  it('refuses an amount above the authorization, and keeps the attempt on the payment', async () => {
    const { id, challengeId: cid } = await authorize(400);
    await merchant('/api/merchant/report', { challengeId: cid, amount: 300 });
    const over = await merchant('/api/merchant/report', { challengeId: cid, amount: 500 });
    expect(over).toMatchObject({
      status: 422,
      json: { error: { code: 'amount_exceeds_authorized', authorized: 400 } },
    });
    const device = await api(stack.card.url, token, 'GET', `/api/payments/${id}`);
    expect(device.json.payment).toMatchObject({
      amountReported: 300,
      overReported: 500,
      status: 'requires_capture',
    });
    // The kit's client says the same.
    const client = new CardServiceClient({ url: stack.card.url, apiKey: stack.merchant.apiKey });
    await expect(client.report(cid, 401n)).rejects.toMatchObject({
      code: 'amount_exceeds_authorized',
      status: 422,
    });
    expect((await client.report(cid, 250n)).payment).toMatchObject({
      amountReported: 250,
      overReported: 401,
    });
  });

  it('is refused without an amount, for a payment of another app, with a wrong key, or once settled', async () => {
    const { id, challengeId: cid } = await authorize(300);
    expect(await merchant('/api/merchant/report', { challengeId: cid })).toMatchObject({
      status: 400,
      json: { error: { code: 'invalid_amount' } },
    });
    expect((await merchant('/api/merchant/report', { challengeId: cid, amount: 0 })).status).toBe(400);
    const other = await stack.card.createMerchant({ name: 'Another app' });
    expect(
      (await merchant('/api/merchant/report', { challengeId: cid, amount: 100 }, other.apiKey)).status,
    ).toBe(404);
    expect(
      (
        await merchant(
          '/api/merchant/report',
          { challengeId: cid, amount: 100 },
          'pbm_wrong-key-wrong-key-wrong',
        )
      ).status,
    ).toBe(401);

    await merchant('/api/merchant/report', { challengeId: cid, amount: 200 });
    await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, {});
    // Once captured: the same report answers the same, another one is refused.
    expect((await merchant('/api/merchant/report', { challengeId: cid, amount: 200 })).status).toBe(200);
    expect(await merchant('/api/merchant/report', { challengeId: cid, amount: 150 })).toMatchObject({
      status: 409,
      json: { error: { code: 'already_captured' } },
    });
  });
});

describe('capturing after a report', () => {
  it('captures the reported amount when the wallet sends no amount', async () => {
    const { id, challengeId: cid } = await authorize(600);
    await merchant('/api/merchant/report', { challengeId: cid, amount: 410 });
    const captured = await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, {});
    expect(captured).toMatchObject({
      status: 200,
      json: { payment: { status: 'succeeded', amountCaptured: 410, amountReported: 410 } },
    });
    expect((await stripe.paymentIntents.retrieve(id)).amount_received).toBe(410);
  });

  it('still captures what the wallet asks (≤ authorized), and everything when nothing was reported', async () => {
    const reported = await authorize(600);
    await merchant('/api/merchant/report', { challengeId: reported.challengeId, amount: 410 });
    const part = await api(stack.card.url, token, 'POST', `/api/payments/${reported.id}/capture`, {
      amount: 360,
    });
    expect(part.json.payment).toMatchObject({ amountCaptured: 360 });

    const plain = await authorize(350);
    const all = await api(stack.card.url, token, 'POST', `/api/payments/${plain.id}/capture`, {});
    expect(all.json.payment).toMatchObject({ amountCaptured: 350, amountReported: null });
  });
});
