// Plans beside pay-per-use, on the card (docs/plans.md §4): a Stripe subscription per subscribe
// challenge, on the platform, paying the app's connected account (transfer_data[destination]).
//
// For one challenge the service creates a Product, a licensed recurring Price (the plan's price),
// and, when the plan has overage, a Billing Meter of its own and a metered Price on it; then the
// Subscription with those items on the device's customer and card. Every create carries an
// idempotency key derived from the challenge id and the challenge id is unique in the database,
// so one challenge never becomes two subscriptions, whichever instance it reaches.
//
// The app reports calls beyond the plan as usage: each report is a meter event (its identifier
// scoped to the subscription), refused once this period's overage would cost more than the cap
// the payer agreed to. Stripe bills the usage in arrears on the next invoice.
//
// State (status, period, cancel at period end) follows Stripe: API answers and webhooks
// (invoice.paid, invoice.payment_failed, customer.subscription.*) both read the subscription and
// write it inside the subscription's lock, and the write never moves a row to an earlier period
// nor out of `canceled` — so a late event cannot undo a later state.
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type { CardDb, Row } from './db';
import { wellFormed } from './http';
import { CHALLENGE_ID, type Device, type DeviceLimits, type Outcome, readAmount } from './payments';
import type { PlanInterval, ReceiptSigner } from './receipt';
import { mapStripeError } from './stripe';

const ACCOUNT_ID = /^acct_[A-Za-z0-9]{1,64}$/;
const CURRENCY = /^[a-z]{3}$/;
const PLAN_ID = /^[a-z0-9-]{1,40}$/;
const INTERVALS: readonly PlanInterval[] = ['day', 'week', 'month', 'year'];
/** The app's identifier for one usage report: unique per subscription. */
const USAGE_IDENTIFIER = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_USAGE_QUANTITY = 1_000_000;
export const SUBSCRIPTION_ID = /^sub_[A-Za-z0-9]{1,64}$/;

export interface SubscriptionView {
  id: string;
  challengeId: string;
  status: string;
  plan: { id: string; name: string };
  amount: number;
  currency: string;
  interval: PlanInterval;
  intervalCount: number;
  destination: string;
  overage: { unitAmount: number; capAmount: number } | null;
  /** Unix seconds. */
  currentPeriodStart: number;
  currentPeriodEnd: number;
  cancelAtPeriodEnd: boolean;
  /** Calls beyond the plan the app reported in the current period, and what they cost. */
  overageCalls: number;
  overageAmount: number;
  /** The Stripe test clock the subscription lives on (test mode only), else null. */
  testClock: string | null;
  createdAt: number;
}

export interface SubscriptionsOptions {
  db: CardDb;
  stripe: Stripe;
  signer: ReceiptSigner;
  issuer: string;
  receiptTtlSeconds: number;
  /** Largest price per period, and largest overage cap, in minor units. */
  maxAmount: number;
  currencies: readonly string[];
  /** The device's own limits (payments.ts): a plan price above its per-charge limit is refused. */
  limits(deviceId: string): Promise<DeviceLimits>;
  now: () => number;
}

