// Stripe Billing in the stand-in: products, recurring prices (licensed and metered), billing meters
// and their events, subscriptions, the invoices they raise, and test clocks that move a customer's
// time forward. Spoken as the pinned API version shapes them: a subscription's period lives on its
// items (`items.data[].current_period_start/end`), an invoice names its subscription under
// `parent.subscription_details`, and its PaymentIntents are listed in `payments`.
//
// Time: a customer created with `test_clock` lives at that clock's `frozen_time`; every other
// customer at the wall clock. Renewals run when a clock is advanced (period by period, up to the
// new time); without a clock, whenever a subscription is read or changed after its period ended.
// Month and year periods are calendar months in UTC counted from the billing cycle anchor, the
// anchor's day clamped to the end of a shorter month (Jan 31 → Feb 28 → Mar 31), as Stripe does.
//
// Simplifications, each on purpose: a renewal invoice is finalized and paid at once (Stripe waits
// about an hour in draft); a failed renewal is not retried on a schedule (POST /v1/invoices/:id/pay
// retries it); taxes, discounts, trials, prorations and schedules do not exist here.
import { invalidRequest, missingResource, StripeApiError, stateError } from './errors';
import { bool, type FormObject, int, metadata, obj, requiredStr, str } from './form';

type Json = Record<string, unknown>;

/** What billing needs from the rest of the stand-in's ledger. */
export interface BillingHost {
  newId(prefix: string, length?: number): string;
  /** Wall-clock unix seconds. */
  now(): number;
  emit(type: string, object: Json, previous?: Json): void;
  customer(id: string, param?: string): Json & { id: string; test_clock?: string | null };
  hasAccount(id: string): boolean;
  /** A PaymentMethod attached to `customer`, or a StripeApiError naming `param`. */
  customerPaymentMethod(pmId: string, customer: string, param: string): Json & { id: string };
  /** A confirmed, automatically captured PaymentIntent; throws the card error on a decline. */
  charge(params: FormObject): Json & { id: string; status: string };
  list(items: Iterable<Json & { id: string }>, params: FormObject, url: string): Json;
  /** Runs `work` once the current request has been answered (a test clock's advance). */
  defer(work: () => void): void;
}

const INTERVALS = ['day', 'week', 'month', 'year'] as const;
type Interval = (typeof INTERVALS)[number];
const DAY = 86_400;
/** Stripe's longest billing period: three years. */
const MAX_INTERVAL: Readonly<Record<Interval, number>> = { day: 1095, week: 156, month: 36, year: 3 };
const MINIMUM_CHARGE: Readonly<Record<string, number>> = { usd: 50, eur: 50, gbp: 30, jpy: 50, cad: 50 };
const METER_EVENT_DEDUP_SECONDS = DAY;
/** Meter events may be this far in the past, and 5 minutes in the future (Stripe's window). */
const METER_EVENT_PAST_SECONDS = 35 * DAY;

interface Product extends Json {
  id: string;
  object: 'product';
  name: string;
}

interface Recurring extends Json {
  interval: Interval;
  interval_count: number;
  meter: string | null;
  usage_type: 'licensed' | 'metered';
}

interface Price extends Json {
  id: string;
  object: 'price';
  currency: string;
  unit_amount: number | null;
  product: string;
  recurring: Recurring | null;
  type: 'recurring' | 'one_time';
}

interface Meter extends Json {
  id: string;
  object: 'billing.meter';
  event_name: string;
  status: 'active' | 'inactive';
  customer_mapping: { event_payload_key: string; type: 'by_id' };
  default_aggregation: { formula: 'sum' | 'count' | 'last' };
  value_settings: { event_payload_key: string };
}

interface MeterEvent {
  event_name: string;
  identifier: string;
  customer: string;
  value: number;
  timestamp: number;
  created: number;
}

interface SubscriptionItem extends Json {
  id: string;
  object: 'subscription_item';
  current_period_start: number;
  current_period_end: number;
  price: Price;
  quantity?: number;
}

interface Subscription extends Json {
  id: string;
  object: 'subscription';
  customer: string;
  status: string;
  currency: string;
  billing_cycle_anchor: number;
  cancel_at_period_end: boolean;
  cancel_at: number | null;
  canceled_at: number | null;
  ended_at: number | null;
  default_payment_method: string | null;
  latest_invoice: string | null;
  transfer_data: { amount_percent: number | null; destination: string } | null;
  metadata: Record<string, string>;
  test_clock: string | null;
  items: { object: 'list'; data: SubscriptionItem[]; has_more: false; total_count: number; url: string };
}

interface Invoice extends Json {
  id: string;
  object: 'invoice';
  status: 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';
  customer: string;
  currency: string;
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  attempt_count: number;
  attempted: boolean;
  subtotal: number;
  total: number;
  lines: { object: 'list'; data: Json[]; has_more: false; total_count: number; url: string };
  payments: { object: 'list'; data: Json[]; has_more: false; total_count: number; url: string };
  status_transitions: {
    finalized_at: number | null;
    paid_at: number | null;
    marked_uncollectible_at: number | null;
    voided_at: number | null;
  };
  /** Our own bookkeeping (not rendered): the subscription, and who is paid. */
  subscription_id: string | null;
}

interface TestClock extends Json {
  id: string;
  object: 'test_helpers.test_clock';
  frozen_time: number;
  status: 'ready' | 'advancing' | 'internal_failure';
  status_details: Json;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function allowOnly(params: FormObject, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (key !== 'expand' && !allowed.includes(key)) {
      throw invalidRequest(`Received unknown parameter: ${key}`, key);
    }
  }
}

function listOf<T extends Json>(data: T[], url: string) {
  return { object: 'list' as const, data, has_more: false as const, total_count: data.length, url };
}

