// Plans on the card (docs/plans.md §4): the card service's subscription API over real HTTP, against
// the Stripe stand-in through the official SDK, with each device's customer on a test clock.
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_API_VERSION } from '../../../server/card/stripe';
import {
  CardServiceClient,
  CardServiceError,
  receiptKeyFromHex,
  verifyCardReceipt,
  verifySubscriptionReceipt,
} from '../../../server/merchant/kit/card';
import { api, challengeId, linkCard } from './helpers';
import { type ClockedStack, startClockedStack } from './settlement-stack';

let stack: ClockedStack;
let stripe: Stripe;
let token: string;
let other: string;
let otherApp: { accountId: string; apiKey: string };

beforeAll(async () => {
  stack = await startClockedStack({ testClocks: true });
  stripe = new Stripe(stack.stripe.secretKey, {
    host: stack.stripe.host,
    port: stack.stripe.port,
    protocol: 'http',
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: 0,
  });
  token = await linkCard(stack);
  other = await linkCard(stack);
  otherApp = await stack.card.createMerchant({ name: 'Another app' });
});

afterAll(async () => {
  await stack?.close();
});

interface SubView {
  id: string;
  status: string;
  currentPeriodStart: number;
  currentPeriodEnd: number;
  cancelAtPeriodEnd: boolean;
  overageCalls: number;
  overageAmount: number;
  testClock: string | null;
  amount: number;
}

function terms(overrides: Record<string, unknown> = {}) {
  return {
    challengeId: challengeId(),
    destination: stack.merchant.accountId,
    amount: 2000,
    currency: 'usd',
    interval: 'month',
    intervalCount: 1,
    plan: { id: 'quill-pro', name: 'Quill Pro' },
    overage: { unitAmount: 8, capAmount: 100 },
    ...overrides,
  };
}

async function subscribe(body: Record<string, unknown>, device = token) {
  const res = await api(stack.card.url, device, 'POST', '/api/subscriptions', body);
  return { ...res, sub: res.json.subscription as SubView, receipt: res.json.receipt as string };
}

function app(key = stack.merchant.apiKey) {
  return new CardServiceClient({ url: stack.card.url, apiKey: key });
}

/** The app's raw answer, for status codes and error bodies. */
function appApi(method: 'GET' | 'POST', path: string, body?: unknown, key = stack.merchant.apiKey) {
  return api(stack.card.url, key, method, path, body);
}

async function mine(device = token): Promise<SubView[]> {
  const res = await api(stack.card.url, device, 'GET', '/api/subscriptions');
  expect(res.status).toBe(200);
  return res.json.subscriptions as SubView[];
}

/** Moves the device's test clock to `to` and lets Stripe's webhooks reach the card service. */
async function advanceClock(clock: string, to: number) {
  await stripe.testHelpers.testClocks.advance(clock, { frozen_time: to });
  expect((await stripe.testHelpers.testClocks.retrieve(clock)).status).toBe('ready');
  await stack.stripe.webhooksIdle();
}

async function invoices(subscription: string) {
  return (await stripe.invoices.list({ subscription, limit: 100 })).data;
}

/** What reached the app's account: the transfers of the subscription's paid invoices. */
async function transferred(invoice: Stripe.Invoice) {
  const piId = invoice.payments?.data.find((p) => p.status === 'paid')?.payment.payment_intent as string;
  const pi = await stripe.paymentIntents.retrieve(piId, { expand: ['latest_charge.transfer'] });
  return (pi.latest_charge as Stripe.Charge).transfer as Stripe.Transfer;
}

