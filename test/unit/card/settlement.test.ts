// Who may settle a card payment (issue item 2), over real HTTP against the Stripe stand-in through
// the official SDK: the review terms travel with the authorization, the app accepts the receipt with
// its route's window, and neither side alone can undo what the other relied on.
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_API_VERSION } from '../../../server/card/stripe';
import { api, challengeId, linkCard } from './helpers';
import { type ClockedStack, startClockedStack } from './settlement-stack';

let stack: ClockedStack;
let stripe: Stripe;
let token: string;

beforeAll(async () => {
  stack = await startClockedStack({ settleGraceSeconds: 600 });
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

async function authorize(amount: number, extra: Record<string, unknown> = {}, device = token) {
  const cid = challengeId();
  const res = await api(stack.card.url, device, 'POST', '/api/payments', {
    challengeId: cid,
    amount,
    currency: 'usd',
    destination: stack.merchant.accountId,
    description: 'settlement test',
    ...extra,
  });
  expect(res.status).toBe(201);
  return { id: (res.json.payment as { id: string }).id, challengeId: cid };
}

const app = (path: string, body: unknown, key = stack.merchant.apiKey) =>
  api(stack.card.url, key, 'POST', path, body);
const payer = (id: string, action: 'capture' | 'cancel' | 'refund', body: unknown = {}) =>
  api(stack.card.url, token, 'POST', `/api/payments/${id}/${action}`, body);

describe('a route without a review window', () => {
  it('(2a) the payer cannot release a hold once the app accepted its receipt; the app captures', async () => {
    const p = await authorize(300);
    const accepted = await app('/api/merchant/accept', {
      challengeId: p.challengeId,
      reviewWindowSeconds: null,
    });
    expect(accepted).toMatchObject({
      status: 200,
      json: { payment: { status: 'requires_capture', reviewWindowSeconds: 0, reviewEndsAt: null } },
    });
    expect(await payer(p.id, 'cancel')).toMatchObject({
      status: 409,
      json: { error: { code: 'app_settles' } },
    });
    expect(await payer(p.id, 'capture', { amount: 1 })).toMatchObject({
      status: 409,
      json: { error: { code: 'app_settles' } },
    });
    expect((await stripe.paymentIntents.retrieve(p.id)).status).toBe('requires_capture');
    const captured = await app('/api/merchant/capture', { challengeId: p.challengeId, amount: 250 });
    expect(captured.json.payment).toMatchObject({ status: 'succeeded', amountCaptured: 250 });
  });

  it('(2a) a receipt whose hold the payer released is refused when the app accepts it', async () => {
    const p = await authorize(300);
    expect((await payer(p.id, 'cancel')).status).toBe(200);
    expect(
      await app('/api/merchant/accept', { challengeId: p.challengeId, reviewWindowSeconds: null }),
    ).toMatchObject({ status: 409, json: { error: { code: 'already_canceled' } } });
  });

  it('(2a) an app cannot accept a receipt while the payer is cancelling its hold', async () => {
    const slow = await startClockedStack(
      {},
      {},
      (method, path) => method === 'POST' && path.endsWith('/cancel'),
    );
    try {
      const device = await linkCard(slow);
      const cid = challengeId();
      const paid = await api(slow.card.url, device, 'POST', '/api/payments', {
        challengeId: cid,
        amount: 300,
        currency: 'usd',
        destination: slow.merchant.accountId,
      });
      const id = (paid.json.payment as { id: string }).id;
      const cancelling = api(slow.card.url, device, 'POST', `/api/payments/${id}/cancel`);
      // The card service is cancelling at Stripe (the request is held there) when the app accepts.
      await slow.stripeHeld;
      const accept = await api(slow.card.url, slow.merchant.apiKey, 'POST', '/api/merchant/accept', {
        challengeId: cid,
        reviewWindowSeconds: null,
      });
      expect(accept).toMatchObject({ status: 409, json: { error: { code: 'payer_settling' } } });
      slow.openStripe();
      expect((await cancelling).json.payment).toMatchObject({ status: 'canceled' });
    } finally {
      await slow.close();
    }
  });

  it('lets the payer release a hold the app never settled, after the grace period', async () => {
    const p = await authorize(300);
    await app('/api/merchant/accept', { challengeId: p.challengeId, reviewWindowSeconds: 0 });
    stack.advance(601);
    expect(await payer(p.id, 'cancel')).toMatchObject({
      status: 200,
      json: { payment: { status: 'canceled' } },
    });
  });

  it('(2b) the payer cannot refund a captured payment alone; the app can', async () => {
    const p = await authorize(400);
    await app('/api/merchant/accept', { challengeId: p.challengeId, reviewWindowSeconds: null });
    await app('/api/merchant/capture', { challengeId: p.challengeId, amount: 400 });
    expect(await payer(p.id, 'refund', {})).toMatchObject({
      status: 403,
      json: { error: { code: 'refund_needs_app' } },
    });
    const pi = await stripe.paymentIntents.retrieve(p.id);
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge.amount_refunded).toBe(0);
    const refunded = await app('/api/merchant/refund', { challengeId: p.challengeId, amount: 100 });
    expect(refunded).toMatchObject({ status: 200, json: { payment: { amountRefunded: 100 } } });
    // Another app cannot refund it.
    const other = await stack.card.createMerchant({ name: 'Other app' });
    expect((await app('/api/merchant/refund', { challengeId: p.challengeId }, other.apiKey)).status).toBe(
      404,
    );
  });

  it("(2b) under the app's refund policy the payer may refund alone, until the policy's end", async () => {
    const generous = await startClockedStack({}, { payerRefundSeconds: 3600 });
    try {
      const device = await linkCard(generous);
      const pay = async () => {
        const cid = challengeId();
        const res = await api(generous.card.url, device, 'POST', '/api/payments', {
          challengeId: cid,
          amount: 300,
          currency: 'usd',
          destination: generous.merchant.accountId,
        });
        const id = (res.json.payment as { id: string }).id;
        await api(generous.card.url, generous.merchant.apiKey, 'POST', '/api/merchant/capture', {
          challengeId: cid,
          amount: 300,
        });
        return id;
      };
      const first = await pay();
      const ok = await api(generous.card.url, device, 'POST', `/api/payments/${first}/refund`, {
        amount: 50,
      });
      expect(ok).toMatchObject({ status: 200, json: { payment: { amountRefunded: 50 } } });
      const second = await pay();
      generous.advance(3601);
      const late = await api(generous.card.url, device, 'POST', `/api/payments/${second}/refund`, {});
      expect(late).toMatchObject({ status: 403, json: { error: { code: 'refund_needs_app' } } });
    } finally {
      await generous.close();
    }
  });
});

describe('a route with a review window', () => {
  it('(2b, other way) the app cannot capture during the window, nor more than it reported after it', async () => {
    const p = await authorize(500);
    await app('/api/merchant/accept', { challengeId: p.challengeId, reviewWindowSeconds: 300 });
    expect(await app('/api/merchant/capture', { challengeId: p.challengeId, amount: 500 })).toMatchObject({
      status: 409,
      json: { error: { code: 'review_window_open' } },
    });
    expect((await stripe.paymentIntents.retrieve(p.id)).status).toBe('requires_capture');
    await app('/api/merchant/report', { challengeId: p.challengeId, amount: 320 });
    stack.advance(301);
    expect(await app('/api/merchant/capture', { challengeId: p.challengeId, amount: 500 })).toMatchObject({
      status: 422,
      json: { error: { code: 'amount_exceeds_reported', reported: 320 } },
    });
    const ok = await app('/api/merchant/capture', { challengeId: p.challengeId, amount: 320 });
    expect(ok.json.payment).toMatchObject({ status: 'succeeded', amountCaptured: 320 });
  });

  it('inside the window the payer may cancel, capture part, or refund; after it, none of these alone', async () => {
    const cancelled = await authorize(400);
    await app('/api/merchant/accept', { challengeId: cancelled.challengeId, reviewWindowSeconds: 120 });
    expect((await payer(cancelled.id, 'cancel')).status).toBe(200);

    const part = await authorize(400);
    await app('/api/merchant/accept', { challengeId: part.challengeId, reviewWindowSeconds: 120 });
    await app('/api/merchant/report', { challengeId: part.challengeId, amount: 300 });
    const kept = await payer(part.id, 'capture', { amount: 200 });
    expect(kept.json.payment).toMatchObject({ status: 'succeeded', amountCaptured: 200 });
    expect((await payer(part.id, 'refund', { amount: 20 })).status).toBe(200);

    const late = await authorize(400);
    await app('/api/merchant/accept', { challengeId: late.challengeId, reviewWindowSeconds: 120 });
    await app('/api/merchant/report', { challengeId: late.challengeId, amount: 300 });
    stack.advance(121);
    expect(await payer(late.id, 'cancel')).toMatchObject({
      status: 409,
      json: { error: { code: 'review_window_closed' } },
    });
    expect(await payer(late.id, 'capture', { amount: 100 })).toMatchObject({
      status: 409,
      json: { error: { code: 'review_window_closed' } },
    });
    // The window's end: the reported amount is captured (the wallet's default).
    const ended = await payer(late.id, 'capture', {});
    expect(ended.json.payment).toMatchObject({ status: 'succeeded', amountCaptured: 300 });
    expect(await payer(late.id, 'refund', {})).toMatchObject({
      status: 403,
      json: { error: { code: 'refund_needs_app' } },
    });
    // The refund of the earlier one, after its window, too.
    expect((await payer(part.id, 'refund', { amount: 20 })).status).toBe(403);
  });

  it('the terms travel with the authorization: the app must accept the window the payer was offered', async () => {
    const p = await authorize(300, { reviewWindowSeconds: 600 });
    expect(
      await app('/api/merchant/accept', { challengeId: p.challengeId, reviewWindowSeconds: null }),
    ).toMatchObject({ status: 409, json: { error: { code: 'terms_mismatch', payerWindow: 600 } } });
    // Not accepted: the payer's window holds for the app from the authorization on.
    expect(await app('/api/merchant/capture', { challengeId: p.challengeId, amount: 300 })).toMatchObject({
      status: 409,
      json: { error: { code: 'review_window_open' } },
    });
    const ok = await app('/api/merchant/accept', { challengeId: p.challengeId, reviewWindowSeconds: 600 });
    expect(ok.json.payment).toMatchObject({ reviewWindowSeconds: 600 });
    expect(typeof (ok.json.payment as { reviewEndsAt: unknown }).reviewEndsAt).toBe('string');
    // Accepting again with the same terms answers the same; with others it is refused.
    expect(
      (await app('/api/merchant/accept', { challengeId: p.challengeId, reviewWindowSeconds: 600 })).status,
    ).toBe(200);
    expect(
      (await app('/api/merchant/accept', { challengeId: p.challengeId, reviewWindowSeconds: 5 })).json,
    ).toMatchObject({ error: { code: 'terms_mismatch' } });
    const bad = await api(stack.card.url, token, 'POST', '/api/payments', {
      challengeId: challengeId(),
      amount: 300,
      currency: 'usd',
      destination: stack.merchant.accountId,
      reviewWindowSeconds: -1,
    });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 'invalid_review_window' } } });
  });
});

