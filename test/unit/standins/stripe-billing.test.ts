// The Stripe stand-in's Billing (products, prices, meters, subscriptions, invoices, test clocks),
// exercised only through the official SDK.
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_API_VERSION } from '../../../server/card/stripe';
import { addMonths } from '../../../server/standins/stripe/billing';
import { type StripeStandin, startStripeStandin } from '../../../server/standins/stripe/index';

let standin: StripeStandin;
let stripe: Stripe;

beforeAll(async () => {
  standin = await startStripeStandin({ port: 0 });
  stripe = new Stripe(standin.secretKey, {
    host: standin.host,
    port: standin.port,
    protocol: 'http',
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: 0,
  });
});

afterAll(async () => {
  await standin?.close();
});

// 2027-01-31T12:00:00Z: a month-end anchor, so the clamping shows.
const JAN_31 = Date.UTC(2027, 0, 31, 12) / 1000;
let eventSeq = 0;

async function plan(opts: { amount?: number; overage?: number; interval?: 'day' | 'month' } = {}) {
  const product = await stripe.products.create({ name: 'Quill Pro' });
  const licensed = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: opts.amount ?? 2000,
    recurring: { interval: opts.interval ?? 'month', interval_count: 1, usage_type: 'licensed' },
  });
  const eventName = `quill_overage_${++eventSeq}_${Date.now()}`;
  const meter = await stripe.billing.meters.create({
    display_name: 'Quill overage',
    event_name: eventName,
    default_aggregation: { formula: 'sum' },
    customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
    value_settings: { event_payload_key: 'value' },
  });
  const metered = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: opts.overage ?? 8,
    recurring: { interval: opts.interval ?? 'month', usage_type: 'metered', meter: meter.id },
  });
  return { product, licensed, meter, metered, eventName };
}

async function clockedCustomer(frozen = JAN_31, pm = 'pm_card_visa') {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: frozen });
  const customer = await stripe.customers.create({ test_clock: clock.id, description: 'clocked' });
  const card = await stripe.paymentMethods.attach(pm, { customer: customer.id });
  return { clock, customer, card };
}

async function advance(clockId: string, to: number) {
  const answer = await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: to });
  expect(answer.status).toBe('advancing');
  // The work runs after the answer: the next read finds the clock ready, as polling would.
  const clock = await stripe.testHelpers.testClocks.retrieve(clockId);
  expect(clock.status).toBe('ready');
  expect(clock.frozen_time).toBe(to);
  return clock;
}

async function invoicesOf(subscription: string) {
  // Newest first, as Stripe lists.
  return (await stripe.invoices.list({ subscription, limit: 100 })).data;
}

describe('period arithmetic', () => {
  it('counts calendar months in UTC from the anchor, the day clamped to the month end', () => {
    const feb = addMonths(JAN_31, 1);
    expect(new Date(feb * 1000).toISOString()).toBe('2027-02-28T12:00:00.000Z');
    expect(new Date(addMonths(JAN_31, 2) * 1000).toISOString()).toBe('2027-03-31T12:00:00.000Z');
    expect(new Date(addMonths(Date.UTC(2028, 1, 29) / 1000, 12) * 1000).toISOString()).toBe(
      '2029-02-28T00:00:00.000Z',
    );
  });
});

describe('products, prices and meters', () => {
  it('creates them with Stripe’s shapes and refuses what Stripe refuses', async () => {
    const { licensed, metered, meter } = await plan();
    expect(licensed.recurring).toMatchObject({
      interval: 'month',
      interval_count: 1,
      usage_type: 'licensed',
      meter: null,
    });
    expect(metered.recurring).toMatchObject({ usage_type: 'metered', meter: meter.id });
    expect(meter).toMatchObject({
      object: 'billing.meter',
      status: 'active',
      default_aggregation: { formula: 'sum' },
      customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' },
    });
    expect((await stripe.prices.retrieve(metered.id)).unit_amount).toBe(8);

    // A metered price needs a meter; a meter's event name is unique among active meters.
    await expect(
      stripe.prices.create({
        product: licensed.product as string,
        currency: 'usd',
        unit_amount: 8,
        recurring: { interval: 'month', usage_type: 'metered' },
      }),
    ).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'recurring[meter]' });
    await expect(
      stripe.billing.meters.create({
        display_name: 'again',
        event_name: meter.event_name,
        default_aggregation: { formula: 'sum' },
      }),
    ).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'event_name' });
    await expect(
      stripe.prices.create({
        product: licensed.product as string,
        currency: 'usd',
        unit_amount: 100,
        recurring: { interval: 'month', interval_count: 37 },
      }),
    ).rejects.toMatchObject({ param: 'recurring[interval_count]' });
  });

  it('takes meter events with string values, and an identifier only once', async () => {
    const { eventName } = await plan();
    const customer = await stripe.customers.create({});
    const event = await stripe.billing.meterEvents.create({
      event_name: eventName,
      identifier: `once-${eventName}`,
      payload: { stripe_customer_id: customer.id, value: '3' },
    });
    expect(event).toMatchObject({ object: 'billing.meter_event', identifier: `once-${eventName}` });
    await expect(
      stripe.billing.meterEvents.create({
        event_name: eventName,
        identifier: `once-${eventName}`,
        payload: { stripe_customer_id: customer.id, value: '3' },
      }),
    ).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'identifier' });
    await expect(
      stripe.billing.meterEvents.create({
        event_name: eventName,
        payload: { stripe_customer_id: customer.id, value: '2.5' },
      }),
    ).rejects.toMatchObject({ param: 'payload[value]' });
    await expect(
      stripe.billing.meterEvents.create({ event_name: eventName, payload: { value: '1' } }),
    ).rejects.toMatchObject({ param: 'payload[stripe_customer_id]' });
  });
});