describe('subscribing', () => {
  it('creates the plan at Stripe, pays the first period to the app, and signs a receipt the app checks offline', async () => {
    const body = terms();
    const { status, sub, receipt } = await subscribe(body);
    expect(status).toBe(200);
    expect(sub).toMatchObject({ status: 'active', cancelAtPeriodEnd: false, overageCalls: 0, amount: 2000 });
    expect(sub.currentPeriodEnd).toBeGreaterThan(sub.currentPeriodStart);
    expect(sub.testClock).toMatch(/^clock_/);

    const atStripe = await stripe.subscriptions.retrieve(sub.id, { expand: ['items.data.price'] });
    expect(atStripe.transfer_data?.destination).toBe(stack.merchant.accountId);
    const usageTypes = atStripe.items.data.map((i) => i.price.recurring?.usage_type).sort();
    expect(usageTypes).toEqual(['licensed', 'metered']);
    const metered = atStripe.items.data.find((i) => i.price.recurring?.usage_type === 'metered')!;
    const meter = await stripe.billing.meters.retrieve(metered.price.recurring!.meter!);
    expect(meter.default_aggregation.formula).toBe('sum');

    const [first] = await invoices(sub.id);
    expect(first).toMatchObject({ status: 'paid', amount_paid: 2000 });
    expect(await transferred(first!)).toMatchObject({ amount: 2000, destination: stack.merchant.accountId });

    const keys = [receiptKeyFromHex(stack.card.receiptPublicKey, stack.card.receiptKeyId)];
    const checked = verifySubscriptionReceipt(receipt, keys, {
      challengeId: body.challengeId,
      issuer: stack.card.url,
      destination: stack.merchant.accountId,
      amount: 2000n,
      currency: 'usd',
      interval: 'month',
      intervalCount: 1,
    });
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.claims).toMatchObject({ type: 'subscription', subscription: sub.id, amount: '2000' });
    // It names what was bought, not which device bought it.
    expect(JSON.stringify(checked.claims)).not.toContain('dev');
    // Not a payment receipt, and not for another plan or app.
    expect(verifyCardReceipt(receipt, keys).ok).toBe(false);
    const otherPlan = verifySubscriptionReceipt(receipt, keys, {
      challengeId: body.challengeId,
      issuer: stack.card.url,
      destination: stack.merchant.accountId,
      amount: 1000n,
      currency: 'usd',
      interval: 'month',
      intervalCount: 1,
    });
    expect(otherPlan).toEqual({
      ok: false,
      reason: 'receipt amount, currency or period differs from the plan',
    });
    const [h, p] = receipt.split('.');
    expect(verifySubscriptionReceipt(`${h}.${p}.${'A'.repeat(86)}`, keys).ok).toBe(false);
  });

  it('answers a replayed challenge with the same subscription, concurrent or later, and one at Stripe', async () => {
    const body = terms();
    const [a, b] = await Promise.all([subscribe(body), subscribe(body)]);
    const c = await subscribe(body);
    expect(a.status).toBe(200);
    expect(b.sub.id).toBe(a.sub.id);
    expect(c.sub.id).toBe(a.sub.id);
    const atStripe = (await stripe.subscriptions.list({ limit: 100 })).data.filter(
      (s) => s.metadata.paybound_challenge_id === body.challengeId,
    );
    expect(atStripe).toHaveLength(1);
    expect((await invoices(a.sub.id)).length).toBe(1);

    const changed = await subscribe({ ...body, amount: 2500 });
    expect(changed.status).toBe(409);
    expect(changed.json.error).toMatchObject({ code: 'challenge_conflict' });
    const otherDevice = await subscribe(body, other);
    expect(otherDevice.status).toBe(409);
  });

  it('refuses a plan whose first period the card declines, and keeps no subscription', async () => {
    const declining = await linkCard(stack, '4000 0000 0000 0002');
    const body = terms();
    const first = await subscribe(body, declining);
    expect(first.status).toBe(402);
    expect(first.json.error).toMatchObject({ code: 'card_declined', decline_code: 'generic_decline' });
    const again = await subscribe(body, declining);
    expect(again.status).toBe(402);
    expect(await mine(declining)).toEqual([]);
    const atStripe = (await stripe.subscriptions.list({ limit: 100, status: 'all' })).data.filter(
      (s) => s.metadata.paybound_challenge_id === body.challengeId,
    );
    expect(atStripe).toEqual([]);
  });

  it('refuses malformed terms with the reason, and creates nothing', async () => {
    const before = (await stripe.subscriptions.list({ limit: 100 })).data.length;
    const cases: [Record<string, unknown>, string][] = [
      [{ challengeId: 'short' }, 'invalid_challenge_id'],
      [{ amount: 0 }, 'invalid_amount'],
      [{ amount: 12.5 }, 'invalid_amount'],
      [{ interval: 'fortnight' }, 'invalid_interval'],
      [{ intervalCount: 13 }, 'invalid_interval_count'],
      [{ plan: { id: 'Quill Pro', name: 'x' } }, 'invalid_plan'],
      [{ overage: { unitAmount: 8 } }, 'invalid_overage'],
      [{ currency: 'eur' }, 'invalid_currency'],
      [{ destination: 'acct_notregistered1' }, 'unknown_destination'],
      [{ amount: 60_000 }, 'amount_above_limit'],
    ];
    for (const [override, code] of cases) {
      const res = await subscribe(terms(override));
      expect([res.status, res.json.error]).toEqual([expect.any(Number), expect.objectContaining({ code })]);
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    expect((await stripe.subscriptions.list({ limit: 100 })).data.length).toBe(before);
  });
});