describe('per-device limits', () => {
  it('refuses a charge above the per-charge or per-day limit; a raise waits a day', async () => {
    const device = await linkCard(stack);
    const limits = (body: unknown) => api(stack.card.url, device, 'POST', '/api/device/limits', body);
    expect(await limits({ perChargeMinor: 300, perDayMinor: 500 })).toMatchObject({
      status: 200,
      json: { limits: { perChargeMinor: 300, perDayMinor: 500, pending: null } },
    });
    const pay = (amount: number) =>
      api(stack.card.url, device, 'POST', '/api/payments', {
        challengeId: challengeId(),
        amount,
        currency: 'usd',
        destination: stack.merchant.accountId,
      });
    expect(await pay(301)).toMatchObject({ status: 422, json: { error: { code: 'above_device_limit' } } });
    expect((await pay(300)).status).toBe(201);
    expect(await pay(250)).toMatchObject({
      status: 422,
      json: { error: { code: 'above_device_limit', spent: 300 } },
    });
    expect((await pay(200)).status).toBe(201);

    // Raising (or removing) applies only later, so a stolen token cannot simply lift the limits.
    const raised = await limits({ perChargeMinor: 1000, perDayMinor: null });
    expect(raised.json.limits).toMatchObject({
      perChargeMinor: 300,
      perDayMinor: 500,
      pending: { perChargeMinor: 1000, perDayMinor: null },
    });
    expect((await pay(400)).status).toBe(422);
    stack.advance(86_401);
    expect((await api(stack.card.url, device, 'GET', '/api/device')).json.limits).toMatchObject({
      perChargeMinor: 1000,
      perDayMinor: null,
      pending: null,
    });
    expect((await pay(400)).status).toBe(201);
    expect(await limits({ perChargeMinor: 'lots', perDayMinor: null })).toMatchObject({
      status: 400,
      json: { error: { code: 'invalid_limits' } },
    });
  });
});