describe('subscriptions on a test clock', () => {
  it('invoices the first period at once, pays it as a destination charge, and bills usage in arrears', async () => {
    const { licensed, metered, eventName } = await plan();
    const app = await stripe.accounts.create({ type: 'express' });
    const { clock, customer, card } = await clockedCustomer();
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: licensed.id }, { price: metered.id }],
      default_payment_method: card.id,
      transfer_data: { destination: app.id },
      payment_behavior: 'error_if_incomplete',
      metadata: { plan: 'quill-pro' },
      expand: ['latest_invoice'],
    });
    expect(sub.status).toBe('active');
    expect(sub.test_clock).toBe(clock.id);
    const item = sub.items.data.find((i) => i.price.id === licensed.id)!;
    expect(item.current_period_start).toBe(JAN_31);
    expect(new Date(item.current_period_end * 1000).toISOString()).toBe('2027-02-28T12:00:00.000Z');
    const first = sub.latest_invoice as Stripe.Invoice;
    expect(first).toMatchObject({ status: 'paid', amount_paid: 2000, billing_reason: 'subscription_create' });
    expect(first.parent?.subscription_details?.subscription).toBe(sub.id);

    // The money reached the app's account, as for any destination charge.
    const piId = first.payments?.data[0]?.payment.payment_intent as string;
    const pi = await stripe.paymentIntents.retrieve(piId, { expand: ['latest_charge.transfer'] });
    expect(pi).toMatchObject({
      status: 'succeeded',
      amount_received: 2000,
      transfer_data: { destination: app.id },
    });
    const transfer = (pi.latest_charge as Stripe.Charge).transfer as Stripe.Transfer;
    expect(transfer).toMatchObject({ amount: 2000, destination: app.id });

    // Usage in the first period (at the clock's time), then the clock passes the period's end.
    for (const value of ['5', '7']) {
      await stripe.billing.meterEvents.create({
        event_name: eventName,
        payload: { stripe_customer_id: customer.id, value },
      });
    }
    await advance(clock.id, addMonths(JAN_31, 1) + 3600);
    const renewed = await stripe.subscriptions.retrieve(sub.id);
    expect(renewed.status).toBe('active');
    expect(new Date(renewed.items.data[0]!.current_period_end * 1000).toISOString()).toBe(
      '2027-03-31T12:00:00.000Z',
    );
    const [second] = await invoicesOf(sub.id);
    expect(second).toMatchObject({
      status: 'paid',
      billing_reason: 'subscription_cycle',
      amount_paid: 2000 + 12 * 8,
    });
    const overage = second!.lines.data.find((l) => l.pricing?.price_details?.price === metered.id)!;
    expect(overage).toMatchObject({
      quantity: 12,
      amount: 96,
      period: { start: JAN_31, end: addMonths(JAN_31, 1) },
    });
    const plan2 = second!.lines.data.find((l) => l.pricing?.price_details?.price === licensed.id)!;
    expect(plan2.period).toEqual({ start: addMonths(JAN_31, 1), end: addMonths(JAN_31, 2) });

    // Events a webhook endpoint would receive, in Stripe's names.
    const types = (await stripe.events.list({ limit: 100 })).data.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['invoice.paid', 'customer.subscription.updated']));
  });

  it('ends a subscription set to cancel at period end there, and renews nothing after', async () => {
    const { licensed } = await plan();
    const { clock, customer, card } = await clockedCustomer();
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: licensed.id }],
      default_payment_method: card.id,
    });
    const marked = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    expect(marked).toMatchObject({
      cancel_at_period_end: true,
      status: 'active',
      cancel_at: addMonths(JAN_31, 1),
    });
    await advance(clock.id, addMonths(JAN_31, 1) + 60);
    const ended = await stripe.subscriptions.retrieve(sub.id);
    expect(ended).toMatchObject({ status: 'canceled', ended_at: addMonths(JAN_31, 1) });
    await advance(clock.id, addMonths(JAN_31, 2) + 60);
    expect((await invoicesOf(sub.id)).map((i) => i.billing_reason)).toEqual(['subscription_create']);
    const deleted = (await stripe.events.list({ type: 'customer.subscription.deleted', limit: 100 })).data;
    expect(deleted.some((e) => (e.data.object as Stripe.Subscription).id === sub.id)).toBe(true);
  });

  it('leaves a renewal the card declines open and the subscription past due; paying it recovers', async () => {
    const { licensed } = await plan({ amount: 900, interval: 'day' });
    const { clock, customer, card } = await clockedCustomer();
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: licensed.id }],
      default_payment_method: card.id,
    });
    const declining = await stripe.paymentMethods.attach('pm_card_chargeDeclined', { customer: customer.id });
    await stripe.subscriptions.update(sub.id, { default_payment_method: declining.id });
    await advance(clock.id, JAN_31 + 86_400 + 10);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    const [open] = await invoicesOf(sub.id);
    expect(open).toMatchObject({ status: 'open', amount_paid: 0, amount_remaining: 900, attempt_count: 1 });
    const failed = (await stripe.events.list({ type: 'invoice.payment_failed', limit: 100 })).data;
    expect(failed.some((e) => (e.data.object as Stripe.Invoice).id === open!.id)).toBe(true);

    const paid = await stripe.invoices.pay(open!.id, { payment_method: card.id });
    expect(paid.status).toBe('paid');
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });

  it('refuses a first payment the card declines with error_if_incomplete, and keeps no subscription', async () => {
    const { licensed } = await plan();
    const { customer, card } = await clockedCustomer(JAN_31, 'pm_card_chargeDeclined');
    await expect(
      stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: licensed.id }],
        default_payment_method: card.id,
        payment_behavior: 'error_if_incomplete',
      }),
    ).rejects.toMatchObject({ type: 'StripeCardError', code: 'card_declined' });
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toEqual([]);
  });

  it('advances no further than two periods of the shortest subscription, and never backwards', async () => {
    const { licensed } = await plan({ interval: 'day' });
    const { clock, customer, card } = await clockedCustomer();
    await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: licensed.id }],
      default_payment_method: card.id,
    });
    await expect(
      stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: JAN_31 + 3 * 86_400 }),
    ).rejects.toMatchObject({ param: 'frozen_time' });
    await expect(
      stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: JAN_31 - 1 }),
    ).rejects.toMatchObject({ param: 'frozen_time' });
  });

  it('cancels at once on DELETE', async () => {
    const { licensed } = await plan();
    const { customer, card } = await clockedCustomer();
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: licensed.id }],
      default_payment_method: card.id,
    });
    const canceled = await stripe.subscriptions.cancel(sub.id);
    expect(canceled).toMatchObject({ status: 'canceled', ended_at: JAN_31 });
    await expect(stripe.subscriptions.update(sub.id, { cancel_at_period_end: true })).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
    });
  });
});

