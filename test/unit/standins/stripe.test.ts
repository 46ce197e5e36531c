// The Stripe stand-in, exercised only through the official SDK (and the hosted page over HTTP).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_API_VERSION } from '../../../server/card/stripe';
import { type StripeStandin, startStripeStandin } from '../../../server/standins/stripe/index';

let standin: StripeStandin;
let stripe: Stripe;
let hook: { server: Server; url: string; received: { body: string; signature: string }[] };
let hookSecret: string;

function sdk(s: StripeStandin, key = s.secretKey): Stripe {
  return new Stripe(key, {
    host: s.host,
    port: s.port,
    protocol: 'http',
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: 0,
  });
}

async function startHookReceiver() {
  const received: { body: string; signature: string }[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({
      body: Buffer.concat(chunks).toString('utf8'),
      signature: String(req.headers['stripe-signature']),
    });
    res.writeHead(200).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/hook`, received };
}

beforeAll(async () => {
  standin = await startStripeStandin({ port: 0 });
  stripe = sdk(standin);
  hook = await startHookReceiver();
  hookSecret = standin.addWebhookEndpoint({ url: hook.url }).secret;
});

afterAll(async () => {
  await standin?.close();
  await new Promise((r) => hook?.server.close(r));
});

async function customerWithCard(pm = 'pm_card_visa') {
  const customer = await stripe.customers.create({ email: 'reader@example.com' });
  const attached = await stripe.paymentMethods.attach(pm, { customer: customer.id });
  return { customer, pm: attached };
}

async function connected() {
  return stripe.accounts.create({
    type: 'express',
    country: 'US',
    capabilities: { card_payments: { requested: true }, transfers: { requested: true } },
  });
}

describe('the lifecycle of a card payment', () => {
  it('customer → setup → manual-capture payment → partial capture → refund with reverse_transfer', async () => {
    const account = await connected();
    expect(account.id).toMatch(/^acct_/);
    const customer = await stripe.customers.create({ email: 'a@example.com' });
    const setup = await stripe.setupIntents.create({
      customer: customer.id,
      payment_method: 'pm_card_visa',
      confirm: true,
      usage: 'off_session',
    });
    expect(setup.status).toBe('succeeded');
    const pmId = setup.payment_method as string;
    expect((await stripe.paymentMethods.retrieve(pmId)).customer).toBe(customer.id);

    const pi = await stripe.paymentIntents.create(
      {
        amount: 1000,
        currency: 'usd',
        customer: customer.id,
        payment_method: pmId,
        off_session: true,
        confirm: true,
        capture_method: 'manual',
        transfer_data: { destination: account.id },
        metadata: { challenge: 'c1' },
      },
      { idempotencyKey: 'lifecycle-1' },
    );
    expect(pi.status).toBe('requires_capture');
    expect(pi.amount_capturable).toBe(1000);
    expect(pi.metadata).toEqual({ challenge: 'c1' });

    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 600 });
    expect(captured.status).toBe('succeeded');
    expect(captured.amount_received).toBe(600);
    expect(captured.amount_capturable).toBe(0);
    const charge = await stripe.charges.retrieve(captured.latest_charge as string);
    expect(charge).toMatchObject({ captured: true, amount_captured: 600, amount_refunded: 0 });
    const transfer = await stripe.transfers.retrieve(charge.transfer as string);
    expect(transfer).toMatchObject({ amount: 600, destination: account.id, amount_reversed: 0 });

    const refund = await stripe.refunds.create({
      payment_intent: pi.id,
      amount: 200,
      reason: 'requested_by_customer',
      reverse_transfer: true,
    });
    expect(refund).toMatchObject({ status: 'succeeded', amount: 200, payment_intent: pi.id });
    expect(refund.transfer_reversal).toMatch(/^trr_/);
    const after = await stripe.transfers.retrieve(transfer.id);
    expect(after.amount_reversed).toBe(200);
    const rest = await stripe.refunds.create({ payment_intent: pi.id, reverse_transfer: true });
    expect(rest.amount).toBe(400);
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ refunded: true, amount_refunded: 600 });
    expect((await stripe.transfers.retrieve(transfer.id)).reversed).toBe(true);
    await expect(stripe.refunds.create({ payment_intent: pi.id, amount: 1 })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'charge_already_refunded',
    });
  });

  it('refuses to capture more than authorized, and to capture twice', async () => {
    const { customer, pm } = await customerWithCard();
    const pi = await stripe.paymentIntents.create({
      amount: 500,
      currency: 'usd',
      customer: customer.id,
      payment_method: pm.id,
      confirm: true,
      off_session: true,
      capture_method: 'manual',
    });
    await expect(stripe.paymentIntents.capture(pi.id, { amount_to_capture: 501 })).rejects.toMatchObject({
      statusCode: 400,
      code: 'amount_too_large',
      param: 'amount_to_capture',
    });
    await stripe.paymentIntents.capture(pi.id);
    await expect(stripe.paymentIntents.capture(pi.id)).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
  });

  it('cancels an authorization, after which it cannot be captured', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 700,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const canceled = await stripe.paymentIntents.cancel(pi.id, {
      cancellation_reason: 'requested_by_customer',
    });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' });
    await expect(stripe.paymentIntents.capture(pi.id)).rejects.toMatchObject({
      code: 'payment_intent_unexpected_state',
    });
    await expect(stripe.refunds.create({ payment_intent: pi.id })).rejects.toMatchObject({ statusCode: 400 });
  });

  it('captures automatically when asked to', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 900,
      currency: 'usd',
      payment_method: 'pm_card_mastercard',
      confirm: true,
    });
    expect(pi).toMatchObject({ status: 'succeeded', amount_received: 900 });
  });

  it('refuses amounts below the minimum charge, unknown parameters and unknown destinations', async () => {
    await expect(stripe.paymentIntents.create({ amount: 49, currency: 'usd' })).rejects.toMatchObject({
      code: 'amount_too_small',
      param: 'amount',
    });
    await expect(
      stripe.paymentIntents.create({
        amount: 100,
        currency: 'usd',
        bogus: 1,
      } as Stripe.PaymentIntentCreateParams),
    ).rejects.toMatchObject({ param: 'bogus' });
    await expect(
      stripe.paymentIntents.create({
        amount: 100,
        currency: 'usd',
        transfer_data: { destination: 'acct_missing' },
      }),
    ).rejects.toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'transfer_data[destination]',
    });
  });
});

describe('declines per test card', () => {
  const cases = [
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_authenticationRequired', 'authentication_required', 'authentication_required'],
  ] as const;
  for (const [pm, code, decline] of cases) {
    it(`${pm} is declined at confirm with ${code}/${decline}`, async () => {
      const { customer, pm: method } = await customerWithCard(pm);
      const err = await stripe.paymentIntents
        .create({
          amount: 1000,
          currency: 'usd',
          customer: customer.id,
          payment_method: method.id,
          off_session: true,
          confirm: true,
          capture_method: 'manual',
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
      const card = err as Stripe.errors.StripeCardError;
      expect(card.statusCode).toBe(402);
      expect(card.code).toBe(code);
      expect(card.decline_code).toBe(decline);
      expect(card.payment_intent?.status).toBe('requires_payment_method');
      expect(card.payment_intent?.last_payment_error?.decline_code).toBe(decline);
    });
  }

  it('the hosted Checkout page saves each test card; the decline comes at payment time', async () => {
    for (const number of [
      '4242 4242 4242 4242',
      '4000 0000 0000 0002',
      '4000 0000 0000 9995',
      '4000 0000 0000 0259',
    ]) {
      const customer = await stripe.customers.create({});
      const session = await stripe.checkout.sessions.create({
        mode: 'setup',
        customer: customer.id,
        currency: 'usd',
        success_url: 'https://app.example/done?session={CHECKOUT_SESSION_ID}',
        cancel_url: 'https://app.example/cancel',
      });
      expect(session).toMatchObject({ status: 'open', mode: 'setup' });
      const page = await fetch(session.url!);
      expect(await page.text()).toContain('name="cardNumber"');
      const submit = await fetch(session.url!, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          cardNumber: number,
          cardExpiry: '12 / 34',
          cardCvc: '123',
          billingName: 'A Reader',
        }),
      });
      expect(submit.status).toBe(303);
      expect(submit.headers.get('location')).toBe(`https://app.example/done?session=${session.id}`);
      const done = await stripe.checkout.sessions.retrieve(session.id, {
        expand: ['setup_intent.payment_method'],
      });
      expect(done.status).toBe('complete');
      const si = done.setup_intent as Stripe.SetupIntent;
      const pm = si.payment_method as Stripe.PaymentMethod;
      expect(pm.card?.last4).toBe(number.slice(-4));
      expect(pm.customer).toBe(customer.id);
    }
  });

  it('the hosted page refuses a mistyped or non-test card and stays open', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'setup',
      currency: 'usd',
      success_url: 'https://app.example/done',
    });
    const post = (cardNumber: string) =>
      fetch(session.url!, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ cardNumber, cardExpiry: '12/34', cardCvc: '123' }),
      });
    const typo = await post('4242 4242 4242 4241');
    expect(typo.status).toBe(400);
    expect(await typo.text()).toContain('Your card number is invalid.');
    const real = await post('4111 1111 1111 1111');
    expect(await real.text()).toContain('non test card');
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
  });
});

