// The card service over real HTTP, against the Stripe stand-in through the official SDK.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateReceiptKey } from '../../../server/card/keys';
import { startCardService } from '../../../server/card/service';
import { STRIPE_API_VERSION } from '../../../server/card/stripe';
import { receiptKeyFromHex, verifyCardReceipt } from '../../../server/merchant/kit/card';
import {
  api,
  type CardStack,
  challengeId,
  claim,
  claimLink,
  linkCard,
  linkUrl,
  newLink,
  newState,
  SimBrowser,
} from './helpers';
import { startClockedStack } from './settlement-stack';

let stack: CardStack;
let stripe: Stripe;

beforeAll(async () => {
  // The extension origin the claim test expects a CORS grant for (only configured ones get it).
  stack = await startClockedStack({
    extensionOrigins: ['chrome-extension://abcdefghijklmnopabcdefghijklmnop'],
  });
  stripe = new Stripe(stack.stripe.secretKey, {
    host: stack.stripe.host,
    port: stack.stripe.port,
    protocol: 'http',
    apiVersion: STRIPE_API_VERSION,
  });
});

afterAll(async () => {
  await stack?.close();
});

/** Delivers a correctly signed Stripe event, as Stripe would when it sends one late. */
async function deliver(id: string, type: string, object: unknown): Promise<number> {
  const payload = JSON.stringify({ id, object: 'event', type, data: { object } });
  const res = await fetch(`${stack.card.url}/webhooks/stripe`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': stripe.webhooks.generateTestHeaderString({
        payload,
        secret: stack.webhookSecret,
      }),
    },
    body: payload,
  });
  return res.status;
}

function pay(token: string, overrides: Record<string, unknown> = {}) {
  return api(stack.card.url, token, 'POST', '/api/payments', {
    challengeId: challengeId(),
    amount: 250,
    currency: 'usd',
    destination: stack.merchant.accountId,
    description: 'Quill: generate text',
    ...overrides,
  });
}