describe('subscriptions without a test clock', () => {
  it('renew on the wall clock when next read after their period ended', async () => {
    let nowMs = JAN_31 * 1000;
    const own = await startStripeStandin({ port: 0, now: () => nowMs });
    try {
      const sdk = new Stripe(own.secretKey, {
        host: own.host,
        port: own.port,
        protocol: 'http',
        apiVersion: STRIPE_API_VERSION,
        maxNetworkRetries: 0,
      });
      const price = await sdk.prices.create({
        currency: 'usd',
        unit_amount: 700,
        product_data: { name: 'Daily' },
        recurring: { interval: 'day', interval_count: 2 },
      });
      const customer = await sdk.customers.create({});
      const card = await sdk.paymentMethods.attach('pm_card_visa', { customer: customer.id });
      const sub = await sdk.subscriptions.create({
        customer: customer.id,
        items: [{ price: price.id }],
        default_payment_method: card.id,
      });
      expect(sub.items.data[0]!.current_period_end).toBe(JAN_31 + 2 * 86_400);
      nowMs += 5 * 86_400 * 1000;
      // Two periods ended meanwhile: two renewals, each paid, and the current period holds now.
      const later = await sdk.subscriptions.retrieve(sub.id);
      expect(later.items.data[0]).toMatchObject({
        current_period_start: JAN_31 + 4 * 86_400,
        current_period_end: JAN_31 + 6 * 86_400,
      });
      const list = (await sdk.invoices.list({ subscription: sub.id })).data;
      expect(list.map((i) => [i.billing_reason, i.status, i.amount_paid])).toEqual([
        ['subscription_cycle', 'paid', 700],
        ['subscription_cycle', 'paid', 700],
        ['subscription_create', 'paid', 700],
      ]);
    } finally {
      await own.close();
    }
  });
});