describe('idempotency', () => {
  it('replays the first answer for the same key and parameters, and refuses other parameters', async () => {
    const params: Stripe.PaymentIntentCreateParams = {
      amount: 1234,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
      metadata: { n: '1' },
    };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'idem-1' });
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: 'idem-1' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(
      (await stripe.paymentIntents.list({ limit: 100 })).data.filter((p) => p.amount === 1234),
    ).toHaveLength(1);

    const conflict = await stripe.paymentIntents
      .create({ ...params, amount: 1235 }, { idempotencyKey: 'idem-1' })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(conflict).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect((conflict as Stripe.errors.StripeError).message).toMatch(/same parameters/);
  });

  it('replays a decline too: one key never becomes a second attempt', async () => {
    const params: Stripe.PaymentIntentCreateParams = {
      amount: 800,
      currency: 'usd',
      payment_method: 'pm_card_chargeDeclined',
      confirm: true,
    };
    const a = await stripe.paymentIntents
      .create(params, { idempotencyKey: 'idem-decline' })
      .catch((e: unknown) => e);
    const b = await stripe.paymentIntents
      .create(params, { idempotencyKey: 'idem-decline' })
      .catch((e: unknown) => e);
    expect((a as Stripe.errors.StripeCardError).payment_intent?.id).toBeDefined();
    expect((b as Stripe.errors.StripeCardError).payment_intent?.id).toBe(
      (a as Stripe.errors.StripeCardError).payment_intent?.id,
    );
  });

  it('answers a wrong key with an authentication error and echoes Stripe-Version', async () => {
    await expect(sdk(standin, 'sk_test_wrong_key_123456').customers.create({})).rejects.toBeInstanceOf(
      Stripe.errors.StripeAuthenticationError,
    );
    const customer = await stripe.customers.create({});
    expect(customer.lastResponse.headers['stripe-version']).toBe(STRIPE_API_VERSION);
  });
});