describe('linking a card', () => {
  it('runs the flow in one browser: link → Stripe checkout → back → one claim gets the token', async () => {
    const browser = new SimBrowser();
    const link = newLink();
    const opened = await browser.navigate(linkUrl(stack.card.url, link));
    expect(opened.url.startsWith(`${stack.stripe.url}/c/pay/cs_test_`)).toBe(true);
    expect(await opened.res.text()).toContain('name="cardNumber"');

    const pending = await claimLink(stack.card.url, link);
    expect(pending.status).toBe(202);
    expect(await pending.json()).toMatchObject({ status: 'pending', cardSaved: false });

    const back = await browser.submitCard(opened.url, '4242 4242 4242 4242');
    expect(back.url.startsWith(`${stack.card.url}/link/done`)).toBe(true);
    expect(back.res.status).toBe(200);
    expect(await back.res.text()).toContain('ending in 4242');
    await stack.stripe.webhooksIdle();

    const first = await claimLink(
      stack.card.url,
      link,
      'chrome-extension://abcdefghijklmnopabcdefghijklmnop',
    );
    expect(first.status).toBe(200);
    expect(first.headers.get('access-control-allow-origin')).toBe(
      'chrome-extension://abcdefghijklmnopabcdefghijklmnop',
    );
    const claimed = (await first.json()) as { deviceToken: string; card: Record<string, unknown> };
    expect(claimed.deviceToken).toMatch(/^pbd_/);
    expect(claimed.card).toEqual({ brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034 });

    const again = await claimLink(stack.card.url, link);
    expect(again.status).toBe(410);
    expect(await again.json()).toMatchObject({ error: { code: 'already_claimed' } });

    const device = await api(stack.card.url, claimed.deviceToken, 'GET', '/api/device');
    expect(device.status).toBe(200);
    expect(device.json.card).toEqual({ brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034 });
  });

  it('refuses a wrong state, and never answers a web page with CORS', async () => {
    const wrong = await claimLink(stack.card.url, newLink(), 'https://evil.example');
    expect(wrong.status).toBe(404);
    expect(wrong.headers.get('access-control-allow-origin')).toBeNull();
    expect(await wrong.json()).toMatchObject({ error: { code: 'unknown_state' } });
    expect((await claim(stack.card.url, 'short')).status).toBe(400);
  });

  it('refuses a link page that another website opened', async () => {
    const res = await new SimBrowser().fetch(`${stack.card.url}/link?state=${newState()}`, {
      secFetchSite: 'cross-site',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('opened by another website');
  });

  it('does not hand out a token when the checkout was finished in another browser', async () => {
    // An attacker starts the flow (and so knows the state), then lures someone else to Stripe's page.
    const attacker = new SimBrowser();
    const link = newLink();
    const opened = await attacker.navigate(linkUrl(stack.card.url, link));
    const victim = new SimBrowser();
    const back = await victim.submitCard(opened.url, '4242 4242 4242 4242');
    expect(back.res.status).toBe(403);
    expect(await back.res.text()).toContain('started somewhere else');
    await stack.stripe.webhooksIdle();
    // A return without the starting browser's cookie cancels the link (links.test.ts, item 1).
    const res = await claimLink(stack.card.url, link);
    expect(res.status).toBe(410);
    expect(await res.json()).toMatchObject({ error: { code: 'link_canceled' } });
  });

  it('unlinks: the token stops working and the card is detached', async () => {
    const token = await linkCard(stack);
    const del = await api(stack.card.url, token, 'DELETE', '/api/device');
    expect(del).toMatchObject({ status: 200, json: { unlinked: true, cardDetached: true } });
    expect((await api(stack.card.url, token, 'GET', '/api/device')).status).toBe(401);
    expect((await pay(token)).status).toBe(401);
  });
});

describe('paying an approved quote', () => {
  let token: string;
  beforeAll(async () => {
    token = await linkCard(stack);
  });

  it('authorizes a manual-capture PaymentIntent to the app and returns a verifiable receipt', async () => {
    const id = challengeId();
    const res = await pay(token, { challengeId: id, amount: '250' });
    expect(res.status).toBe(201);
    const payment = res.json.payment as Record<string, unknown>;
    expect(payment).toMatchObject({
      challengeId: id,
      status: 'requires_capture',
      amount: 250,
      currency: 'usd',
    });
    const pi = await stripe.paymentIntents.retrieve(String(payment.id));
    expect(pi).toMatchObject({
      status: 'requires_capture',
      amount: 250,
      capture_method: 'manual',
      transfer_data: { destination: stack.merchant.accountId },
      metadata: { paybound_challenge_id: id },
    });
    const keys = [receiptKeyFromHex(stack.card.receiptPublicKey, stack.card.receiptKeyId)];
    const checked = verifyCardReceipt(String(res.json.receipt), keys);
    expect(checked.ok).toBe(true);
    if (checked.ok) {
      expect(checked.claims).toMatchObject({
        challengeId: id,
        paymentIntent: pi.id,
        amount: '250',
        currency: 'usd',
        destination: stack.merchant.accountId,
        iss: stack.card.url,
      });
      expect(checked.claims.exp).toBeGreaterThan(checked.claims.iat);
    }
    const jwks = (await (await fetch(`${stack.card.url}/api/receipt-keys`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys[0]?.kid).toBe(stack.card.receiptKeyId);
  });

  it('gives the same PaymentIntent for a replayed challenge id, never a second', async () => {
    const id = challengeId();
    const a = await pay(token, { challengeId: id });
    const b = await pay(token, { challengeId: id });
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect((b.json.payment as { id: string }).id).toBe((a.json.payment as { id: string }).id);
    const mine = (await stripe.paymentIntents.list({ limit: 100 })).data.filter(
      (p) => p.metadata.paybound_challenge_id === id,
    );
    expect(mine).toHaveLength(1);
    const changed = await pay(token, { challengeId: id, amount: 999 });
    expect(changed).toMatchObject({ status: 409, json: { error: { code: 'challenge_conflict' } } });
  });

  it('refuses an unknown destination, bad amounts and a missing token', async () => {
    expect((await pay(token, { destination: 'acct_1NotRegistered' })).json).toMatchObject({
      error: { code: 'unknown_destination' },
    });
    expect((await pay(token, { amount: 2.5 })).status).toBe(400);
    expect((await pay(token, { amount: -1 })).status).toBe(400);
    expect((await pay(token, { amount: 10_000_000 })).json).toMatchObject({
      error: { code: 'amount_above_limit' },
    });
    expect((await pay(token, { amount: 20 })).json).toMatchObject({ error: { code: 'amount_too_small' } });
    expect((await pay('pbd_not-a-real-token-at-all')).status).toBe(401);
  });

  it('captures at most what was authorized, once', async () => {
    const paid = await pay(token, { amount: 500 });
    const id = (paid.json.payment as { id: string }).id;
    const above = await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, { amount: 501 });
    expect(above).toMatchObject({ status: 422, json: { error: { code: 'amount_exceeds_authorized' } } });
    const ok = await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, { amount: 320 });
    expect(ok.status).toBe(200);
    expect(ok.json.payment).toMatchObject({ status: 'succeeded', amountCaptured: 320 });
    expect((await stripe.paymentIntents.retrieve(id)).amount_received).toBe(320);
    const twice = await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, { amount: 100 });
    expect(twice).toMatchObject({ status: 409, json: { error: { code: 'already_captured' } } });
  });

  it('cancels an authorization', async () => {
    const paid = await pay(token);
    const id = (paid.json.payment as { id: string }).id;
    const res = await api(stack.card.url, token, 'POST', `/api/payments/${id}/cancel`);
    expect(res).toMatchObject({ status: 200, json: { payment: { status: 'canceled' } } });
    expect((await stripe.paymentIntents.retrieve(id)).status).toBe('canceled');
    const capture = await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, {});
    expect(capture.json).toMatchObject({ error: { code: 'already_canceled' } });
  });

  it("refunds part, then the rest, on the app's word, pulling the money back from the app", async () => {
    const paid = await pay(token, { amount: 400 });
    const id = (paid.json.payment as { id: string }).id;
    await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, { amount: 400 });
    const part = await api(stack.card.url, stack.merchant.apiKey, 'POST', '/api/merchant/refund', {
      paymentIntent: id,
      amount: 150,
      reason: 'requested_by_customer',
    });
    expect(part.status).toBe(200);
    expect(part.json.payment).toMatchObject({ amountRefunded: 150 });
    const charge = await stripe.charges.retrieve(
      (await stripe.paymentIntents.retrieve(id)).latest_charge as string,
    );
    const transfer = await stripe.transfers.retrieve(charge.transfer as string);
    expect(transfer.amount_reversed).toBe(150);
    const tooMuch = await api(stack.card.url, stack.merchant.apiKey, 'POST', '/api/merchant/refund', {
      paymentIntent: id,
      amount: 251,
    });
    expect(tooMuch.json).toMatchObject({ error: { code: 'amount_exceeds_refundable' } });
    const rest = await api(stack.card.url, stack.merchant.apiKey, 'POST', '/api/merchant/refund', {
      paymentIntent: id,
    });
    expect(rest.json.payment).toMatchObject({ amountRefunded: 400 });
    const list = await api(stack.card.url, token, 'GET', '/api/payments');
    expect((list.json.payments as { id: string }[]).some((p) => p.id === id)).toBe(true);
  });

  it('never lets a late webhook take back a refund or a capture', async () => {
    const paid = await pay(token, { amount: 400 });
    const id = (paid.json.payment as { id: string }).id;
    const held = await stripe.paymentIntents.retrieve(id);
    await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, { amount: 400 });
    await api(stack.card.url, stack.merchant.apiKey, 'POST', '/api/merchant/refund', {
      paymentIntent: id,
      amount: 150,
    });
    const afterPart = await stripe.charges.retrieve(
      (await stripe.paymentIntents.retrieve(id)).latest_charge as string,
    );
    await api(stack.card.url, stack.merchant.apiKey, 'POST', '/api/merchant/refund', { paymentIntent: id });
    await stack.stripe.webhooksIdle();
    // Stripe may deliver the first refund's event, or an old PaymentIntent state, after the rest.
    for (const [type, object] of [
      ['charge.refunded', afterPart],
      ['payment_intent.canceled', { ...held, status: 'canceled' }],
    ] as const) {
      expect(await deliver(`evt_late_${type}_${id}`, type, object)).toBe(200);
    }
    const now = await api(stack.card.url, token, 'GET', `/api/payments/${id}`);
    expect(now.json.payment).toMatchObject({
      status: 'succeeded',
      amountCaptured: 400,
      amountRefunded: 400,
    });
  });

  it('answers a refund sent again with its Idempotency-Key as the first time, and refunds once', async () => {
    const paid = await pay(token, { amount: 300 });
    const id = (paid.json.payment as { id: string }).id;
    await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, {});
    const refund = (amount: number, key = 'refund-key-0001') =>
      api(
        stack.card.url,
        stack.merchant.apiKey,
        'POST',
        '/api/merchant/refund',
        { paymentIntent: id, amount },
        { 'idempotency-key': key },
      );
    const first = await refund(200);
    expect(first).toMatchObject({ status: 200, json: { payment: { amountRefunded: 200 } } });
    // Only 100 is left to refund, yet the retry of the 200 is answered as it was, not refused.
    const again = await refund(200);
    expect(again).toEqual(first);
    expect(await refund(50)).toMatchObject({
      status: 409,
      json: { error: { code: 'idempotency_conflict' } },
    });
    const refunds = await stripe.refunds.list({ payment_intent: id });
    expect(refunds.data.map((r) => r.amount)).toEqual([200]);
    // Another key is another refund.
    expect(await refund(100, 'refund-key-0002')).toMatchObject({
      status: 200,
      json: { payment: { amountRefunded: 300 } },
    });
  });

  it('lets the app capture the actual amount with its own key, and nobody else', async () => {
    const id = challengeId();
    await pay(token, { challengeId: id, amount: 300 });
    const capture = (key: string, amount: number) =>
      fetch(`${stack.card.url}/api/merchant/capture`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ challengeId: id, amount }),
      });
    expect((await capture('pbm_wrong-key-wrong-key-wrong', 100)).status).toBe(401);
    const other = await stack.card.createMerchant({ name: 'Another app' });
    expect((await capture(other.apiKey, 100)).status).toBe(404);
    const above = await capture(stack.merchant.apiKey, 301);
    expect(above.status).toBe(422);
    const ok = await capture(stack.merchant.apiKey, 180);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ payment: { status: 'succeeded', amountCaptured: 180 } });
  });
});

