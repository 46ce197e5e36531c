// The Stripe stand-in's ledger: every object it knows, and the state machines Stripe documents for
// them. Handlers take parsed form parameters and return API objects, or throw StripeApiError.
import { randomBytes } from 'node:crypto';
import { BillingState } from './billing';
import { fingerprint, luhnValid, type TestCard, testCardByNumber, testCardByShortcut } from './cards';
import { cardError, invalidRequest, missingResource, StripeApiError, stateError } from './errors';
import { bool, type FormObject, int, metadata, obj, requiredStr, str, strList } from './form';

export type Json = Record<string, unknown>;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += BASE62[b % 62];
  return `${prefix}_${out}`;
}

// Stripe's minimum charge amounts (a few currencies; others default to 50 minor units).
const MINIMUM_AMOUNT: Readonly<Record<string, number>> = { usd: 50, eur: 50, gbp: 30, jpy: 50, cad: 50 };
const CURRENCY = /^[a-z]{3}$/;
const DAY = 86_400;

interface Account extends Json {
  id: string;
  object: 'account';
}

interface Customer extends Json {
  id: string;
  object: 'customer';
  deleted?: true;
  test_clock?: string | null;
}

interface PaymentMethod extends Json {
  id: string;
  object: 'payment_method';
  customer: string | null;
  card: { brand: string; last4: string; exp_month: number; exp_year: number; funding: string } & Json;
}

interface SetupIntent extends Json {
  id: string;
  object: 'setup_intent';
  status: string;
  payment_method: string | null;
  customer: string | null;
}

interface CheckoutSession extends Json {
  id: string;
  object: 'checkout.session';
  status: 'open' | 'complete' | 'expired';
  customer: string | null;
  setup_intent: string | null;
  success_url: string;
  cancel_url: string | null;
  url: string | null;
  expires_at: number;
}

interface PaymentIntent extends Json {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status: string;
  capture_method: string;
  customer: string | null;
  payment_method: string | null;
  latest_charge: string | null;
  transfer_data: { destination: string; amount?: number } | null;
  application_fee_amount: number | null;
  last_payment_error: Json | null;
  cancellation_reason: string | null;
  canceled_at: number | null;
  metadata: Record<string, string>;
}

interface Charge extends Json {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  captured: boolean;
  refunded: boolean;
  disputed: boolean;
  status: 'succeeded' | 'failed' | 'pending';
  currency: string;
  payment_intent: string;
  payment_method: string;
  transfer: string | null;
  transfer_data: { destination: string; amount?: number | null } | null;
}

interface Transfer extends Json {
  id: string;
  object: 'transfer';
  amount: number;
  amount_reversed: number;
  reversed: boolean;
  currency: string;
  destination: string;
  reversals: { object: 'list'; data: Json[]; has_more: false; total_count: number; url: string };
}

interface Refund extends Json {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  payment_intent: string;
}

interface Dispute extends Json {
  id: string;
  object: 'dispute';
  status: string;
  charge: string;
  payment_intent: string;
}

export interface StripeEvent extends Json {
  id: string;
  object: 'event';
  type: string;
  created: number;
  data: { object: Json; previous_attributes?: Json };
}

export type EventSink = (event: StripeEvent) => void;

export interface RequestContext {
  requestId: string;
  idempotencyKey: string | null;
  apiVersion: string;
}

export interface StateOptions {
  baseUrl: () => string;
  now: () => number;
  apiVersion: string;
  emit: EventSink;
}

/** Parameters allowed on each create call; anything else is refused, as Stripe refuses it. */
function allowOnly(params: FormObject, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (key !== 'expand' && !allowed.includes(key)) {
      throw invalidRequest(`Received unknown parameter: ${key}`, key);
    }
  }
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function currencyOf(params: FormObject): string {
  const currency = requiredStr(params, 'currency').toLowerCase();
  if (!CURRENCY.test(currency)) throw invalidRequest(`Invalid currency: ${currency}`, 'currency');
  return currency;
}

function formatMinor(amount: number, currency: string): string {
  const major = Math.trunc(amount / 100);
  const minor = String(amount % 100).padStart(2, '0');
  return currency === 'usd' ? `$${major}.${minor}` : `${major}.${minor} ${currency}`;
}

export class StripeState {
  readonly accounts = new Map<string, Account>();
  readonly customers = new Map<string, Customer>();
  readonly paymentMethods = new Map<string, PaymentMethod>();
  readonly setupIntents = new Map<string, SetupIntent>();
  readonly sessions = new Map<string, CheckoutSession>();
  readonly paymentIntents = new Map<string, PaymentIntent>();
  readonly charges = new Map<string, Charge>();
  readonly transfers = new Map<string, Transfer>();
  readonly refunds = new Map<string, Refund>();
  readonly disputes = new Map<string, Dispute>();
  readonly events: StripeEvent[] = [];
  /** Products, prices, meters, subscriptions, invoices and test clocks (billing.ts). */
  readonly billing: BillingState;
  /** Work that runs once the current request is answered (a test clock's advance). */
  #deferred: (() => void)[] = [];
  /** The test card behind each PaymentMethod (Stripe knows it; the API does not show it). */
  readonly #cards = new Map<string, TestCard>();
  readonly #opts: StateOptions;
  #ctx: RequestContext = { requestId: '', idempotencyKey: null, apiVersion: '' };

  constructor(opts: StateOptions) {
    this.#opts = opts;
    this.billing = new BillingState({
      newId,
      now: () => this.#now(),
      emit: (type, object, previous) => this.#emit(type, object, previous),
      customer: (id, param) => this.customer(id, param),
      hasAccount: (id) => this.accounts.has(id),
      customerPaymentMethod: (pmId, customer, param) => {
        const pm = this.paymentMethod(pmId, param);
        if (pm.customer !== customer) {
          throw invalidRequest(
            `The customer does not have a payment method with the ID ${pmId}. The payment method must be attached to the customer.`,
            param,
          );
        }
        return pm;
      },
      charge: (params) => this.createPaymentIntent(params),
      list: (items, params, url) => this.list(items, params, url),
      defer: (work) => this.#deferred.push(work),
    });
  }