describe('webhooks', () => {
  it('signs events so that constructEvent accepts them, and rejects a forged one', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 2500,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
      metadata: { mark: 'webhook-test' },
    });
    await standin.webhooksIdle();
    const delivery = hook.received.find(
      (r) => r.body.includes('payment_intent.amount_capturable_updated') && r.body.includes(pi.id),
    );
    expect(delivery).toBeDefined();
    const event = stripe.webhooks.constructEvent(delivery!.body, delivery!.signature, hookSecret);
    expect(event.type).toBe('payment_intent.amount_capturable_updated');
    expect((event.data.object as Stripe.PaymentIntent).id).toBe(pi.id);
    expect(event.api_version).toBe(STRIPE_API_VERSION);

    const forgedBody = delivery!.body.replace('2500', '9999');
    expect(() => stripe.webhooks.constructEvent(forgedBody, delivery!.signature, hookSecret)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    expect(() =>
      stripe.webhooks.constructEvent(delivery!.body, delivery!.signature, 'whsec_not_the_secret'),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    const events = await stripe.events.list({ type: 'payment_intent.created', limit: 100 });
    expect(events.data.some((e) => (e.data.object as Stripe.PaymentIntent).id === pi.id)).toBe(true);
  });

  it('disputes a 0259 card once captured and sends charge.dispute.created', async () => {
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create({
      mode: 'setup',
      customer: customer.id,
      currency: 'usd',
      success_url: 'https://app.example/done',
    });
    await fetch(session.url!, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ cardNumber: '4000000000000259', cardExpiry: '01/40', cardCvc: '999' }),
    });
    const setup = await stripe.setupIntents.retrieve(
      (await stripe.checkout.sessions.retrieve(session.id)).setup_intent as string,
    );
    const pi = await stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      customer: customer.id,
      payment_method: setup.payment_method as string,
      confirm: true,
      off_session: true,
      capture_method: 'manual',
    });
    expect((await stripe.disputes.list({ payment_intent: pi.id })).data).toHaveLength(0);
    await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 2000 });
    const disputes = await stripe.disputes.list({ payment_intent: pi.id });
    expect(disputes.data).toHaveLength(1);
    expect(disputes.data[0]).toMatchObject({ amount: 2000, reason: 'fraudulent', status: 'needs_response' });
    await expect(stripe.refunds.create({ payment_intent: pi.id })).rejects.toMatchObject({
      code: 'charge_disputed',
    });

    await standin.webhooksIdle();
    const delivery = hook.received.find(
      (r) => r.body.includes('"charge.dispute.created"') && r.body.includes(pi.id),
    );
    expect(delivery).toBeDefined();
    const event = stripe.webhooks.constructEvent(delivery!.body, delivery!.signature, hookSecret);
    expect((event.data.object as Stripe.Dispute).id).toBe(disputes.data[0]!.id);
  });

  it('checkout.session.completed reaches an endpoint registered through the API', async () => {
    const other = await startHookReceiver();
    try {
      const endpoint = await stripe.webhookEndpoints.create({
        url: other.url,
        enabled_events: ['checkout.session.completed'],
      });
      expect(endpoint.secret).toMatch(/^whsec_/);
      const session = await stripe.checkout.sessions.create({
        mode: 'setup',
        currency: 'usd',
        success_url: 'https://app.example/done',
      });
      await fetch(session.url!, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ cardNumber: '4242424242424242', cardExpiry: '01/40', cardCvc: '999' }),
      });
      await standin.webhooksIdle();
      expect(other.received).toHaveLength(1);
      const event = stripe.webhooks.constructEvent(
        other.received[0]!.body,
        other.received[0]!.signature,
        endpoint.secret!,
      );
      expect(event.type).toBe('checkout.session.completed');
      expect((event.data.object as Stripe.Checkout.Session).id).toBe(session.id);
      await stripe.webhookEndpoints.del(endpoint.id);
    } finally {
      await new Promise((r) => other.server.close(r));
    }
  });
});