describe('declines and disputes', () => {
  it('answers a declined card with Stripe decline codes, and a replay with the same decline', async () => {
    for (const [number, code, decline] of [
      ['4000 0000 0000 0002', 'card_declined', 'generic_decline'],
      ['4000 0000 0000 9995', 'card_declined', 'insufficient_funds'],
      ['4000 0027 6000 3184', 'authentication_required', 'authentication_required'],
    ] as const) {
      const token = await linkCard(stack, number);
      const id = challengeId();
      const res = await pay(token, { challengeId: id });
      expect(res.status).toBe(402);
      expect(res.json.error).toMatchObject({ code, decline_code: decline });
      expect(String((res.json.error as { message: string }).message)).not.toBe('');
      const replay = await pay(token, { challengeId: id });
      expect(replay.status).toBe(402);
      expect((replay.json.error as { payment_intent: string }).payment_intent).toBe(
        (res.json.error as { payment_intent: string }).payment_intent,
      );
    }
  });

  it('records a chargeback on a 0259 card once captured', async () => {
    const token = await linkCard(stack, '4000 0000 0000 0259');
    const paid = await pay(token, { amount: 600 });
    const id = (paid.json.payment as { id: string }).id;
    await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, { amount: 600 });
    await stack.stripe.webhooksIdle();
    const disputes = await api(stack.card.url, token, 'GET', '/api/disputes');
    expect(disputes.json.disputes).toEqual([
      expect.objectContaining({
        paymentIntent: id,
        amount: 600,
        reason: 'fraudulent',
        status: 'needs_response',
      }),
    ]);
    // Lost at Stripe; the "created" event sent again late must not reopen it.
    const [opened] = (await stripe.disputes.list({ payment_intent: id })).data;
    await stripe.disputes.close(opened!.id);
    await stack.stripe.webhooksIdle();
    expect(await deliver(`evt_late_dispute_${id}`, 'charge.dispute.created', opened)).toBe(200);
    const after = await api(stack.card.url, token, 'GET', '/api/disputes');
    expect(after.json.disputes).toEqual([expect.objectContaining({ status: 'lost' })]);
  });

  it('rejects a webhook with a forged signature', async () => {
    const res = await fetch(`${stack.card.url}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
      },
      body: JSON.stringify({ id: 'evt_forged', type: 'charge.dispute.created', data: { object: {} } }),
    });
    expect(res.status).toBe(400);
  });
});

describe('when Stripe cannot be reached', () => {
  it('answers clearly and charges nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paybound-card-'));
    const receiptKeys = [generateReceiptKey()];
    const local = await startClockedStack({ dbPath: join(dir, 'card-db'), receiptKeys });
    try {
      const token = await linkCard(local);
      await local.stripe.close();
      const res = await api(local.card.url, token, 'POST', '/api/payments', {
        challengeId: challengeId(),
        amount: 250,
        currency: 'usd',
        destination: local.merchant.accountId,
        description: 'x',
      });
      expect(res.status).toBe(503);
      expect(res.json).toMatchObject({ error: { code: 'stripe_unreachable' } });
      const page = await new SimBrowser().fetch(linkUrl(local.card.url, newLink()), {
        secFetchSite: 'none',
      });
      expect(page.status).toBe(503);

      // The database file keeps the device across a restart of the service.
      await local.card.close();
      const again = await startCardService({
        port: 0,
        stripe: {
          host: '127.0.0.1',
          port: 9,
          protocol: 'http',
          secretKey: 'sk_test_x',
          maxNetworkRetries: 0,
        },
        webhookSecret: 'whsec_x',
        dbPath: join(dir, 'card-db'),
        receiptKeys,
      });
      try {
        const device = await api(again.url, token, 'GET', '/api/device');
        expect(device).toMatchObject({ status: 200, json: { card: { last4: '4242' } } });
        expect(again.receiptKeyId).toBe(local.card.receiptKeyId);
      } finally {
        await again.close();
      }
    } finally {
      await local.card.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