  /** Runs the work deferred by the request just answered; its events are nobody's request. */
  runDeferred(): void {
    const work = this.#deferred;
    this.#deferred = [];
    if (work.length === 0) return;
    this.#ctx = { requestId: '', idempotencyKey: null, apiVersion: this.#opts.apiVersion };
    for (const w of work) w();
  }

  /** Sets the request that the next events are attributed to. */
  setContext(ctx: RequestContext): void {
    this.#ctx = ctx;
  }

  #now(): number {
    return Math.floor(this.#opts.now() / 1000);
  }

  #emit(type: string, object: Json, previous?: Json): void {
    const event: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      api_version: this.#opts.apiVersion,
      created: this.#now(),
      data: previous ? { object: clone(object), previous_attributes: previous } : { object: clone(object) },
      livemode: false,
      pending_webhooks: 0,
      request: { id: this.#ctx.requestId || null, idempotency_key: this.#ctx.idempotencyKey },
      type,
    };
    this.events.push(event);
    this.#opts.emit(event);
  }

  // -------------------------------------------------------------------------------------------
  // Lookup and expansion

  find(id: string): Json | undefined {
    const maps: Map<string, Json>[] = [
      this.accounts,
      this.customers,
      this.paymentMethods,
      this.setupIntents,
      this.sessions,
      this.paymentIntents,
      this.charges,
      this.transfers,
      this.refunds,
      this.disputes,
    ];
    for (const map of maps) {
      const found = map.get(id);
      if (found) return found;
    }
    return this.billing.find(id);
  }

  /** A copy of `object` with `expand[]` paths (dotted, e.g. `setup_intent.payment_method`) filled in. */
  render(object: Json, expand: readonly string[] = []): Json {
    const out = clone(object);
    for (const path of expand) this.#expandPath(out, path.split('.'), path);
    return out;
  }

  #expandPath(target: Json, parts: string[], full: string): void {
    const [head, ...rest] = parts;
    if (head === undefined) return;
    const value = target[head];
    if (value === undefined) {
      throw invalidRequest(`This property cannot be expanded (${full}).`, 'expand');
    }
    if (typeof value === 'string') {
      const found = this.find(value);
      if (!found) return;
      target[head] = clone(found);
    }
    const next = target[head];
    // A list's `data`: the rest of the path applies to each of its objects.
    if (Array.isArray(next)) {
      for (const each of next) {
        if (rest.length > 0 && typeof each === 'object' && each !== null)
          this.#expandPath(each as Json, rest, full);
      }
      return;
    }
    if (rest.length > 0 && typeof next === 'object' && next !== null) {
      this.#expandPath(next as Json, rest, full);
    }
  }

  list<T extends Json>(items: Iterable<T>, params: FormObject, url: string): Json {
    const limit = int(params, 'limit') ?? 10;
    if (limit < 1 || limit > 100) throw invalidRequest('Invalid limit: must be between 1 and 100', 'limit');
    // Newest first, as Stripe lists.
    let all = [...items].reverse();
    const after = str(params, 'starting_after');
    if (after) {
      const at = all.findIndex((x) => x.id === after);
      if (at === -1) throw missingResource('object', after, 'starting_after');
      all = all.slice(at + 1);
    }
    return {
      object: 'list',
      data: all.slice(0, limit).map((x) => clone(x)),
      has_more: all.length > limit,
      url,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Accounts (Connect)

  createAccount(params: FormObject): Account {
    allowOnly(params, [
      'type',
      'controller',
      'country',
      'email',
      'business_profile',
      'capabilities',
      'metadata',
      'default_currency',
      'business_type',
    ]);
    const type = str(params, 'type') ?? (obj(params, 'controller') ? 'none' : 'standard');
    if (!['standard', 'express', 'custom', 'none'].includes(type)) {
      throw invalidRequest(`Invalid type: ${type}`, 'type');
    }
    const capabilities: Record<string, string> = {};
    for (const [name, value] of Object.entries(obj(params, 'capabilities') ?? {})) {
      if (typeof value === 'object' && !Array.isArray(value) && value.requested === 'true') {
        capabilities[name] = 'active';
      }
    }
    const profile = obj(params, 'business_profile') ?? {};
    const account: Account = {
      id: newId('acct', 16),
      object: 'account',
      type,
      country: str(params, 'country') ?? 'US',
      email: str(params, 'email') ?? null,
      default_currency: str(params, 'default_currency') ?? 'usd',
      business_profile: {
        name: typeof profile.name === 'string' ? profile.name : null,
        url: typeof profile.url === 'string' ? profile.url : null,
      },
      capabilities,
      charges_enabled: true,
      payouts_enabled: true,
      details_submitted: true,
      created: this.#now(),
      livemode: false,
      metadata: metadata(params) ?? {},
    };
    this.accounts.set(account.id, account);
    this.#emit('account.updated', account);
    return account;
  }

  account(id: string): Account {
    const account = this.accounts.get(id);
    if (!account) throw missingResource('account', id);
    return account;
  }

  // -------------------------------------------------------------------------------------------
  // Customers

  createCustomer(params: FormObject): Customer {
    allowOnly(params, ['email', 'name', 'description', 'metadata', 'payment_method', 'phone', 'test_clock']);
    const clock = str(params, 'test_clock');
    if (clock) this.billing.testClock(clock, 'test_clock');
    const customer: Customer = {
      id: newId('cus', 14),
      object: 'customer',
      email: str(params, 'email') ?? null,
      name: str(params, 'name') ?? null,
      description: str(params, 'description') ?? null,
      phone: str(params, 'phone') ?? null,
      created: this.#now(),
      livemode: false,
      metadata: metadata(params) ?? {},
      invoice_settings: { default_payment_method: null },
      balance: 0,
      currency: null,
      delinquent: false,
      test_clock: clock ?? null,
    };
    this.customers.set(customer.id, customer);
    this.#emit('customer.created', customer);
    const pm = str(params, 'payment_method');
    if (pm) this.attachPaymentMethod(pm, { customer: customer.id });
    return customer;
  }

  customer(id: string, param = 'id'): Customer {
    const customer = this.customers.get(id);
    if (!customer || customer.deleted) throw missingResource('customer', id, param);
    return customer;
  }

  updateCustomer(id: string, params: FormObject): Customer {
    allowOnly(params, ['email', 'name', 'description', 'metadata', 'invoice_settings', 'phone']);
    const customer = this.customer(id);
    for (const key of ['email', 'name', 'description', 'phone'] as const) {
      const v = str(params, key);
      if (v !== undefined) customer[key] = v === '' ? null : v;
    }
    const meta = metadata(params);
    if (meta) customer.metadata = { ...(customer.metadata as Record<string, string>), ...meta };
    const settings = obj(params, 'invoice_settings');
    if (settings && typeof settings.default_payment_method === 'string') {
      const pmId = settings.default_payment_method;
      if (pmId !== '') {
        const pm = this.paymentMethod(pmId, 'invoice_settings[default_payment_method]');
        if (pm.customer !== id) {
          throw invalidRequest(
            `The customer does not have a payment method with the ID ${pmId}. The payment method must be attached to the customer.`,
            'invoice_settings[default_payment_method]',
          );
        }
      }
      customer.invoice_settings = { default_payment_method: pmId === '' ? null : pmId };
    }
    this.#emit('customer.updated', customer);
    return customer;
  }

  deleteCustomer(id: string): Json {
    const customer = this.customer(id);
    for (const pm of this.paymentMethods.values()) {
      if (pm.customer === id) pm.customer = null;
    }
    customer.deleted = true;
    this.#emit('customer.deleted', customer);
    return { id, object: 'customer', deleted: true };
  }

  // -------------------------------------------------------------------------------------------
  // Payment methods

  #newPaymentMethod(card: TestCard, expMonth: number, expYear: number, name: string | null): PaymentMethod {
    const pm: PaymentMethod = {
      id: newId('pm', 24),
      object: 'payment_method',
      type: 'card',
      created: this.#now(),
      customer: null,
      livemode: false,
      metadata: {},
      allow_redisplay: 'unspecified',
      billing_details: { name, email: null, phone: null, address: null },
      card: {
        brand: card.brand,
        last4: card.number.slice(-4),
        exp_month: expMonth,
        exp_year: expYear,
        funding: card.funding,
        country: 'US',
        fingerprint: fingerprint(card.number),
        display_brand: card.brand,
        checks: { cvc_check: 'pass', address_line1_check: null, address_postal_code_check: null },
      },
    };
    this.paymentMethods.set(pm.id, pm);
    this.#cards.set(pm.id, card);
    return pm;
  }

  /** A PaymentMethod id, or a `pm_card_*` test shortcut, which makes a fresh PaymentMethod. */
  resolvePaymentMethod(id: string, param: string): PaymentMethod {
    const shortcut = testCardByShortcut(id);
    if (shortcut) {
      const year = new Date(this.#opts.now()).getUTCFullYear() + 3;
      return this.#newPaymentMethod(shortcut, 12, year, null);
    }
    return this.paymentMethod(id, param);
  }

  paymentMethod(id: string, param = 'id'): PaymentMethod {
    const pm = this.paymentMethods.get(id);
    if (!pm) throw missingResource('PaymentMethod', id, param);
    return pm;
  }

  cardBehaviour(pmId: string): TestCard['behaviour'] {
    return this.#cards.get(pmId)?.behaviour ?? 'succeed';
  }

  attachPaymentMethod(id: string, params: FormObject): PaymentMethod {
    allowOnly(params, ['customer']);
    const customerId = requiredStr(params, 'customer');
    this.customer(customerId, 'customer');
    const pm = this.resolvePaymentMethod(id, 'payment_method');
    if (pm.customer && pm.customer !== customerId) {
      throw invalidRequest(
        'The payment method you provided has already been attached to a customer.',
        'payment_method',
      );
    }
    pm.customer = customerId;
    this.#emit('payment_method.attached', pm);
    return pm;
  }

  detachPaymentMethod(id: string): PaymentMethod {
    const pm = this.paymentMethod(id);
    if (!pm.customer) {
      throw invalidRequest(
        `The payment method you provided is not attached to a customer so detachment is impossible.`,
        'payment_method',
      );
    }
    const previous = { customer: pm.customer };
    for (const c of this.customers.values()) {
      const settings = c.invoice_settings as { default_payment_method: string | null };
      if (settings.default_payment_method === id) settings.default_payment_method = null;
    }
    pm.customer = null;
    this.#emit('payment_method.detached', pm, previous);
    return pm;
  }

  listPaymentMethods(params: FormObject, customerId?: string): Json {
    const customer = customerId ?? str(params, 'customer');
    if (customer) this.customer(customer, 'customer');
    const type = str(params, 'type');
    if (type && type !== 'card') return this.list([], params, '/v1/payment_methods');
    const items = [...this.paymentMethods.values()].filter((pm) => !customer || pm.customer === customer);
    const rest = { ...params };
    delete rest.customer;
    delete rest.type;
    return this.list(
      items,
      rest,
      customer ? `/v1/customers/${customer}/payment_methods` : '/v1/payment_methods',
    );
  }

  // -------------------------------------------------------------------------------------------
  // Setup intents and Checkout Sessions (setup mode)

  #newSetupIntent(customer: string | null, pm: string | null, meta: Record<string, string>): SetupIntent {
    const id = newId('seti', 24);
    const si: SetupIntent = {
      id,
      object: 'setup_intent',
      client_secret: `${id}_secret_${randomBytes(12).toString('hex')}`,
      created: this.#now(),
      customer,
      payment_method: pm,
      payment_method_types: ['card'],
      status: pm ? 'requires_confirmation' : 'requires_payment_method',
      usage: 'off_session',
      livemode: false,
      metadata: meta,
      last_setup_error: null,
      cancellation_reason: null,
    };
    this.setupIntents.set(id, si);
    this.#emit('setup_intent.created', si);
    return si;
  }

  #confirmSetupIntent(si: SetupIntent): void {
    if (!si.payment_method) {
      throw stateError(
        "You cannot confirm this SetupIntent because it's missing a payment method.",
        'setup_intent_unexpected_state',
      );
    }
    const pm = this.paymentMethod(si.payment_method, 'payment_method');
    if (si.customer) {
      if (pm.customer && pm.customer !== si.customer) {
        throw invalidRequest('The payment method belongs to a different customer.', 'payment_method');
      }
      if (!pm.customer) {
        pm.customer = si.customer;
        this.#emit('payment_method.attached', pm);
      }
    }
    si.status = 'succeeded';
    this.#emit('setup_intent.succeeded', si);
  }

  createSetupIntent(params: FormObject): SetupIntent {
    allowOnly(params, ['customer', 'payment_method', 'confirm', 'usage', 'payment_method_types', 'metadata']);
    const customer = str(params, 'customer');
    if (customer) this.customer(customer, 'customer');
    const pmParam = str(params, 'payment_method');
    const pm = pmParam ? this.resolvePaymentMethod(pmParam, 'payment_method').id : null;
    const si = this.#newSetupIntent(customer ?? null, pm, metadata(params) ?? {});
    const usage = str(params, 'usage');
    if (usage) si.usage = usage;
    if (bool(params, 'confirm')) this.#confirmSetupIntent(si);
    return si;
  }

  setupIntent(id: string): SetupIntent {
    const si = this.setupIntents.get(id);
    if (!si) throw missingResource('setupintent', id);
    return si;
  }

  createCheckoutSession(params: FormObject): CheckoutSession {
    allowOnly(params, [
      'mode',
      'customer',
      'currency',
      'success_url',
      'cancel_url',
      'client_reference_id',
      'metadata',
      'payment_method_types',
      'allowed_payment_method_types',
      'setup_intent_data',
      'expires_at',
      'locale',
    ]);
    const mode = requiredStr(params, 'mode');
    if (mode !== 'setup') {
      throw invalidRequest(`The stand-in supports only mode=setup, not ${mode}.`, 'mode');
    }
    const successUrl = requiredStr(params, 'success_url');
    const cancelUrl = str(params, 'cancel_url') ?? null;
    for (const [param, url] of [
      ['success_url', successUrl],
      ['cancel_url', cancelUrl],
    ] as const) {
      if (url !== null && !/^https?:\/\/\S+$/.test(url)) throw invalidRequest(`Not a valid URL`, param);
    }
    const types = strList(params, 'payment_method_types') ?? strList(params, 'allowed_payment_method_types');
    if (types?.some((t) => t !== 'card')) {
      throw invalidRequest('The stand-in supports only card payment methods.', 'payment_method_types');
    }
    const currencyRaw = str(params, 'currency');
    if (!types && currencyRaw === undefined) {
      throw invalidRequest(
        'currency is required in setup mode when payment_method_types is not set.',
        'currency',
      );
    }
    const currency = currencyRaw === undefined ? null : currencyOf(params);
    const customer = str(params, 'customer') ?? null;
    if (customer) this.customer(customer, 'customer');
    const setupData = obj(params, 'setup_intent_data');
    const expiresAt = int(params, 'expires_at') ?? this.#now() + DAY;
    if (expiresAt < this.#now() + 1800 || expiresAt > this.#now() + DAY) {
      throw invalidRequest('expires_at must be between 30 minutes and 24 hours from now.', 'expires_at');
    }
    const id = newId('cs_test', 58);
    const session: CheckoutSession = {
      id,
      object: 'checkout.session',
      mode: 'setup',
      status: 'open',
      payment_status: 'no_payment_required',
      customer,
      currency,
      client_reference_id: str(params, 'client_reference_id') ?? null,
      success_url: successUrl,
      cancel_url: cancelUrl,
      url: `${this.#opts.baseUrl()}/c/pay/${id}`,
      setup_intent: null,
      payment_intent: null,
      allowed_payment_method_types: strList(params, 'allowed_payment_method_types') ?? null,
      payment_method_types: types ?? ['card'],
      created: this.#now(),
      expires_at: expiresAt,
      livemode: false,
      metadata: metadata(params) ?? {},
      setup_intent_metadata: setupData ? (metadata(setupData) ?? {}) : {},
    };
    this.sessions.set(id, session);
    return this.#publicSession(session);
  }

  #publicSession(session: CheckoutSession): CheckoutSession {
    // `setup_intent_metadata` is our own bookkeeping, not part of Stripe's object.
    const { setup_intent_metadata: _hidden, ...rest } = session;
    return rest as CheckoutSession;
  }

  session(id: string): CheckoutSession {
    const session = this.sessions.get(id);
    if (!session) throw missingResource('checkout.session', id);
    if (session.status === 'open' && session.expires_at <= this.#now()) this.#expireSession(session);
    return this.#publicSession(session);
  }

  #expireSession(session: CheckoutSession): void {
    session.status = 'expired';
    session.url = null;
    this.#emit('checkout.session.expired', this.#publicSession(session));
  }

  expireSession(id: string): CheckoutSession {
    const session = this.sessions.get(id);
    if (!session) throw missingResource('checkout.session', id);
    if (session.status !== 'open') {
      throw stateError(
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
        'checkout_session_unexpected_state',
      );
    }
    this.#expireSession(session);
    return this.#publicSession(session);
  }

  /** The hosted page's submit: validates the card, saves it, completes the session. */
  completeSession(
    id: string,
    form: { number: string; expiry: string; cvc: string; name: string },
  ): { ok: true; redirect: string } | { ok: false; error: string } {
    const session = this.sessions.get(id);
    if (session?.status !== 'open' || session.expires_at <= this.#now()) {
      return { ok: false, error: 'This Checkout Session is no longer active.' };
    }
    const digits = form.number.replace(/[\s-]/g, '');
    if (!luhnValid(digits)) return { ok: false, error: 'Your card number is invalid.' };
    const card = testCardByNumber(digits);
    if (!card) {
      return {
        ok: false,
        error: 'Your card was declined. Your request was in test mode, but used a non test card.',
      };
    }
    const expiry = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(form.expiry);
    if (!expiry) return { ok: false, error: "Your card's expiration date is incomplete." };
    const month = Number(expiry[1]);
    const year = expiry[2]!.length === 2 ? 2000 + Number(expiry[2]) : Number(expiry[2]);
    const today = new Date(this.#opts.now());
    const nowYm = today.getUTCFullYear() * 12 + today.getUTCMonth() + 1;
    if (month < 1 || month > 12) return { ok: false, error: "Your card's expiration month is invalid." };
    if (year * 12 + month < nowYm) return { ok: false, error: "Your card's expiration year is in the past." };
    const cvcLength = card.brand === 'amex' ? 4 : 3;
    if (!new RegExp(`^\\d{${cvcLength}}$`).test(form.cvc.trim())) {
      return { ok: false, error: "Your card's security code is incomplete." };
    }
    const pm = this.#newPaymentMethod(card, month, year, form.name.trim() || null);
    const si = this.#newSetupIntent(
      session.customer,
      pm.id,
      (session.setup_intent_metadata as Record<string, string>) ?? {},
    );
    this.#confirmSetupIntent(si);
    session.status = 'complete';
    session.setup_intent = si.id;
    session.url = null;
    this.#emit('checkout.session.completed', this.#publicSession(session));
    return { ok: true, redirect: session.success_url.replaceAll('{CHECKOUT_SESSION_ID}', session.id) };
  }

  sessionForPage(id: string): CheckoutSession | undefined {
    const session = this.sessions.get(id);
    if (session && session.status === 'open' && session.expires_at <= this.#now())
      this.#expireSession(session);
    return session;
  }

  // -------------------------------------------------------------------------------------------
  // Payment intents

  createPaymentIntent(params: FormObject): PaymentIntent {
    allowOnly(params, [
      'amount',
      'currency',
      'customer',
      'payment_method',
      'payment_method_types',
      'allowed_payment_method_types',
      'excluded_payment_method_types',
      'automatic_payment_methods',
      'confirm',
      'off_session',
      'capture_method',
      'description',
      'metadata',
      'transfer_data',
      'application_fee_amount',
      'on_behalf_of',
      'transfer_group',
      'statement_descriptor_suffix',
      'receipt_email',
      'return_url',
      'setup_future_usage',
      'error_on_requires_action',
    ]);
    const amount = int(params, 'amount');
    if (amount === undefined) throw invalidRequest('Missing required param: amount.', 'amount');
    const currency = currencyOf(params);
    const minimum = MINIMUM_AMOUNT[currency] ?? 50;
    if (amount < minimum) {
      throw invalidRequest(
        `Amount must be at least ${formatMinor(minimum, currency)}`,
        'amount',
        'amount_too_small',
      );
    }
    if (amount > 99_999_999) {
      throw invalidRequest('Amount must be no more than 999,999.99', 'amount', 'amount_too_large');
    }
    const captureMethod = str(params, 'capture_method') ?? 'automatic_async';
    if (!['automatic', 'automatic_async', 'manual'].includes(captureMethod)) {
      throw invalidRequest(`Invalid capture_method: ${captureMethod}`, 'capture_method');
    }
    const confirm = bool(params, 'confirm') ?? false;
    const offSession = bool(params, 'off_session');
    if (offSession !== undefined && !confirm) {
      throw invalidRequest('off_session can only be set when confirm is true.', 'off_session');
    }
    const customer = str(params, 'customer') ?? null;
    if (customer) this.customer(customer, 'customer');
    const pmParam = str(params, 'payment_method');
    const pm = pmParam ? this.resolvePaymentMethod(pmParam, 'payment_method') : null;
    if (pm?.customer && pm.customer !== customer) {
      throw invalidRequest(
        `The provided PaymentMethod ${pm.id} is attached to a different Customer.`,
        'payment_method',
      );
    }
    const transfer = obj(params, 'transfer_data');
    let transferData: PaymentIntent['transfer_data'] = null;
    if (transfer) {
      const destination = typeof transfer.destination === 'string' ? transfer.destination : '';
      if (!destination)
        throw invalidRequest(
          'Missing required param: transfer_data[destination].',
          'transfer_data[destination]',
        );
      if (!this.accounts.has(destination)) {
        throw missingResource('destination', destination, 'transfer_data[destination]');
      }
      transferData = { destination };
      const tAmount = int(transfer, 'amount');
      if (tAmount !== undefined) {
        if (tAmount > amount) {
          throw invalidRequest('transfer_data[amount] cannot exceed the amount.', 'transfer_data[amount]');
        }
        transferData.amount = tAmount;
      }
    }
    const fee = int(params, 'application_fee_amount') ?? null;
    if (fee !== null && !transferData && !str(params, 'on_behalf_of')) {
      throw invalidRequest(
        'Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).',
        'application_fee_amount',
      );
    }
    const onBehalfOf = str(params, 'on_behalf_of');
    if (onBehalfOf && !this.accounts.has(onBehalfOf)) {
      throw missingResource('account', onBehalfOf, 'on_behalf_of');
    }
    const id = newId('pi', 24);
    const pi: PaymentIntent = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      application_fee_amount: fee,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: `${id}_secret_${randomBytes(12).toString('hex')}`,
      confirmation_method: 'automatic',
      created: this.#now(),
      currency,
      customer,
      description: str(params, 'description') ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: metadata(params) ?? {},
      next_action: null,
      on_behalf_of: onBehalfOf ?? null,
      payment_method: pm?.id ?? null,
      allowed_payment_method_types: strList(params, 'allowed_payment_method_types') ?? null,
      payment_method_types: strList(params, 'allowed_payment_method_types') ??
        strList(params, 'payment_method_types') ?? ['card'],
      receipt_email: str(params, 'receipt_email') ?? null,
      setup_future_usage: str(params, 'setup_future_usage') ?? null,
      statement_descriptor_suffix: str(params, 'statement_descriptor_suffix') ?? null,
      status: pm ? 'requires_confirmation' : 'requires_payment_method',
      transfer_data: transferData,
      transfer_group: str(params, 'transfer_group') ?? null,
    };
    this.paymentIntents.set(id, pi);
    this.#emit('payment_intent.created', pi);
    if (confirm) this.#confirm(pi, offSession ?? false);
    return pi;
  }

  paymentIntent(id: string): PaymentIntent {
    const pi = this.paymentIntents.get(id);
    if (!pi) throw missingResource('payment_intent', id, 'intent');
    return pi;
  }

  listPaymentIntents(params: FormObject): Json {
    const customer = str(params, 'customer');
    const rest = { ...params };
    delete rest.customer;
    const items = [...this.paymentIntents.values()].filter((pi) => !customer || pi.customer === customer);
    return this.list(items, rest, '/v1/payment_intents');
  }

  confirmPaymentIntent(id: string, params: FormObject): PaymentIntent {
    allowOnly(params, ['payment_method', 'off_session', 'return_url', 'error_on_requires_action']);
    const pi = this.paymentIntent(id);
    if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(pi.status)) {
      throw stateError(
        `This PaymentIntent's status is ${pi.status}, but it must be one of requires_payment_method, requires_confirmation, or requires_action to be confirmed.`,
        'payment_intent_unexpected_state',
        { payment_intent: clone(pi) },
      );
    }
    const pmParam = str(params, 'payment_method');
    if (pmParam) pi.payment_method = this.resolvePaymentMethod(pmParam, 'payment_method').id;
    this.#confirm(pi, bool(params, 'off_session') ?? false);
    return pi;
  }

  #confirm(pi: PaymentIntent, offSession: boolean): void {
    if (!pi.payment_method) {
      throw stateError(
        "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with a payment method, pass it in payment_method.",
        'payment_intent_unexpected_state',
        { payment_intent: clone(pi) },
      );
    }
    const pm = this.paymentMethod(pi.payment_method, 'payment_method');
    const behaviour = this.cardBehaviour(pm.id);
    if (behaviour === 'authentication_required' && !offSession) {
      pi.status = 'requires_action';
      pi.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: {} };
      this.#emit('payment_intent.requires_action', pi);
      return;
    }
    const charge: Charge = {
      id: newId('ch', 24),
      object: 'charge',
      amount: pi.amount,
      amount_captured: 0,
      amount_refunded: 0,
      application_fee_amount: pi.application_fee_amount,
      balance_transaction: null,
      captured: false,
      created: this.#now(),
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description,
      disputed: false,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata: { ...pi.metadata },
      on_behalf_of: pi.on_behalf_of ?? null,
      outcome: null,
      paid: false,
      payment_intent: pi.id,
      payment_method: pm.id,
      payment_method_details: { type: 'card', card: { ...pm.card, network: pm.card.brand } },
      refunded: false,
      refunds: { object: 'list', data: [], has_more: false, total_count: 0, url: '' },
      status: 'pending',
      transfer: null,
      transfer_data: pi.transfer_data
        ? { destination: pi.transfer_data.destination, amount: pi.transfer_data.amount ?? null }
        : null,
      transfer_group: pi.transfer_group ?? null,
    };
    (charge.refunds as { url: string }).url = `/v1/charges/${charge.id}/refunds`;
    this.charges.set(charge.id, charge);
    pi.latest_charge = charge.id;

    const decline = ((): { code: string; decline: string; message: string } | null => {
      if (behaviour === 'generic_decline') {
        return { code: 'card_declined', decline: 'generic_decline', message: 'Your card was declined.' };
      }
      if (behaviour === 'insufficient_funds') {
        return {
          code: 'card_declined',
          decline: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        };
      }
      if (behaviour === 'authentication_required') {
        return {
          code: 'authentication_required',
          decline: 'authentication_required',
          message: 'Your card was declined. This transaction requires authentication.',
        };
      }
      return null;
    })();

    if (decline) {
      charge.status = 'failed';
      charge.failure_code = decline.code;
      charge.failure_message = decline.message;
      charge.outcome = {
        network_status: 'declined_by_network',
        reason: decline.decline,
        risk_level: 'normal',
        seller_message: 'The bank did not return any further details with this decline.',
        type: 'issuer_declined',
      };
      const error: Json = {
        type: 'card_error',
        code: decline.code,
        decline_code: decline.decline,
        message: decline.message,
        charge: charge.id,
        payment_method: clone(pm),
        doc_url: `https://stripe.com/docs/error-codes/${decline.code.replace(/_/g, '-')}`,
      };
      pi.status = 'requires_payment_method';
      pi.last_payment_error = error;
      this.#emit('charge.failed', charge);
      this.#emit('payment_intent.payment_failed', pi);
      throw cardError(decline.code, decline.decline, decline.message, {
        charge: charge.id,
        payment_intent: clone(pi),
        payment_method: clone(pm),
      });
    }

    charge.status = 'succeeded';
    charge.paid = true;
    charge.outcome = {
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'normal',
      seller_message: 'Payment complete.',
      type: 'authorized',
    };
    pi.last_payment_error = null;
    pi.next_action = null;
    if (pi.capture_method === 'manual') {
      pi.status = 'requires_capture';
      pi.amount_capturable = pi.amount;
      this.#emit('charge.succeeded', charge);
      this.#emit('payment_intent.amount_capturable_updated', pi);
      return;
    }
    this.#emit('charge.succeeded', charge);
    this.#settleCapture(pi, charge, pi.amount, pi.application_fee_amount, false);
  }

  capturePaymentIntent(id: string, params: FormObject): PaymentIntent {
    allowOnly(params, [
      'amount_to_capture',
      'application_fee_amount',
      'metadata',
      'statement_descriptor_suffix',
      'final_capture',
    ]);
    const pi = this.paymentIntent(id);
    if (pi.status !== 'requires_capture') {
      throw stateError(
        `This PaymentIntent could not be captured because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
        'payment_intent_unexpected_state',
        { payment_intent: clone(pi) },
      );
    }
    const amount = int(params, 'amount_to_capture') ?? pi.amount_capturable;
    if (amount > pi.amount_capturable) {
      throw stateError(
        `The amount_to_capture must be less than or equal to the PaymentIntent's amount_capturable (${pi.amount_capturable}).`,
        'amount_too_large',
        { param: 'amount_to_capture', payment_intent: clone(pi) },
      );
    }
    const minimum = MINIMUM_AMOUNT[pi.currency] ?? 50;
    if (amount < minimum && amount !== 0) {
      throw stateError(`Amount must be at least ${formatMinor(minimum, pi.currency)}`, 'amount_too_small', {
        param: 'amount_to_capture',
      });
    }
    const fee = int(params, 'application_fee_amount') ?? pi.application_fee_amount;
    if (fee !== null && fee > amount) {
      throw stateError(
        'The application fee cannot exceed the amount captured.',
        'application_fee_amount_too_large',
        {
          param: 'application_fee_amount',
        },
      );
    }
    const meta = metadata(params);
    if (meta) pi.metadata = { ...pi.metadata, ...meta };
    const charge = this.charges.get(pi.latest_charge ?? '');
    if (!charge) throw new StripeApiError(500, { type: 'api_error', message: 'charge missing' });
    this.#settleCapture(pi, charge, amount, fee, true);
    return pi;
  }

  #settleCapture(
    pi: PaymentIntent,
    charge: Charge,
    amount: number,
    fee: number | null,
    manual: boolean,
  ): void {
    charge.captured = true;
    charge.amount_captured = amount;
    charge.application_fee_amount = fee;
    pi.application_fee_amount = fee;
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    pi.status = 'succeeded';
    if (pi.transfer_data) {
      const wanted = pi.transfer_data.amount ?? amount - (fee ?? 0);
      const transfer: Transfer = {
        id: newId('tr', 24),
        object: 'transfer',
        amount: Math.min(wanted, amount),
        amount_reversed: 0,
        currency: pi.currency,
        created: this.#now(),
        destination: pi.transfer_data.destination,
        destination_payment: newId('py', 24),
        livemode: false,
        metadata: {},
        reversed: false,
        reversals: { object: 'list', data: [], has_more: false, total_count: 0, url: '' },
        source_transaction: charge.id,
        transfer_group: pi.transfer_group ?? `group_${pi.id}`,
      };
      transfer.reversals.url = `/v1/transfers/${transfer.id}/reversals`;
      this.transfers.set(transfer.id, transfer);
      charge.transfer = transfer.id;
      this.#emit('transfer.created', transfer);
    }
    if (manual) this.#emit('charge.captured', charge);
    this.#emit('payment_intent.succeeded', pi);
    if (this.cardBehaviour(charge.payment_method) === 'dispute' && amount > 0) this.#openDispute(pi, charge);
  }

  cancelPaymentIntent(id: string, params: FormObject): PaymentIntent {
    allowOnly(params, ['cancellation_reason']);
    const pi = this.paymentIntent(id);
    const reason = str(params, 'cancellation_reason');
    if (reason && !['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'].includes(reason)) {
      throw invalidRequest(`Invalid cancellation_reason: ${reason}`, 'cancellation_reason');
    }
    const cancelable = [
      'requires_payment_method',
      'requires_capture',
      'requires_confirmation',
      'requires_action',
    ];
    if (!cancelable.includes(pi.status)) {
      throw stateError(
        `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${cancelable.join(', ')}.`,
        'payment_intent_unexpected_state',
        { payment_intent: clone(pi) },
      );
    }
    const charge = this.charges.get(pi.latest_charge ?? '');
    if (pi.status === 'requires_capture' && charge) {
      // Releasing an authorization shows on the charge as a full refund of the uncaptured amount.
      charge.amount_refunded = charge.amount;
      charge.refunded = true;
      this.#emit('charge.refunded', charge);
    }
    pi.status = 'canceled';
    pi.amount_capturable = 0;
    pi.cancellation_reason = reason ?? null;
    pi.canceled_at = this.#now();
    this.#emit('payment_intent.canceled', pi);
    return pi;
  }

  charge(id: string): Charge {
    const charge = this.charges.get(id);
    if (!charge) throw missingResource('charge', id);
    return charge;
  }

  transfer(id: string): Transfer {
    const transfer = this.transfers.get(id);
    if (!transfer) throw missingResource('transfer', id);
    return transfer;
  }

  // -------------------------------------------------------------------------------------------
  // Refunds

  createRefund(params: FormObject): Refund {
    allowOnly(params, [
      'payment_intent',
      'charge',
      'amount',
      'reason',
      'reverse_transfer',
      'refund_application_fee',
      'metadata',
    ]);
    const piId = str(params, 'payment_intent');
    const chargeParam = str(params, 'charge');
    if (!piId && !chargeParam) {
      throw invalidRequest(
        'One of the following params should be provided for this request: payment_intent or charge.',
        'charge',
      );
    }
    let charge: Charge | undefined;
    if (piId) {
      const pi = this.paymentIntents.get(piId);
      if (!pi) throw missingResource('payment_intent', piId, 'payment_intent');
      if (pi.status !== 'succeeded') {
        throw stateError(
          `This PaymentIntent (${pi.id}) does not have a successful charge to refund: its status is ${pi.status}.${pi.status === 'requires_capture' ? ' Cancel the PaymentIntent to release an uncaptured authorization.' : ''}`,
          'payment_intent_unexpected_state',
          { param: 'payment_intent' },
        );
      }
      charge = this.charges.get(pi.latest_charge ?? '');
    } else if (chargeParam) {
      charge = this.charges.get(chargeParam);
      if (!charge) throw missingResource('charge', chargeParam, 'charge');
    }
    if (!charge?.captured) {
      throw stateError('This charge has not been captured and cannot be refunded.', 'charge_not_refundable');
    }
    if (charge.disputed) {
      throw stateError(`Charge ${charge.id} has been charged back; you can't refund it.`, 'charge_disputed');
    }
    const remaining = charge.amount_captured - charge.amount_refunded;
    if (remaining <= 0) {
      throw stateError(`Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
    }
    const amount = int(params, 'amount') ?? remaining;
    if (amount <= 0) throw invalidRequest('Invalid positive integer', 'amount');
    if (amount > remaining) {
      throw stateError(
        `Refund amount (${formatMinor(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatMinor(remaining, charge.currency)})`,
        'amount_too_large',
        { param: 'amount' },
      );
    }
    const reason = str(params, 'reason');
    if (reason && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) {
      throw invalidRequest(`Invalid reason: ${reason}`, 'reason');
    }
    const reverse = bool(params, 'reverse_transfer') ?? false;
    const transfer = charge.transfer ? this.transfers.get(charge.transfer) : undefined;
    if (reverse && !transfer) {
      throw invalidRequest(
        'You can only reverse a transfer on a charge that created one (a destination charge with transfer_data).',
        'reverse_transfer',
      );
    }
    const refund: Refund = {
      id: newId('re', 24),
      object: 'refund',
      amount,
      balance_transaction: null,
      charge: charge.id,
      created: this.#now(),
      currency: charge.currency,
      metadata: metadata(params) ?? {},
      payment_intent: charge.payment_intent,
      reason: reason ?? null,
      status: 'succeeded',
      transfer_reversal: null,
    };
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount_captured;
    const refundList = charge.refunds as { data: Json[]; total_count: number };
    if (reverse && transfer) {
      const left = transfer.amount - transfer.amount_reversed;
      // Stripe reverses the transfer in proportion to the refund; a full refund reverses what is left.
      const share = charge.refunded
        ? left
        : Math.min(left, Math.round((amount * transfer.amount) / charge.amount_captured));
      const reversal: Json = {
        id: newId('trr', 24),
        object: 'transfer_reversal',
        amount: share,
        created: this.#now(),
        currency: transfer.currency,
        destination_payment_refund: newId('pyr', 24),
        metadata: {},
        source_refund: refund.id,
        transfer: transfer.id,
      };
      transfer.amount_reversed += share;
      transfer.reversed = transfer.amount_reversed === transfer.amount;
      transfer.reversals.data.push(reversal);
      transfer.reversals.total_count++;
      refund.transfer_reversal = reversal.id;
      this.#emit('transfer.reversed', transfer);
    }
    this.refunds.set(refund.id, refund);
    refundList.data.push(clone(refund));
    refundList.total_count++;
    this.#emit('refund.created', refund);
    this.#emit('charge.refunded', charge);
    return refund;
  }

  refund(id: string): Refund {
    const refund = this.refunds.get(id);
    if (!refund) throw missingResource('refund', id);
    return refund;
  }

  listRefunds(params: FormObject): Json {
    const pi = str(params, 'payment_intent');
    const charge = str(params, 'charge');
    const rest = { ...params };
    delete rest.payment_intent;
    delete rest.charge;
    const items = [...this.refunds.values()].filter(
      (r) => (!pi || r.payment_intent === pi) && (!charge || r.charge === charge),
    );
    return this.list(items, rest, '/v1/refunds');
  }

  // -------------------------------------------------------------------------------------------
  // Disputes

  #openDispute(pi: PaymentIntent, charge: Charge): void {
    const dispute: Dispute = {
      id: newId('du', 24),
      object: 'dispute',
      amount: charge.amount_captured,
      balance_transactions: [],
      charge: charge.id,
      created: this.#now(),
      currency: charge.currency,
      evidence: {},
      evidence_details: {
        due_by: this.#now() + 7 * DAY,
        has_evidence: false,
        past_due: false,
        submission_count: 0,
      },
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: pi.id,
      reason: 'fraudulent',
      status: 'needs_response',
    };
    this.disputes.set(dispute.id, dispute);
    charge.disputed = true;
    this.#emit('charge.dispute.created', dispute);
  }

  dispute(id: string): Dispute {
    const dispute = this.disputes.get(id);
    if (!dispute) throw missingResource('dispute', id);
    return dispute;
  }

  listDisputes(params: FormObject): Json {
    const pi = str(params, 'payment_intent');
    const charge = str(params, 'charge');
    const rest = { ...params };
    delete rest.payment_intent;
    delete rest.charge;
    const items = [...this.disputes.values()].filter(
      (d) => (!pi || d.payment_intent === pi) && (!charge || d.charge === charge),
    );
    return this.list(items, rest, '/v1/disputes');
  }

  updateDispute(id: string, params: FormObject): Dispute {
    allowOnly(params, ['evidence', 'metadata', 'submit']);
    const dispute = this.dispute(id);
    if (!['needs_response', 'warning_needs_response'].includes(dispute.status)) {
      throw stateError(`This dispute is already closed (${dispute.status}).`, 'dispute_already_closed');
    }
    const evidence = obj(params, 'evidence');
    if (evidence) dispute.evidence = { ...(dispute.evidence as Json), ...evidence };
    const meta = metadata(params);
    if (meta) dispute.metadata = { ...(dispute.metadata as Json), ...meta };
    if (bool(params, 'submit') ?? true) {
      dispute.status = 'under_review';
      (dispute.evidence_details as Json).submission_count = 1;
      (dispute.evidence_details as Json).has_evidence = true;
    }
    this.#emit('charge.dispute.updated', dispute);
    return dispute;
  }

  closeDispute(id: string): Dispute {
    const dispute = this.dispute(id);
    if (!['needs_response', 'warning_needs_response', 'under_review'].includes(dispute.status)) {
      throw stateError(`This dispute is already closed (${dispute.status}).`, 'dispute_already_closed');
    }
    dispute.status = 'lost';
    this.#emit('charge.dispute.closed', dispute);
    return dispute;
  }

  // -------------------------------------------------------------------------------------------
  // Events

  event(id: string): StripeEvent {
    const event = this.events.find((e) => e.id === id);
    if (!event) throw missingResource('event', id);
    return event;
  }

  listEvents(params: FormObject): Json {
    const type = str(params, 'type');
    const rest = { ...params };
    delete rest.type;
    const matches = (t: string) =>
      !type || (type.endsWith('.*') ? t.startsWith(type.slice(0, -1)) : t === type);
    return this.list(
      this.events.filter((e) => matches(e.type)),
      rest,
      '/v1/events',
    );
  }
}