describe('usage beyond the plan', () => {
  it('counts reports once per identifier, refuses past the cap, and bills the overage on the renewal', async () => {
    const { sub } = await subscribe(terms());
    const client = app();
    const first = await client.reportUsage(sub.id, 5, 'call-1');
    expect(first.duplicate).toBe(false);
    expect(first.subscription).toMatchObject({ overageCalls: 5, overageAmount: 40 });
    const again = await client.reportUsage(sub.id, 5, 'call-1');
    expect(again).toMatchObject({ duplicate: true, subscription: { overageCalls: 5 } });
    const conflict = await appApi('POST', `/api/merchant/subscriptions/${sub.id}/usage`, {
      quantity: 6,
      identifier: 'call-1',
    });
    expect(conflict.json.error).toMatchObject({ code: 'identifier_conflict' });

    // 5 + 7 = 12 calls × 8 = 96 ≤ 100; one more would cost 104.
    await client.reportUsage(sub.id, 7, 'call-2');
    const capped = await appApi('POST', `/api/merchant/subscriptions/${sub.id}/usage`, {
      quantity: 1,
      identifier: 'call-3',
    });
    expect(capped.status).toBe(409);
    expect(capped.json.error).toMatchObject({
      code: 'overage_cap_reached',
      capAmount: 100,
      overageCalls: 12,
      overageAmount: 96,
    });
    await expect(client.reportUsage(sub.id, 1, 'call-3')).rejects.toMatchObject({
      code: 'overage_cap_reached',
      status: 409,
    });
    expect((await client.subscription(sub.id)).overageCalls).toBe(12);

    // The period ends: the renewal invoice bills the plan and the 12 calls, paid to the app.
    await advanceClock(sub.testClock!, sub.currentPeriodEnd + 60);
    const [renewal] = await invoices(sub.id);
    expect(renewal).toMatchObject({
      status: 'paid',
      billing_reason: 'subscription_cycle',
      amount_paid: 2000 + 96,
    });
    const overageLine = renewal!.lines.data.find((l) => l.quantity === 12);
    expect(overageLine?.amount).toBe(96);
    expect(await transferred(renewal!)).toMatchObject({
      amount: 2096,
      destination: stack.merchant.accountId,
    });

    // The webhooks moved the service's row into the new period, where nothing is used yet.
    const now = (await mine()).find((s) => s.id === sub.id)!;
    expect(now).toMatchObject({
      status: 'active',
      currentPeriodStart: sub.currentPeriodEnd,
      overageCalls: 0,
    });
    expect((await client.reportUsage(sub.id, 1, 'call-3')).subscription.overageCalls).toBe(1);
  });

  it('refuses usage on a plan without overage, and malformed reports', async () => {
    const { sub } = await subscribe(terms({ overage: undefined }));
    const none = await appApi('POST', `/api/merchant/subscriptions/${sub.id}/usage`, {
      quantity: 1,
      identifier: 'x',
    });
    expect(none.json.error).toMatchObject({ code: 'no_overage' });
    const { sub: withOverage } = await subscribe(terms());
    for (const [body, code] of [
      [{ quantity: 0, identifier: 'a' }, 'invalid_quantity'],
      [{ quantity: 1.5, identifier: 'a' }, 'invalid_quantity'],
      [{ quantity: 1, identifier: 'has space' }, 'invalid_identifier'],
      [{ quantity: 1 }, 'invalid_identifier'],
    ] as const) {
      const res = await appApi('POST', `/api/merchant/subscriptions/${withOverage.id}/usage`, body);
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ code });
    }
  });
});