function refuse(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
  return { ok: false as const, error: { status, code, message, details } };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

interface Terms {
  challengeId: string;
  destination: string;
  amount: number;
  currency: string;
  interval: PlanInterval;
  intervalCount: number;
  plan: { id: string; name: string };
  overage: { unitAmount: number; capAmount: number } | null;
}

export class Subscriptions {
  readonly #o: SubscriptionsOptions;

  constructor(options: SubscriptionsOptions) {
    this.#o = options;
  }

  #nowS(): number {
    return Math.floor(this.#o.now() / 1000);
  }

  find(id: string): Promise<Row | undefined> {
    return this.#o.db.get('SELECT * FROM subscriptions WHERE id = ?', [id]);
  }

  async #overageCalls(row: Row): Promise<number> {
    const used = await this.#o.db.get(
      'SELECT COALESCE(SUM(quantity), 0) AS used FROM subscription_usage WHERE subscription_id = ? AND period_start = ?',
      [String(row.id), Number(row.current_period_start)],
    );
    return Number(used?.used ?? 0);
  }

  async view(row: Row): Promise<SubscriptionView> {
    const unit = row.overage_unit_amount === null ? null : Number(row.overage_unit_amount);
    const calls = unit === null ? 0 : await this.#overageCalls(row);
    return {
      id: String(row.id),
      challengeId: String(row.challenge_id),
      status: String(row.status),
      plan: { id: String(row.plan_id), name: String(row.plan_name) },
      amount: Number(row.amount),
      currency: String(row.currency),
      interval: String(row.period_unit) as PlanInterval,
      intervalCount: Number(row.period_count),
      destination: String(row.destination),
      overage: unit === null ? null : { unitAmount: unit, capAmount: Number(row.overage_cap_amount) },
      currentPeriodStart: Number(row.current_period_start),
      currentPeriodEnd: Number(row.current_period_end),
      cancelAtPeriodEnd: Number(row.cancel_at_period_end) === 1,
      overageCalls: calls,
      overageAmount: unit === null ? 0 : calls * unit,
      testClock: row.test_clock === null ? null : String(row.test_clock),
      createdAt: Number(row.created_at),
    };
  }

  #receipt(row: Row): string {
    const iat = this.#nowS();
    return this.#o.signer.signSubscription({
      v: 1,
      type: 'subscription',
      iss: this.#o.issuer,
      challengeId: String(row.challenge_id),
      subscription: String(row.id),
      amount: String(row.amount),
      currency: String(row.currency),
      interval: String(row.period_unit) as PlanInterval,
      intervalCount: Number(row.period_count),
      destination: String(row.destination),
      iat,
      exp: iat + this.#o.receiptTtlSeconds,
    });
  }

  #readTerms(body: Record<string, unknown>): Terms | ReturnType<typeof refuse> {
    const { challengeId, destination, currency, interval, plan, overage } = body;
    if (typeof challengeId !== 'string' || !CHALLENGE_ID.test(challengeId)) {
      return refuse(400, 'invalid_challenge_id', 'challengeId must be 8–200 characters of [A-Za-z0-9_-]');
    }
    if (typeof destination !== 'string' || !ACCOUNT_ID.test(destination)) {
      return refuse(400, 'invalid_destination', 'destination must be a connected account id (acct_…)');
    }
    const amount = readAmount(body.amount);
    if (amount === null) {
      return refuse(400, 'invalid_amount', 'amount must be a positive integer of minor units (per period)');
    }
    if (amount > this.#o.maxAmount) {
      return refuse(
        422,
        'amount_above_limit',
        `amount exceeds this service's limit of ${this.#o.maxAmount} minor units`,
      );
    }
    if (typeof currency !== 'string' || !CURRENCY.test(currency) || !this.#o.currencies.includes(currency)) {
      return refuse(
        400,
        'invalid_currency',
        `currency must be one of ${this.#o.currencies.join(', ')} (lowercase)`,
      );
    }
    if (typeof interval !== 'string' || !(INTERVALS as readonly string[]).includes(interval)) {
      return refuse(400, 'invalid_interval', `interval must be one of ${INTERVALS.join(', ')}`);
    }
    const intervalCount = body.intervalCount ?? 1;
    if (
      typeof intervalCount !== 'number' ||
      !Number.isInteger(intervalCount) ||
      intervalCount < 1 ||
      intervalCount > 12
    ) {
      return refuse(400, 'invalid_interval_count', 'intervalCount must be a whole number from 1 to 12');
    }
    if (
      !isObject(plan) ||
      typeof plan.id !== 'string' ||
      !PLAN_ID.test(plan.id) ||
      typeof plan.name !== 'string' ||
      plan.name.trim() === '' ||
      plan.name.length > 60 ||
      !wellFormed(plan.name)
    ) {
      return refuse(400, 'invalid_plan', 'plan must be {id: [a-z0-9-]{1,40}, name: 1–60 characters}');
    }
    let over: Terms['overage'] = null;
    if (overage !== undefined && overage !== null) {
      const unitAmount = isObject(overage) ? readAmount(overage.unitAmount) : null;
      const capAmount = isObject(overage) ? readAmount(overage.capAmount) : null;
      if (unitAmount === null || capAmount === null) {
        return refuse(
          400,
          'invalid_overage',
          'overage must be {unitAmount, capAmount}, positive integers of minor units',
        );
      }
      if (capAmount > this.#o.maxAmount) {
        return refuse(
          422,
          'amount_above_limit',
          `overage capAmount exceeds this service's limit of ${this.#o.maxAmount}`,
        );
      }
      over = { unitAmount, capAmount };
    }
    return {
      challengeId,
      destination,
      amount,
      currency,
      interval: interval as PlanInterval,
      intervalCount,
      plan: { id: plan.id, name: plan.name.trim() },
      overage: over,
    };
  }

  /** POST /api/subscriptions */
  async create(
    device: Device,
    body: Record<string, unknown>,
  ): Promise<Outcome<{ subscription: SubscriptionView; receipt: string }>> {
    const terms = this.#readTerms(body);
    if ('ok' in terms) return terms;
    if (
      !(await this.#o.db.get('SELECT account_id FROM merchants WHERE account_id = ?', [terms.destination]))
    ) {
      return refuse(
        422,
        'unknown_destination',
        'destination is not an app registered with this card service',
      );
    }
    // One subscription per challenge at a time, whichever instances the requests reach: the second
    // waits, then finds the first one's subscription and answers with it.
    return this.#o.db.exclusive(`subscription challenge ${terms.challengeId}`, () =>
      this.#create(device, terms),
    );
  }

  async #create(
    device: Device,
    t: Terms,
  ): Promise<Outcome<{ subscription: SubscriptionView; receipt: string }>> {
    const existing = await this.#o.db.get('SELECT * FROM subscriptions WHERE challenge_id = ?', [
      t.challengeId,
    ]);
    if (existing) return this.#replay(device, existing, t);
    const { perChargeMinor } = await this.#o.limits(device.id);
    if (perChargeMinor !== null && t.amount > perChargeMinor) {
      return refuse(422, 'above_device_limit', `this device may pay at most ${perChargeMinor} per charge`, {
        perChargeMinor,
      });
    }
    const key = (what: string) => ({ idempotencyKey: `subscription:${t.challengeId}:${what}` });
    const meta = {
      paybound_challenge_id: t.challengeId,
      paybound_device: device.id,
      paybound_plan: t.plan.id,
    };
    const stripe = this.#o.stripe;
    let sub: Stripe.Subscription;
    let ids: {
      product: string;
      price: string;
      meter: string | null;
      eventName: string | null;
      metered: string | null;
    };
    try {
      const product = await stripe.products.create({ name: t.plan.name, metadata: meta }, key('product'));
      const recurring = { interval: t.interval, interval_count: t.intervalCount };
      const price = await stripe.prices.create(
        {
          product: product.id,
          currency: t.currency,
          unit_amount: t.amount,
          recurring: { ...recurring, usage_type: 'licensed' },
          metadata: meta,
        },
        key('price'),
      );
      ids = { product: product.id, price: price.id, meter: null, eventName: null, metered: null };
      if (t.overage) {
        // A meter per subscription: usage is summed per customer, and one device may hold plans at
        // several apps.
        const eventName = `paybound_overage_${createHash('sha256').update(t.challengeId).digest('hex').slice(0, 32)}`;
        const meter = await stripe.billing.meters.create(
          {
            display_name: `${t.plan.name} overage`.slice(0, 250),
            event_name: eventName,
            default_aggregation: { formula: 'sum' },
            customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
            value_settings: { event_payload_key: 'value' },
          },
          key('meter'),
        );
        const metered = await stripe.prices.create(
          {
            product: product.id,
            currency: t.currency,
            unit_amount: t.overage.unitAmount,
            recurring: { ...recurring, usage_type: 'metered', meter: meter.id },
            metadata: meta,
          },
          key('metered-price'),
        );
        ids = { ...ids, meter: meter.id, eventName, metered: metered.id };
      }
      sub = await stripe.subscriptions.create(
        {
          customer: device.customerId,
          items: [{ price: ids.price }, ...(ids.metered ? [{ price: ids.metered }] : [])],
          default_payment_method: device.paymentMethodId,
          transfer_data: { destination: t.destination },
          // A declined first payment refuses the subscription: nothing half-made is left at Stripe.
          payment_behavior: 'error_if_incomplete',
          off_session: true,
          metadata: meta,
        },
        key('subscription'),
      );
    } catch (err) {
      return { ok: false, error: mapStripeError(err) };
    }
    if (sub.status !== 'active' && sub.status !== 'trialing') {
      // e.g. the bank wants the cardholder present, which a wallet paying on its own cannot offer.
      await stripe.subscriptions.cancel(sub.id).catch(() => undefined);
      return refuse(
        402,
        'authentication_required',
        'The card issuer requires the cardholder to authenticate this payment.',
        {
          decline_code: 'authentication_required',
        },
      );
    }
    const item = sub.items.data[0]!;
    const now = this.#nowS();
    await this.#o.db.run(
      `INSERT INTO subscriptions (id, challenge_id, device_id, destination, customer_id, test_clock, plan_id,
         plan_name, currency, amount, period_unit, period_count, overage_unit_amount, overage_cap_amount,
         product_id, price_id, meter_id, meter_event_name, metered_price_id, status, current_period_start,
         current_period_end, cancel_at_period_end, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [
        sub.id,
        t.challengeId,
        device.id,
        t.destination,
        device.customerId,
        typeof sub.test_clock === 'string' ? sub.test_clock : (sub.test_clock?.id ?? null),
        t.plan.id,
        t.plan.name,
        t.currency,
        t.amount,
        t.interval,
        t.intervalCount,
        t.overage?.unitAmount ?? null,
        t.overage?.capAmount ?? null,
        ids.product,
        ids.price,
        ids.meter,
        ids.eventName,
        ids.metered,
        sub.status,
        item.current_period_start,
        item.current_period_end,
        sub.cancel_at_period_end ? 1 : 0,
        now,
        now,
      ],
    );
    const row = (await this.find(sub.id))!;
    return {
      ok: true,
      status: 200,
      body: { subscription: await this.view(row), receipt: this.#receipt(row) },
    };
  }

  async #replay(
    device: Device,
    row: Row,
    t: Terms,
  ): Promise<Outcome<{ subscription: SubscriptionView; receipt: string }>> {
    if (row.device_id !== device.id) {
      return refuse(409, 'challenge_conflict', 'This challenge was already used by another wallet.');
    }
    const same =
      row.destination === t.destination &&
      Number(row.amount) === t.amount &&
      row.currency === t.currency &&
      row.period_unit === t.interval &&
      Number(row.period_count) === t.intervalCount &&
      row.plan_id === t.plan.id &&
      (row.overage_unit_amount === null ? null : Number(row.overage_unit_amount)) ===
        (t.overage?.unitAmount ?? null) &&
      (row.overage_cap_amount === null ? null : Number(row.overage_cap_amount)) ===
        (t.overage?.capAmount ?? null);
    if (!same) {
      return refuse(
        409,
        'challenge_conflict',
        'This challenge was already used for a subscription on other terms.',
      );
    }
    return {
      ok: true,
      status: 200,
      body: { subscription: await this.view(row), receipt: this.#receipt(row) },
    };
  }

  async list(deviceId: string): Promise<SubscriptionView[]> {
    const rows = await this.#o.db.all(
      'SELECT * FROM subscriptions WHERE device_id = ? ORDER BY created_at DESC, seq DESC LIMIT 200',
      [deviceId],
    );
    return Promise.all(rows.map((r) => this.view(r)));
  }

  /** Cancels at the period's end (the payer or the app): what was paid for runs out, nothing renews. */
  cancel(row: Row): Promise<Outcome<{ subscription: SubscriptionView }>> {
    const id = String(row.id);
    return this.#o.db.exclusive(`subscription ${id}`, async () => {
      const fresh = (await this.find(id)) ?? row;
      if (fresh.status !== 'canceled') {
        try {
          const sub = await this.#o.stripe.subscriptions.update(
            id,
            { cancel_at_period_end: true },
            { idempotencyKey: `subscription:${id}:cancel-at-period-end` },
          );
          await this.#write(sub);
        } catch (err) {
          return { ok: false, error: mapStripeError(err) };
        }
      }
      return { ok: true, status: 200, body: { subscription: await this.view((await this.find(id))!) } };
    });
  }

  /**
   * A device is being unlinked: each plan it still pays is cancelled at its period's end, as if
   * the payer had cancelled it, so nothing renews on a card the user took away. Resolves with how
   * many Stripe did not take (those fail at renewal anyway: the card is detached next).
   */
  async cancelAllOf(deviceId: string): Promise<number> {
    const rows = await this.#o.db.all(
      "SELECT * FROM subscriptions WHERE device_id = ? AND status <> 'canceled' AND cancel_at_period_end = 0",
      [deviceId],
    );
    const outcomes = await Promise.all(rows.map((r) => this.cancel(r)));
    return outcomes.filter((o) => !o.ok).length;
  }

  /** POST /api/merchant/subscriptions/:id/usage {quantity, identifier} */
  async usage(
    row: Row,
    body: Record<string, unknown>,
  ): Promise<
    Outcome<{
      usage: { identifier: string; quantity: number; duplicate: boolean };
      subscription: SubscriptionView;
    }>
  > {
    const quantity = readAmount(body.quantity);
    if (quantity === null || quantity > MAX_USAGE_QUANTITY) {
      return refuse(
        400,
        'invalid_quantity',
        `quantity must be a whole number of calls from 1 to ${MAX_USAGE_QUANTITY}`,
      );
    }
    const identifier = body.identifier;
    if (typeof identifier !== 'string' || !USAGE_IDENTIFIER.test(identifier)) {
      return refuse(400, 'invalid_identifier', 'identifier must be 1–64 characters of [A-Za-z0-9._:-]');
    }
    if (row.overage_unit_amount === null) {
      return refuse(409, 'no_overage', 'this plan has no overage: calls beyond it are paid per use');
    }
    const id = String(row.id);
    return this.#o.db.exclusive(`subscription ${id}`, async () => {
      let fresh = (await this.find(id)) ?? row;
      const seen = await this.#o.db.get(
        'SELECT quantity FROM subscription_usage WHERE subscription_id = ? AND identifier = ?',
        [id, identifier],
      );
      if (seen) {
        if (Number(seen.quantity) !== quantity) {
          return refuse(409, 'identifier_conflict', 'this identifier was reported with another quantity');
        }
        return {
          ok: true,
          status: 200,
          body: { usage: { identifier, quantity, duplicate: true }, subscription: await this.view(fresh) },
        };
      }
      let at: number;
      try {
        at = await this.#timeOf(fresh);
        if (at >= Number(fresh.current_period_end) || at < Number(fresh.current_period_start)) {
          // The period turned and no webhook said so yet: ask Stripe.
          await this.#write(await this.#o.stripe.subscriptions.retrieve(id));
          fresh = (await this.find(id)) ?? fresh;
        }
      } catch (err) {
        return { ok: false, error: mapStripeError(err) };
      }
      if (fresh.status !== 'active' && fresh.status !== 'trialing') {
        return refuse(409, 'subscription_not_active', `this subscription is ${String(fresh.status)}`, {
          status: String(fresh.status),
        });
      }
      const unit = Number(fresh.overage_unit_amount);
      const cap = Number(fresh.overage_cap_amount);
      const used = await this.#overageCalls(fresh);
      if ((used + quantity) * unit > cap) {
        return refuse(
          409,
          'overage_cap_reached',
          `this period's overage would cost ${(used + quantity) * unit}, above the cap of ${cap}`,
          { capAmount: cap, unitAmount: unit, overageCalls: used, overageAmount: used * unit },
        );
      }
      const periodStart = Number(fresh.current_period_start);
      // Recorded first, inside the lock: the cap counts it before Stripe is asked.
      await this.#o.db.run(
        `INSERT INTO subscription_usage (subscription_id, identifier, quantity, period_start, reported_at)
         VALUES (?, ?, ?, ?, ?)`,
        [id, identifier, quantity, periodStart, at],
      );
      try {
        await this.#o.stripe.billing.meterEvents.create(
          {
            event_name: String(fresh.meter_event_name),
            payload: { stripe_customer_id: String(fresh.customer_id), value: String(quantity) },
            identifier: `${id}:${identifier}`,
            timestamp: at,
          },
          { idempotencyKey: `usage:${id}:${identifier}` },
        );
      } catch (err) {
        // Stripe already holding this identifier means it was delivered before (a lost answer).
        const delivered = err instanceof Error && /already exists with identifier/i.test(err.message);
        if (!delivered) {
          await this.#o.db.run(
            'DELETE FROM subscription_usage WHERE subscription_id = ? AND identifier = ?',
            [id, identifier],
          );
          return { ok: false, error: mapStripeError(err) };
        }
      }
      return {
        ok: true,
        status: 200,
        body: { usage: { identifier, quantity, duplicate: false }, subscription: await this.view(fresh) },
      };
    });
  }

  /** The time the subscription lives at: its test clock's (test mode), else now. */
  async #timeOf(row: Row): Promise<number> {
    if (row.test_clock === null) return this.#nowS();
    return (await this.#o.stripe.testHelpers.testClocks.retrieve(String(row.test_clock))).frozen_time;
  }

  /**
   * Mirrors a subscription's state. Never to an earlier period, never out of `canceled`, and within
   * one period a cancellation at its end stays (the service offers no way to take it back).
   */
  async #write(sub: Stripe.Subscription): Promise<void> {
    const item = sub.items.data[0];
    if (!item) return;
    const start = item.current_period_start;
    const cancelAtEnd = sub.cancel_at_period_end ? 1 : 0;
    await this.#o.db.run(
      `UPDATE subscriptions SET status = ?, current_period_start = ?, current_period_end = ?,
         cancel_at_period_end = CASE WHEN current_period_start = ? THEN GREATEST(cancel_at_period_end, ?) ELSE ? END,
         updated_at = ?
       WHERE id = ? AND status <> 'canceled' AND current_period_start <= ?`,
      [
        sub.status,
        start,
        item.current_period_end,
        start,
        cancelAtEnd,
        cancelAtEnd,
        this.#nowS(),
        sub.id,
        start,
      ],
    );
  }

  /**
   * A webhook about a subscription (its own events, or its invoices'): the state is read from
   * Stripe inside the subscription's lock, so events arriving late or out of order write the
   * latest state, never the one they carry.
   */
  async stripeEvent(subscriptionId: string | null): Promise<void> {
    if (!subscriptionId || !(await this.find(subscriptionId))) return;
    await this.#o.db.exclusive(`subscription ${subscriptionId}`, async () => {
      await this.#write(await this.#o.stripe.subscriptions.retrieve(subscriptionId));
    });
  }
}

/** The subscription an invoice belongs to, if it is a subscription's. */
export function invoiceSubscription(invoice: Stripe.Invoice): string | null {
  const sub = invoice.parent?.subscription_details?.subscription;
  return typeof sub === 'string' ? sub : (sub?.id ?? null);
}