/** `anchor` moved on by `months` calendar months in UTC, its day clamped to the target month's end. */
export function addMonths(anchor: number, months: number): number {
  const d = new Date(anchor * 1000);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(d.getUTCDate(), lastDay);
  return Date.UTC(year, month, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000;
}

/** The end of the `n`-th period (n ≥ 1) counted from `anchor`: computed from the anchor, never chained. */
export function periodBoundary(anchor: number, interval: Interval, count: number, n: number): number {
  switch (interval) {
    case 'day':
      return anchor + n * count * DAY;
    case 'week':
      return anchor + n * count * 7 * DAY;
    case 'month':
      return addMonths(anchor, n * count);
    case 'year':
      return addMonths(anchor, n * count * 12);
  }
}

export class BillingState {
  readonly products = new Map<string, Product>();
  readonly prices = new Map<string, Price>();
  readonly meters = new Map<string, Meter>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly subscriptionItems = new Map<string, SubscriptionItem>();
  readonly invoices = new Map<string, Invoice>();
  readonly testClocks = new Map<string, TestClock>();
  readonly meterEvents: MeterEvent[] = [];
  readonly #host: BillingHost;

  constructor(host: BillingHost) {
    this.#host = host;
  }

  find(id: string): Json | undefined {
    for (const map of [
      this.products,
      this.prices,
      this.meters,
      this.subscriptions,
      this.subscriptionItems,
      this.testClocks,
    ] as Map<string, Json>[]) {
      const found = map.get(id);
      if (found) return found;
    }
    const invoice = this.invoices.get(id);
    return invoice ? this.#publicInvoice(invoice) : undefined;
  }

  /** The time a customer lives at: its test clock's, or the wall clock's. */
  timeOf(customerId: string): number {
    const clockId = this.#host.customer(customerId).test_clock;
    const clock = clockId ? this.testClocks.get(clockId) : undefined;
    return clock ? clock.frozen_time : this.#host.now();
  }

  // -------------------------------------------------------------------------------------------
  // Products and prices

  createProduct(params: FormObject): Product {
    allowOnly(params, ['name', 'description', 'metadata', 'active', 'id', 'unit_label', 'url']);
    const name = requiredStr(params, 'name');
    const id = str(params, 'id') ?? this.#host.newId('prod', 14);
    if (this.products.has(id)) {
      throw invalidRequest(`Product already exists.`, 'id', 'resource_already_exists');
    }
    const now = this.#host.now();
    const product: Product = {
      id,
      object: 'product',
      active: bool(params, 'active') ?? true,
      created: now,
      default_price: null,
      description: str(params, 'description') ?? null,
      images: [],
      livemode: false,
      marketing_features: [],
      metadata: metadata(params) ?? {},
      name,
      package_dimensions: null,
      shippable: null,
      statement_descriptor: null,
      tax_code: null,
      type: 'service',
      unit_label: str(params, 'unit_label') ?? null,
      updated: now,
      url: str(params, 'url') ?? null,
    };
    this.products.set(id, product);
    this.#host.emit('product.created', product);
    return product;
  }

  product(id: string, param = 'id'): Product {
    const product = this.products.get(id);
    if (!product) throw missingResource('product', id, param);
    return product;
  }

  listProducts(params: FormObject): Json {
    const active = bool(params, 'active');
    const rest = { ...params };
    delete rest.active;
    const items = [...this.products.values()].filter((p) => active === undefined || p.active === active);
    return this.#host.list(items, rest, '/v1/products');
  }

  createPrice(params: FormObject): Price {
    allowOnly(params, [
      'currency',
      'unit_amount',
      'unit_amount_decimal',
      'product',
      'product_data',
      'recurring',
      'metadata',
      'nickname',
      'lookup_key',
      'active',
      'billing_scheme',
      'tax_behavior',
    ]);
    const currency = requiredStr(params, 'currency').toLowerCase();
    if (!/^[a-z]{3}$/.test(currency)) throw invalidRequest(`Invalid currency: ${currency}`, 'currency');
    const scheme = str(params, 'billing_scheme') ?? 'per_unit';
    if (scheme !== 'per_unit') {
      throw invalidRequest('The stand-in supports only billing_scheme=per_unit.', 'billing_scheme');
    }
    const unitAmount = int(params, 'unit_amount');
    if (unitAmount === undefined) {
      throw invalidRequest(
        'Missing required param: unit_amount. (Prices with billing_scheme=per_unit need one.)',
        'unit_amount',
      );
    }
    if (unitAmount > 99_999_999) throw invalidRequest('Invalid integer: too large', 'unit_amount');
    const productId = str(params, 'product');
    const productData = obj(params, 'product_data');
    if (!productId === !productData) {
      throw invalidRequest('You must pass exactly one of product or product_data.', 'product');
    }
    const product = productId
      ? this.product(productId, 'product')
      : this.createProduct({
          name: requiredStr(productData!, 'name'),
          ...(productData!.metadata ? { metadata: productData!.metadata } : {}),
        });
    const recurringIn = obj(params, 'recurring');
    let recurring: Recurring | null = null;
    if (recurringIn) {
      const interval = requiredStr(recurringIn, 'interval') as Interval;
      if (!INTERVALS.includes(interval)) {
        throw invalidRequest(
          `Invalid recurring[interval]: must be one of ${INTERVALS.join(', ')}`,
          'recurring[interval]',
        );
      }
      const count = int(recurringIn, 'interval_count') ?? 1;
      if (count < 1 || count > MAX_INTERVAL[interval]) {
        throw invalidRequest(
          'The maximum billing interval is 3 years (3 years, 36 months, or 156 weeks).',
          'recurring[interval_count]',
        );
      }
      const usageType = str(recurringIn, 'usage_type') ?? 'licensed';
      if (usageType !== 'licensed' && usageType !== 'metered') {
        throw invalidRequest(`Invalid recurring[usage_type]: ${usageType}`, 'recurring[usage_type]');
      }
      const meterId = str(recurringIn, 'meter') ?? null;
      if (usageType === 'metered' && !meterId) {
        throw invalidRequest(
          'Metered prices must be backed by a meter: pass recurring[meter].',
          'recurring[meter]',
        );
      }
      if (usageType === 'licensed' && meterId) {
        throw invalidRequest('Only metered prices can have a meter.', 'recurring[meter]');
      }
      if (meterId) {
        const meter = this.meter(meterId, 'recurring[meter]');
        if (meter.status !== 'active') {
          throw invalidRequest("You can't attach a deactivated meter to a price.", 'recurring[meter]');
        }
      }
      recurring = {
        interval,
        interval_count: count,
        meter: meterId,
        trial_period_days: null,
        usage_type: usageType,
      };
    }
    const price: Price = {
      id: this.#host.newId('price', 24),
      object: 'price',
      active: bool(params, 'active') ?? true,
      billing_scheme: 'per_unit',
      created: this.#host.now(),
      currency,
      custom_unit_amount: null,
      livemode: false,
      lookup_key: str(params, 'lookup_key') ?? null,
      metadata: metadata(params) ?? {},
      nickname: str(params, 'nickname') ?? null,
      product: product.id,
      recurring,
      tax_behavior: str(params, 'tax_behavior') ?? 'unspecified',
      tiers_mode: null,
      transform_quantity: null,
      type: recurring ? 'recurring' : 'one_time',
      unit_amount: unitAmount,
      unit_amount_decimal: String(unitAmount),
    };
    this.prices.set(price.id, price);
    this.#host.emit('price.created', price);
    return price;
  }

  price(id: string, param = 'id'): Price {
    const price = this.prices.get(id);
    if (!price) throw missingResource('price', id, param);
    return price;
  }

  listPrices(params: FormObject): Json {
    const product = str(params, 'product');
    const rest = { ...params };
    delete rest.product;
    const items = [...this.prices.values()].filter((p) => !product || p.product === product);
    return this.#host.list(items, rest, '/v1/prices');
  }

  // -------------------------------------------------------------------------------------------
  // Billing meters and meter events

  createMeter(params: FormObject): Meter {
    allowOnly(params, [
      'display_name',
      'event_name',
      'default_aggregation',
      'customer_mapping',
      'value_settings',
      'event_time_window',
    ]);
    const displayName = requiredStr(params, 'display_name');
    const eventName = requiredStr(params, 'event_name');
    if (eventName.length > 100) throw invalidRequest('event_name is at most 100 characters.', 'event_name');
    const aggregation = obj(params, 'default_aggregation');
    if (!aggregation) {
      throw invalidRequest('Missing required param: default_aggregation.', 'default_aggregation');
    }
    const formula = requiredStr(aggregation, 'formula');
    if (formula !== 'sum' && formula !== 'count' && formula !== 'last') {
      throw invalidRequest(
        `Invalid default_aggregation[formula]: ${formula}`,
        'default_aggregation[formula]',
      );
    }
    const mapping = obj(params, 'customer_mapping');
    const mappingType = mapping ? requiredStr(mapping, 'type') : 'by_id';
    if (mappingType !== 'by_id') {
      throw invalidRequest(`Invalid customer_mapping[type]: ${mappingType}`, 'customer_mapping[type]');
    }
    const customerKey = mapping ? requiredStr(mapping, 'event_payload_key') : 'stripe_customer_id';
    const valueSettings = obj(params, 'value_settings');
    const valueKey = valueSettings ? requiredStr(valueSettings, 'event_payload_key') : 'value';
    for (const m of this.meters.values()) {
      if (m.status === 'active' && m.event_name === eventName) {
        throw invalidRequest(
          `A meter with event_name ${eventName} already exists. Event names must be unique among active meters.`,
          'event_name',
        );
      }
    }
    const now = this.#host.now();
    const meter: Meter = {
      id: this.#host.newId('mtr_test', 32),
      object: 'billing.meter',
      created: now,
      customer_mapping: { event_payload_key: customerKey, type: 'by_id' },
      default_aggregation: { formula },
      display_name: displayName,
      event_name: eventName,
      event_time_window: str(params, 'event_time_window') ?? null,
      livemode: false,
      status: 'active',
      status_transitions: { deactivated_at: null },
      updated: now,
      value_settings: { event_payload_key: valueKey },
    };
    this.meters.set(meter.id, meter);
    this.#host.emit('billing.meter.created', meter);
    return meter;
  }

  meter(id: string, param = 'id'): Meter {
    const meter = this.meters.get(id);
    if (!meter) throw missingResource('billing.meter', id, param);
    return meter;
  }

  listMeters(params: FormObject): Json {
    const status = str(params, 'status');
    const rest = { ...params };
    delete rest.status;
    const items = [...this.meters.values()].filter((m) => !status || m.status === status);
    return this.#host.list(items, rest, '/v1/billing/meters');
  }

  createMeterEvent(params: FormObject): Json {
    allowOnly(params, ['event_name', 'payload', 'identifier', 'timestamp']);
    const eventName = requiredStr(params, 'event_name');
    const payload = obj(params, 'payload');
    if (!payload) throw invalidRequest('Missing required param: payload.', 'payload');
    const meter = [...this.meters.values()].find((m) => m.status === 'active' && m.event_name === eventName);
    if (!meter) {
      throw invalidRequest(`No active meter was found for event_name ${eventName}.`, 'event_name');
    }
    const customerKey = meter.customer_mapping.event_payload_key;
    const valueKey = meter.value_settings.event_payload_key;
    const customerId = str(payload, customerKey);
    if (!customerId) {
      throw invalidRequest(`Missing required param: payload[${customerKey}].`, `payload[${customerKey}]`);
    }
    this.#host.customer(customerId, `payload[${customerKey}]`);
    const rawValue = str(payload, valueKey);
    if (meter.default_aggregation.formula !== 'count' && rawValue === undefined) {
      throw invalidRequest(`Missing required param: payload[${valueKey}].`, `payload[${valueKey}]`);
    }
    if (rawValue !== undefined && !/^\d{1,15}$/.test(rawValue)) {
      throw invalidRequest(
        `Invalid payload[${valueKey}]: the value must be a whole number, given as a string.`,
        `payload[${valueKey}]`,
      );
    }
    const wall = this.#host.now();
    const identifier = str(params, 'identifier') ?? this.#host.newId('mev', 20);
    if (identifier.length > 100) throw invalidRequest('identifier is at most 100 characters.', 'identifier');
    if (
      this.meterEvents.some(
        (e) => e.identifier === identifier && e.created > wall - METER_EVENT_DEDUP_SECONDS,
      )
    ) {
      throw invalidRequest(`An event already exists with identifier ${identifier}.`, 'identifier');
    }
    // A customer on a test clock reports at the clock's time; its window is the clock's.
    const at = this.timeOf(customerId);
    const timestamp = int(params, 'timestamp') ?? at;
    if (timestamp < at - METER_EVENT_PAST_SECONDS || timestamp > at + 300) {
      throw invalidRequest(
        'The timestamp must be within the past 35 calendar days or up to 5 minutes in the future.',
        'timestamp',
      );
    }
    const value = rawValue === undefined ? 1 : Number(rawValue);
    this.meterEvents.push({
      event_name: eventName,
      identifier,
      customer: customerId,
      value,
      timestamp,
      created: wall,
    });
    return {
      object: 'billing.meter_event',
      created: wall,
      event_name: eventName,
      identifier,
      livemode: false,
      payload: clone(payload),
      timestamp,
    };
  }

  /** The meter's aggregate for a customer over [start, end). */
  #usage(meterId: string, customer: string, start: number, end: number): number {
    const meter = this.meters.get(meterId);
    if (!meter) return 0;
    const events = this.meterEvents.filter(
      (e) =>
        e.event_name === meter.event_name &&
        e.customer === customer &&
        e.timestamp >= start &&
        e.timestamp < end,
    );
    switch (meter.default_aggregation.formula) {
      case 'count':
        return events.length;
      case 'last':
        return events.at(-1)?.value ?? 0;
      case 'sum':
        return events.reduce((sum, e) => sum + e.value, 0);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Test clocks

  createTestClock(params: FormObject): TestClock {
    allowOnly(params, ['frozen_time', 'name']);
    const frozen = int(params, 'frozen_time');
    if (frozen === undefined) throw invalidRequest('Missing required param: frozen_time.', 'frozen_time');
    const now = this.#host.now();
    const clock: TestClock = {
      id: this.#host.newId('clock', 24),
      object: 'test_helpers.test_clock',
      created: now,
      deletes_after: now + 30 * DAY,
      frozen_time: frozen,
      livemode: false,
      name: str(params, 'name') ?? null,
      status: 'ready',
      status_details: {},
    };
    this.testClocks.set(clock.id, clock);
    this.#host.emit('test_helpers.test_clock.created', clock);
    return clock;
  }

  testClock(id: string, param = 'id'): TestClock {
    const clock = this.testClocks.get(id);
    if (!clock) throw missingResource('test_helpers.test_clock', id, param);
    return clock;
  }

  listTestClocks(params: FormObject): Json {
    return this.#host.list([...this.testClocks.values()], params, '/v1/test_helpers/test_clocks');
  }

  /**
   * Moves the clock to `frozen_time`. Answered at once with status `advancing`, as Stripe answers;
   * the renewals run right after the answer, then the clock is `ready` again
   * (`test_helpers.test_clock.ready`): a client polls it, as it must with Stripe.
   */
  advanceTestClock(id: string, params: FormObject): TestClock {
    allowOnly(params, ['frozen_time']);
    const clock = this.testClock(id);
    const target = int(params, 'frozen_time');
    if (target === undefined) throw invalidRequest('Missing required param: frozen_time.', 'frozen_time');
    if (clock.status === 'advancing') {
      throw stateError('The test clock is already advancing.', 'test_clock_advancing');
    }
    if (target <= clock.frozen_time) {
      throw invalidRequest(
        `The frozen time must be after the test clock's current frozen time (${clock.frozen_time}).`,
        'frozen_time',
      );
    }
    const limit = this.#advanceLimit(clock);
    if (target > limit) {
      throw invalidRequest(
        `Cannot advance more than two intervals of the shortest subscription on this test clock (to ${limit} at most).`,
        'frozen_time',
      );
    }
    clock.status = 'advancing';
    clock.status_details = { advancing: { target_frozen_time: target } };
    const answer = clone(clock);
    this.#host.emit('test_helpers.test_clock.advancing', clock);
    this.#host.defer(() => {
      this.#runUntil(clock, target);
      clock.frozen_time = target;
      clock.status = 'ready';
      clock.status_details = {};
      this.#host.emit('test_helpers.test_clock.ready', clock);
    });
    return answer;
  }

  #advanceLimit(clock: TestClock): number {
    let limit = addMonths(clock.frozen_time, 24);
    for (const sub of this.subscriptions.values()) {
      if (sub.test_clock !== clock.id || sub.status === 'canceled') continue;
      const r = sub.items.data[0]?.price.recurring;
      if (r) limit = Math.min(limit, periodBoundary(clock.frozen_time, r.interval, r.interval_count, 2));
    }
    return limit;
  }

  /** Every subscription on the clock, renewed (or ended) period by period until `target`. */
  #runUntil(clock: TestClock, target: number): void {
    for (;;) {
      const due = [...this.subscriptions.values()]
        .filter((s) => s.test_clock === clock.id && this.#live(s) && this.#periodEnd(s) <= target)
        .sort((a, b) => this.#periodEnd(a) - this.#periodEnd(b));
      const next = due[0];
      if (!next) return;
      // Objects made at this step carry the clock's time then.
      clock.frozen_time = Math.max(clock.frozen_time, this.#periodEnd(next));
      this.#cycle(next);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Subscriptions

  /** Whether the subscription moves on at its period's end (an incomplete one never started). */
  #live(sub: Subscription): boolean {
    return ['active', 'past_due', 'trialing', 'unpaid'].includes(sub.status);
  }

  #periodEnd(sub: Subscription): number {
    return sub.items.data[0]?.current_period_end ?? Number.POSITIVE_INFINITY;
  }

  /** Without a test clock, a subscription whose period ended renews when it is next looked at. */
  #catchUp(sub: Subscription): void {
    if (sub.test_clock) return;
    const now = this.#host.now();
    while (this.#live(sub) && this.#periodEnd(sub) <= now) this.#cycle(sub);
  }

  createSubscription(params: FormObject): Subscription {
    allowOnly(params, [
      'customer',
      'items',
      'default_payment_method',
      'transfer_data',
      'application_fee_percent',
      'metadata',
      'cancel_at_period_end',
      'payment_behavior',
      'off_session',
      'collection_method',
      'description',
      'currency',
    ]);
    const customerId = requiredStr(params, 'customer');
    const customer = this.#host.customer(customerId, 'customer');
    const itemsIn = params.items;
    if (!Array.isArray(itemsIn) || itemsIn.length === 0) {
      throw invalidRequest('Missing required param: items.', 'items');
    }
    if (itemsIn.length > 20) throw invalidRequest('A subscription can have at most 20 items.', 'items');
    const prices = itemsIn.map((raw, i) => {
      if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidRequest('Invalid array', `items[${i}]`);
      allowOnly(raw, ['price', 'quantity', 'metadata']);
      const price = this.price(requiredStr(raw, 'price'), `items[${i}][price]`);
      if (!price.recurring || !price.active) {
        throw invalidRequest(
          `The price specified (${price.id}) is not an active recurring price; subscriptions need recurring prices.`,
          `items[${i}][price]`,
        );
      }
      const quantity = int(raw, 'quantity');
      if (price.recurring.usage_type === 'metered' && quantity !== undefined) {
        throw invalidRequest(
          'Quantity should not be specified where usage_type is `metered`. Remove quantity from `items`.',
          `items[${i}][quantity]`,
        );
      }
      return {
        price,
        quantity: price.recurring.usage_type === 'licensed' ? (quantity ?? 1) : undefined,
        meta: metadata(raw) ?? {},
      };
    });
    const first = prices[0]!.price;
    for (const [i, { price }] of prices.entries()) {
      if (price.currency !== first.currency) {
        throw invalidRequest(
          'All prices on a subscription must have the same currency.',
          `items[${i}][price]`,
        );
      }
      if (
        price.recurring!.interval !== first.recurring!.interval ||
        price.recurring!.interval_count !== first.recurring!.interval_count
      ) {
        throw invalidRequest(
          'All prices on a subscription must have the same recurring.interval and recurring.interval_count.',
          `items[${i}][price]`,
        );
      }
    }
    const collection = str(params, 'collection_method') ?? 'charge_automatically';
    if (collection !== 'charge_automatically') {
      throw invalidRequest(
        'The stand-in supports only collection_method=charge_automatically.',
        'collection_method',
      );
    }
    const behaviour = str(params, 'payment_behavior') ?? 'allow_incomplete';
    if (!['allow_incomplete', 'error_if_incomplete', 'default_incomplete'].includes(behaviour)) {
      throw invalidRequest(`Invalid payment_behavior: ${behaviour}`, 'payment_behavior');
    }
    const pmId = str(params, 'default_payment_method');
    if (pmId) this.#host.customerPaymentMethod(pmId, customerId, 'default_payment_method');
    const transferData = this.#transferData(params);
    const start = this.timeOf(customerId);
    const r = first.recurring!;
    const end = periodBoundary(start, r.interval, r.interval_count, 1);
    const id = this.#host.newId('sub', 24);
    const items = prices.map(({ price, quantity, meta }) => {
      const item: SubscriptionItem = {
        id: this.#host.newId('si', 14),
        object: 'subscription_item',
        billing_thresholds: null,
        created: start,
        current_period_end: end,
        current_period_start: start,
        discounts: [],
        metadata: meta,
        plan: this.#plan(price),
        price: clone(price),
        subscription: id,
        tax_rates: [],
      };
      if (quantity !== undefined) item.quantity = quantity;
      this.subscriptionItems.set(item.id, item);
      return item;
    });
    const sub: Subscription = {
      id,
      object: 'subscription',
      application: null,
      application_fee_percent: null,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null },
      billing_cycle_anchor: start,
      billing_cycle_anchor_config: null,
      billing_mode: { flexible: null, type: 'classic' },
      billing_thresholds: null,
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      cancellation_details: { comment: null, feedback: null, reason: null },
      collection_method: 'charge_automatically',
      created: start,
      currency: first.currency,
      customer: customerId,
      days_until_due: null,
      default_payment_method: pmId ?? null,
      default_source: null,
      description: str(params, 'description') ?? null,
      discounts: [],
      ended_at: null,
      invoice_settings: { account_tax_ids: null, issuer: { type: 'self' } },
      items: listOf(items, `/v1/subscription_items?subscription=${id}`),
      latest_invoice: null,
      livemode: false,
      metadata: metadata(params) ?? {},
      next_pending_invoice_item_invoice: null,
      on_behalf_of: null,
      pause_collection: null,
      payment_settings: {
        payment_method_options: null,
        payment_method_types: null,
        save_default_payment_method: 'off',
      },
      pending_invoice_item_interval: null,
      pending_setup_intent: null,
      pending_update: null,
      schedule: null,
      start_date: start,
      status: 'incomplete',
      test_clock: customer.test_clock ?? null,
      transfer_data: transferData,
      trial_end: null,
      trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
      trial_start: null,
    };
    const cancelAtEnd = bool(params, 'cancel_at_period_end') ?? false;
    sub.cancel_at_period_end = cancelAtEnd;
    if (cancelAtEnd) {
      sub.cancel_at = end;
      sub.canceled_at = start;
    }
    // The first invoice: the licensed items for the first period, paid now (metered usage is billed
    // in arrears, at the period's end).
    const invoice = this.#draftInvoice(sub, 'subscription_create', start, start, [
      ...this.#licensedLines(sub, start, end),
      ...this.#meteredLines(sub, start, end, true),
    ]);
    sub.latest_invoice = invoice.id;
    if (behaviour === 'default_incomplete') {
      this.#finalize(invoice);
      this.subscriptions.set(id, sub);
      this.#host.emit('customer.subscription.created', sub);
      return sub;
    }
    const declined = this.#finalizeAndPay(invoice, sub);
    if (declined && behaviour === 'error_if_incomplete') {
      // Stripe keeps no subscription behind a refused error_if_incomplete request.
      for (const item of items) this.subscriptionItems.delete(item.id);
      this.invoices.delete(invoice.id);
      throw declined;
    }
    sub.status = invoice.status === 'paid' ? 'active' : 'incomplete';
    this.subscriptions.set(id, sub);
    this.#host.emit('customer.subscription.created', sub);
    return sub;
  }

  #transferData(params: FormObject): Subscription['transfer_data'] {
    const transfer = obj(params, 'transfer_data');
    if (!transfer) return null;
    const destination = requiredStr(transfer, 'destination');
    if (!this.#host.hasAccount(destination)) {
      throw missingResource('destination', destination, 'transfer_data[destination]');
    }
    const percent = str(transfer, 'amount_percent');
    if (percent !== undefined && !/^\d{1,3}(\.\d+)?$/.test(percent)) {
      throw invalidRequest('Invalid decimal', 'transfer_data[amount_percent]');
    }
    return { amount_percent: percent === undefined ? null : Number(percent), destination };
  }

  #plan(price: Price): Json {
    return {
      id: price.id,
      object: 'plan',
      active: price.active,
      amount: price.unit_amount,
      amount_decimal: price.unit_amount_decimal,
      billing_scheme: 'per_unit',
      created: price.created,
      currency: price.currency,
      interval: price.recurring?.interval,
      interval_count: price.recurring?.interval_count,
      livemode: false,
      metadata: {},
      meter: price.recurring?.meter ?? null,
      nickname: price.nickname,
      product: price.product,
      tiers_mode: null,
      transform_usage: null,
      trial_period_days: null,
      usage_type: price.recurring?.usage_type,
    };
  }

  subscription(id: string, param = 'id'): Subscription {
    const sub = this.subscriptions.get(id);
    if (!sub) throw missingResource('subscription', id, param);
    this.#catchUp(sub);
    return sub;
  }

  listSubscriptions(params: FormObject): Json {
    const customer = str(params, 'customer');
    const status = str(params, 'status');
    const rest = { ...params };
    delete rest.customer;
    delete rest.status;
    const items = [...this.subscriptions.values()].filter((s) => {
      this.#catchUp(s);
      if (customer && s.customer !== customer) return false;
      // Stripe lists the ones not canceled unless asked for a status (or all).
      if (!status) return s.status !== 'canceled';
      return status === 'all' || s.status === status;
    });
    return this.#host.list(items, rest, '/v1/subscriptions');
  }

  updateSubscription(id: string, params: FormObject): Subscription {
    allowOnly(params, ['cancel_at_period_end', 'default_payment_method', 'metadata', 'description']);
    const sub = this.subscription(id);
    if (sub.status === 'canceled') {
      throw stateError(
        'A canceled subscription can only update its cancellation_details and metadata.',
        'resource_missing',
      );
    }
    const previous: Json = {};
    const cancel = bool(params, 'cancel_at_period_end');
    if (cancel !== undefined && cancel !== sub.cancel_at_period_end) {
      previous.cancel_at_period_end = sub.cancel_at_period_end;
      previous.cancel_at = sub.cancel_at;
      previous.canceled_at = sub.canceled_at;
      sub.cancel_at_period_end = cancel;
      sub.cancel_at = cancel ? this.#periodEnd(sub) : null;
      sub.canceled_at = cancel ? this.timeOf(sub.customer) : null;
      sub.cancellation_details = {
        comment: null,
        feedback: null,
        reason: cancel ? 'cancellation_requested' : null,
      };
    }
    const pmId = str(params, 'default_payment_method');
    if (pmId !== undefined) {
      if (pmId !== '') this.#host.customerPaymentMethod(pmId, sub.customer, 'default_payment_method');
      previous.default_payment_method = sub.default_payment_method;
      sub.default_payment_method = pmId === '' ? null : pmId;
    }
    const meta = metadata(params);
    if (meta) {
      previous.metadata = { ...sub.metadata };
      sub.metadata = { ...sub.metadata, ...meta };
    }
    const description = str(params, 'description');
    if (description !== undefined) {
      previous.description = sub.description;
      sub.description = description === '' ? null : description;
    }
    if (Object.keys(previous).length > 0) this.#host.emit('customer.subscription.updated', sub, previous);
    return sub;
  }

  /** DELETE /v1/subscriptions/:id: ends it now; `invoice_now` bills the usage not billed yet. */
  cancelSubscription(id: string, params: FormObject): Subscription {
    allowOnly(params, ['invoice_now', 'prorate', 'cancellation_details']);
    const sub = this.subscription(id);
    if (sub.status === 'canceled') {
      throw invalidRequest(`No such subscription: '${id}'`, 'id', 'resource_missing');
    }
    const at = this.timeOf(sub.customer);
    if (bool(params, 'invoice_now')) {
      const start = sub.items.data[0]!.current_period_start;
      const lines = this.#meteredLines(sub, start, at, false);
      if (lines.length > 0)
        this.#finalizeAndPay(this.#draftInvoice(sub, 'subscription_update', start, at, lines), sub);
    }
    this.#end(sub, at, 'cancellation_requested');
    return sub;
  }

  #end(sub: Subscription, at: number, reason: string): void {
    sub.status = 'canceled';
    sub.ended_at = at;
    sub.canceled_at ??= at;
    sub.cancel_at = null;
    sub.cancel_at_period_end = false;
    sub.cancellation_details = { comment: null, feedback: null, reason };
    this.#host.emit('customer.subscription.deleted', sub);
  }

  /** The end of the current period: renew into the next one (invoiced and paid), or end. */
  #cycle(sub: Subscription): void {
    const first = sub.items.data[0]!;
    const start = first.current_period_start;
    const end = first.current_period_end;
    if (sub.cancel_at_period_end) {
      // The last period's usage is still owed: a final invoice bills it.
      const lines = this.#meteredLines(sub, start, end, false);
      if (lines.length > 0) {
        const invoice = this.#draftInvoice(sub, 'subscription_cycle', start, end, lines);
        sub.latest_invoice = invoice.id;
        this.#finalizeAndPay(invoice, sub);
      }
      this.#end(sub, end, 'cancellation_requested');
      return;
    }
    const r = first.price.recurring!;
    // The number of the period starting now, counted from the anchor (computed, never chained).
    let n = 1;
    while (periodBoundary(sub.billing_cycle_anchor, r.interval, r.interval_count, n) <= start) n++;
    const nextEnd = periodBoundary(sub.billing_cycle_anchor, r.interval, r.interval_count, n + 1);
    const previous: Json = {
      items: clone(sub.items),
      latest_invoice: sub.latest_invoice,
    };
    // Usage of the period that ended, in arrears; the licensed items for the one that begins.
    const lines = [...this.#meteredLines(sub, start, end, true), ...this.#licensedLines(sub, end, nextEnd)];
    for (const item of sub.items.data) {
      item.current_period_start = end;
      item.current_period_end = nextEnd;
      this.subscriptionItems.set(item.id, item);
    }
    const invoice = this.#draftInvoice(sub, 'subscription_cycle', start, end, lines);
    sub.latest_invoice = invoice.id;
    const before = sub.status;
    this.#finalizeAndPay(invoice, sub);
    if (invoice.status === 'paid') {
      if (sub.status === 'past_due' || sub.status === 'incomplete') sub.status = 'active';
    } else if (sub.status === 'active') {
      sub.status = 'past_due';
    }
    if (sub.status !== before) previous.status = before;
    this.#host.emit('customer.subscription.updated', sub, previous);
  }

  // -------------------------------------------------------------------------------------------
  // Invoices

  #licensedLines(sub: Subscription, start: number, end: number): Json[] {
    return sub.items.data
      .filter((item) => item.price.recurring?.usage_type === 'licensed')
      .map((item) => this.#line(sub, item, item.quantity ?? 1, start, end));
  }

  /** One line per metered item with its usage over [start, end); `zero` keeps lines with none. */
  #meteredLines(sub: Subscription, start: number, end: number, zero: boolean): Json[] {
    return sub.items.data
      .filter((item) => item.price.recurring?.usage_type === 'metered')
      .map((item) => ({
        item,
        quantity: this.#usage(item.price.recurring!.meter!, sub.customer, start, end),
      }))
      .filter(({ quantity }) => zero || quantity > 0)
      .map(({ item, quantity }) => this.#line(sub, item, quantity, start, end));
  }

  #line(sub: Subscription, item: SubscriptionItem, quantity: number, start: number, end: number): Json {
    const unit = item.price.unit_amount ?? 0;
    const amount = unit * quantity;
    const product = this.products.get(item.price.product);
    return {
      id: this.#host.newId('il', 24),
      object: 'line_item',
      amount,
      currency: sub.currency,
      description: `${quantity} × ${product?.name ?? 'item'}`,
      discount_amounts: [],
      discountable: true,
      discounts: [],
      invoice: null,
      livemode: false,
      metadata: {},
      parent: {
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: null,
          proration: false,
          proration_details: { credited_items: null },
          subscription: sub.id,
          subscription_item: item.id,
        },
        type: 'subscription_item_details',
      },
      period: { end, start },
      pretax_credit_amounts: [],
      pricing: {
        price_details: { price: item.price.id, product: item.price.product },
        type: 'price_details',
        unit_amount_decimal: String(unit),
      },
      quantity,
      subscription: sub.id,
      subtotal: amount,
      taxes: [],
    };
  }

  #draftInvoice(
    sub: Subscription,
    reason: string,
    periodStart: number,
    periodEnd: number,
    lines: Json[],
  ): Invoice {
    const id = this.#host.newId('in', 24);
    for (const line of lines) line.invoice = id;
    const total = lines.reduce((sum, l) => sum + Number(l.amount), 0);
    const created = this.timeOf(sub.customer);
    const invoice: Invoice = {
      id,
      object: 'invoice',
      account_country: 'US',
      account_name: null,
      amount_due: total,
      amount_overpaid: 0,
      amount_paid: 0,
      amount_remaining: total,
      amount_shipping: 0,
      application: null,
      attempt_count: 0,
      attempted: false,
      auto_advance: true,
      automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
      automatically_finalizes_at: null,
      billing_reason: reason,
      collection_method: 'charge_automatically',
      created,
      currency: sub.currency,
      customer: sub.customer,
      default_payment_method: null,
      description: null,
      discounts: [],
      due_date: null,
      effective_at: null,
      hosted_invoice_url: null,
      invoice_pdf: null,
      last_finalization_error: null,
      lines: listOf(lines, `/v1/invoices/${id}/lines`),
      livemode: false,
      metadata: {},
      next_payment_attempt: null,
      number: null,
      on_behalf_of: null,
      parent: {
        quote_details: null,
        subscription_details: { metadata: { ...sub.metadata }, subscription: sub.id },
        type: 'subscription_details',
      },
      payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
      payments: listOf([], `/v1/invoice_payments?invoice=${id}`),
      period_end: periodEnd,
      period_start: periodStart,
      status: 'draft',
      status_transitions: {
        finalized_at: null,
        marked_uncollectible_at: null,
        paid_at: null,
        voided_at: null,
      },
      subtotal: total,
      subtotal_excluding_tax: total,
      test_clock: sub.test_clock,
      total,
      total_excluding_tax: total,
      total_taxes: [],
      webhooks_delivered_at: created,
      subscription_id: sub.id,
    };
    this.invoices.set(id, invoice);
    this.#host.emit('invoice.created', this.#publicInvoice(invoice));
    return invoice;
  }

  #finalize(invoice: Invoice): void {
    invoice.status = 'open';
    invoice.number = `PB-${String(this.invoices.size).padStart(4, '0')}`;
    const at = this.timeOf(invoice.customer);
    invoice.effective_at = at;
    invoice.status_transitions.finalized_at = at;
    this.#host.emit('invoice.finalized', this.#publicInvoice(invoice));
  }

  /** Finalizes and tries to pay; returns the card error when the card was declined. */
  #finalizeAndPay(invoice: Invoice, sub: Subscription): StripeApiError | null {
    this.#finalize(invoice);
    return this.#attempt(invoice, sub, sub.default_payment_method);
  }

  #attempt(
    invoice: Invoice,
    sub: Subscription | undefined,
    pmOverride: string | null,
  ): StripeApiError | null {
    const at = this.timeOf(invoice.customer);
    const minimum = MINIMUM_CHARGE[invoice.currency] ?? 50;
    if (invoice.amount_remaining === 0 || invoice.amount_remaining < minimum) {
      // Nothing to charge, or less than a card can be charged: Stripe marks it paid and carries a
      // small amount to the customer's balance.
      if (invoice.amount_remaining > 0) {
        const customer = this.#host.customer(invoice.customer);
        customer.balance = Number(customer.balance ?? 0) + invoice.amount_remaining;
        invoice.amount_remaining = 0;
      }
      this.#paid(invoice, at);
      return null;
    }
    const customer = this.#host.customer(invoice.customer);
    const pm =
      pmOverride ??
      (customer.invoice_settings as { default_payment_method: string | null } | undefined)
        ?.default_payment_method ??
      null;
    invoice.attempted = true;
    invoice.attempt_count += 1;
    if (!pm) {
      this.#host.emit('invoice.payment_failed', this.#publicInvoice(invoice));
      return stateError(
        'This customer has no attached payment source or default payment method.',
        'invoice_no_payment_method_types',
      );
    }
    const transfer = sub?.transfer_data;
    const pi = (() => {
      try {
        return this.#host.charge({
          amount: String(invoice.amount_remaining),
          currency: invoice.currency,
          customer: invoice.customer,
          payment_method: pm,
          confirm: 'true',
          off_session: 'true',
          capture_method: 'automatic',
          description:
            invoice.billing_reason === 'subscription_create'
              ? 'Subscription creation'
              : 'Subscription update',
          ...(transfer
            ? {
                transfer_data: {
                  destination: transfer.destination,
                  ...(transfer.amount_percent !== null
                    ? {
                        amount: String(
                          Math.floor((invoice.amount_remaining * transfer.amount_percent) / 100),
                        ),
                      }
                    : {}),
                },
              }
            : {}),
        });
      } catch (err) {
        if (err instanceof StripeApiError && err.body.type === 'card_error') return err;
        throw err;
      }
    })();
    const piId =
      pi instanceof StripeApiError ? (pi.body.payment_intent as { id?: string } | undefined)?.id : pi.id;
    const payment: Json = {
      id: this.#host.newId('inpay', 24),
      object: 'invoice_payment',
      amount_paid: pi instanceof StripeApiError ? null : invoice.amount_remaining,
      amount_requested: invoice.amount_remaining,
      created: at,
      currency: invoice.currency,
      invoice: invoice.id,
      is_default: true,
      livemode: false,
      payment: { payment_intent: piId ?? null, type: 'payment_intent' },
      status: pi instanceof StripeApiError ? 'open' : 'paid',
      status_transitions: { canceled_at: null, paid_at: pi instanceof StripeApiError ? null : at },
    };
    for (const p of invoice.payments.data) p.is_default = false;
    invoice.payments.data.push(payment);
    invoice.payments.total_count = invoice.payments.data.length;
    if (pi instanceof StripeApiError) {
      this.#host.emit('invoice.payment_failed', this.#publicInvoice(invoice));
      return pi;
    }
    invoice.amount_paid += invoice.amount_remaining;
    invoice.amount_remaining = 0;
    this.#paid(invoice, at);
    return null;
  }

  #paid(invoice: Invoice, at: number): void {
    invoice.status = 'paid';
    invoice.status_transitions.paid_at = at;
    invoice.next_payment_attempt = null;
    this.#host.emit('invoice.paid', this.#publicInvoice(invoice));
    this.#host.emit('invoice.payment_succeeded', this.#publicInvoice(invoice));
  }

  invoice(id: string): Json {
    const invoice = this.invoices.get(id);
    if (!invoice) throw missingResource('invoice', id);
    return this.#publicInvoice(invoice);
  }

  listInvoices(params: FormObject): Json {
    const subscription = str(params, 'subscription');
    const customer = str(params, 'customer');
    const status = str(params, 'status');
    const rest = { ...params };
    delete rest.subscription;
    delete rest.customer;
    delete rest.status;
    if (subscription) {
      const sub = this.subscriptions.get(subscription);
      if (sub) this.#catchUp(sub);
    }
    const items = [...this.invoices.values()]
      .filter(
        (i) =>
          (!subscription || i.subscription_id === subscription) &&
          (!customer || i.customer === customer) &&
          (!status || i.status === status),
      )
      .map((i) => this.#publicInvoice(i));
    return this.#host.list(items as (Json & { id: string })[], rest, '/v1/invoices');
  }

  /** POST /v1/invoices/:id/pay: tries an open invoice again (a past-due subscription recovers). */
  payInvoice(id: string, params: FormObject): Json {
    allowOnly(params, ['payment_method', 'off_session']);
    const invoice = this.invoices.get(id);
    if (!invoice) throw missingResource('invoice', id);
    if (invoice.status !== 'open') {
      throw stateError(`Invoice is already ${invoice.status}`, 'invoice_not_open');
    }
    const sub = invoice.subscription_id ? this.subscriptions.get(invoice.subscription_id) : undefined;
    const pm = str(params, 'payment_method');
    if (pm) this.#host.customerPaymentMethod(pm, invoice.customer, 'payment_method');
    const declined = this.#attempt(invoice, sub, pm ?? sub?.default_payment_method ?? null);
    if (declined) throw declined;
    if (
      sub &&
      (sub.status === 'past_due' || sub.status === 'incomplete') &&
      sub.latest_invoice === invoice.id
    ) {
      const before = sub.status;
      sub.status = 'active';
      this.#host.emit('customer.subscription.updated', sub, { status: before });
    }
    return this.#publicInvoice(invoice);
  }

  #publicInvoice(invoice: Invoice): Json {
    const { subscription_id: _own, ...rest } = invoice;
    return rest;
  }
}