describe('renewals and cancelling', () => {
  it('renews when the clock passes the period end, and ends a plan cancelled at period end without renewing it', async () => {
    const { sub } = await subscribe(terms());
    await advanceClock(sub.testClock!, sub.currentPeriodEnd + 60);
    const renewed = (await mine()).find((s) => s.id === sub.id)!;
    expect(renewed.status).toBe('active');
    expect(renewed.currentPeriodStart).toBe(sub.currentPeriodEnd);
    expect((await invoices(sub.id)).map((i) => [i.billing_reason, i.status])).toEqual([
      ['subscription_cycle', 'paid'],
      ['subscription_create', 'paid'],
    ]);

    const cancelled = await api(stack.card.url, token, 'POST', `/api/subscriptions/${sub.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.subscription).toMatchObject({ cancelAtPeriodEnd: true, status: 'active' });
    await advanceClock(sub.testClock!, renewed.currentPeriodEnd + 60);
    expect((await mine()).find((s) => s.id === sub.id)).toMatchObject({ status: 'canceled' });
    // Nothing was billed after the cancellation: no third invoice.
    expect((await invoices(sub.id)).length).toBe(2);
    expect((await app().subscription(sub.id)).status).toBe('canceled');
    const usage = await appApi('POST', `/api/merchant/subscriptions/${sub.id}/usage`, {
      quantity: 1,
      identifier: 'late',
    });
    expect(usage.json.error).toMatchObject({ code: 'subscription_not_active' });
  });

  it('unlinking the card cancels its plans at their periods’ ends: nothing renews on a card taken away', async () => {
    const device = await linkCard(stack);
    const { sub } = await subscribe(terms(), device);
    const unlinked = await api(stack.card.url, device, 'DELETE', '/api/device');
    expect(unlinked).toMatchObject({ status: 200, json: { unlinked: true, plansCanceled: true } });
    expect((await stripe.subscriptions.retrieve(sub.id)).cancel_at_period_end).toBe(true);
    // The period paid for runs out; no renewal is billed after it.
    await advanceClock(sub.testClock!, sub.currentPeriodEnd + 60);
    expect((await app().subscription(sub.id)).status).toBe('canceled');
    expect((await invoices(sub.id)).map((i) => i.billing_reason)).toEqual(['subscription_create']);
  });

  it('marks a plan past due when the card declines the renewal, and refuses usage on it', async () => {
    const { sub } = await subscribe(terms(), other);
    const customer = (await stripe.subscriptions.retrieve(sub.id)).customer as string;
    const declining = await stripe.paymentMethods.attach('pm_card_chargeDeclined', { customer });
    await stripe.subscriptions.update(sub.id, { default_payment_method: declining.id });
    await stack.stripe.webhooksIdle();
    await advanceClock(sub.testClock!, sub.currentPeriodEnd + 60);
    const row = (await mine(other)).find((s) => s.id === sub.id)!;
    expect(row).toMatchObject({ status: 'past_due', currentPeriodStart: sub.currentPeriodEnd });
    const [open] = await invoices(sub.id);
    expect(open).toMatchObject({ status: 'open', amount_paid: 0 });
    const usage = await appApi('POST', `/api/merchant/subscriptions/${sub.id}/usage`, {
      quantity: 1,
      identifier: 'while-past-due',
    });
    expect(usage.status).toBe(409);
    expect(usage.json.error).toMatchObject({ code: 'subscription_not_active', status: 'past_due' });
  });

  it('lets the app cancel at period end through the kit', async () => {
    const { sub } = await subscribe(terms());
    const cancelled = await app().cancelSubscription(sub.id);
    expect(cancelled).toMatchObject({ id: sub.id, cancelAtPeriodEnd: true, status: 'active' });
    expect((await stripe.subscriptions.retrieve(sub.id)).cancel_at_period_end).toBe(true);
  });

  it('keeps a later state when Stripe delivers an earlier one late', async () => {
    const { sub } = await subscribe(terms());
    const stale = await stripe.subscriptions.retrieve(sub.id);
    await advanceClock(sub.testClock!, sub.currentPeriodEnd + 60);
    await api(stack.card.url, token, 'POST', `/api/subscriptions/${sub.id}/cancel`);
    const before = (await mine()).find((s) => s.id === sub.id)!;
    expect(before).toMatchObject({ cancelAtPeriodEnd: true, currentPeriodStart: sub.currentPeriodEnd });

    // The first period's state, active and not cancelling, arrives now.
    for (const type of ['customer.subscription.updated', 'invoice.paid']) {
      const object =
        type === 'invoice.paid'
          ? { ...(await invoices(sub.id)).at(-1)!, status: 'paid' }
          : { ...stale, cancel_at_period_end: false };
      const payload = JSON.stringify({
        id: `evt_late_${type}_${sub.id}`,
        object: 'event',
        type,
        data: { object },
      });
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
      expect(res.status).toBe(200);
    }
    expect((await mine()).find((s) => s.id === sub.id)).toEqual(before);
  });
});

describe('who may see a subscription', () => {
  it('keeps a device’s subscriptions from another device', async () => {
    const { sub } = await subscribe(terms());
    expect((await mine(other)).some((s) => s.id === sub.id)).toBe(false);
    const cancel = await api(stack.card.url, other, 'POST', `/api/subscriptions/${sub.id}/cancel`);
    expect(cancel.status).toBe(404);
    expect((await stripe.subscriptions.retrieve(sub.id)).cancel_at_period_end).toBe(false);
    const noToken = await fetch(`${stack.card.url}/api/subscriptions`);
    expect(noToken.status).toBe(401);
  });

  it('keeps an app from the subscriptions that pay another app', async () => {
    const { sub } = await subscribe(terms());
    const stranger = app(otherApp.apiKey);
    await expect(stranger.subscription(sub.id)).rejects.toMatchObject({ status: 404 });
    await expect(stranger.reportUsage(sub.id, 1, 'stolen')).rejects.toBeInstanceOf(CardServiceError);
    await expect(stranger.cancelSubscription(sub.id)).rejects.toMatchObject({ status: 404 });
    expect((await app().subscription(sub.id)).overageCalls).toBe(0);
    // A device token is not an app key.
    expect((await appApi('GET', `/api/merchant/subscriptions/${sub.id}`, undefined, token)).status).toBe(401);
  });
});
