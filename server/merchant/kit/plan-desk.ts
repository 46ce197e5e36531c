// The plan desk: the subscribe endpoint and the usage guard of plans beside pay-per-use
// (docs/plans.md §2, §3).
//
//   const plans = new PlanDesk({ plans: [pro], realm, secret, subscribeUrl, lightning: { wallet } });
//   paymentPaywall({ ..., plans })                  // offers the plans on the route's challenges
//   const guarded = plans.guard(paywall);           // serves subscribers, asks overage and renewals
//   route POST|GET|DELETE /plans/subscribe → subscribeEndpoint(plans)
//
// Subscribing is an MPP exchange with `intent="subscription"`: Lightning pays a fresh invoice for
// one period (the preimage proves it); card hands over the card service's subscription and its
// receipt. The answer is an opaque subscriber credential (32 random bytes; only its hash is kept),
// which the wallet then sends as `Paybound-Subscriber: <credential>` (`Authorization: Subscriber
// <credential>` is taken too). Overage on Lightning is an ordinary charge at the overage price
// (L402 and MPP `lightning`), paid with an Authorization beside the subscriber header; each invoice
// is recorded for the subscription it was made for and pays for one call.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DatabaseUnavailable } from '../../lib/sql';
import { type CardServiceClient, CardServiceError, type CardSubscription } from './card';
import { applyCors, readJsonBody, sendJson } from './http';
import { bytesToHex, decodeIdentifier, L402Gate, parseAuthorization } from './l402';
import { type InvoiceBackend, LnbitsError } from './lnbits-client';
import { MSAT_PER_SAT } from './money';
import {
  base64urlJson,
  ChallengeBinder,
  decodeBase64urlJson,
  formatPaymentChallenge,
  formatPaymentReceipt,
  type JsonValue,
  type PaymentChallenge,
  type PaymentProblem,
  PROBLEM_TITLES,
  parsePaymentAuthorization,
  rfc3339,
} from './mpp';
import { lightningMethod } from './mpp-lightning';
import type { PaidRequest, PaymentHandler } from './payment-paywall';
import {
  memorySubscriptionStore,
  type PeriodUpdate,
  type SubscriptionRecord,
  type SubscriptionStatus,
  type SubscriptionStore,
} from './plan-store';
import {
  checkPlans,
  formatUsage,
  type Plan,
  type PlanDefinition,
  type PlanInterval,
  type PlanRail,
  periodEnd,
  planOffers,
  readSubscriber,
  SUBSCRIBER_HEADER,
  USAGE_HEADER,
} from './plans';
import { type PayboundPlan, type PlanOffering, payboundAuthParam } from './review';

// ---------------------------------------------------------------------------------------------
// The card service's subscription API, as the app uses it (docs/plans.md §4)

export interface CardSubscriptionState {
  id: string;
  /** The card service's word: active, trialing, past_due, canceled, … */
  status: string;
  /** Unix s. */
  currentPeriodStart: number;
  currentPeriodEnd: number;
  cancelAtPeriodEnd: boolean;
}

/** What the desk asks the card service with the app's key. Failures are CardServiceError. */
export interface CardPlanClient {
  /** The card service's base URL, sent to wallets as `methodDetails.cardService`. */
  readonly url: string;
  subscription(id: string): Promise<CardSubscriptionState>;
  /** A meter event; refused with CardServiceError code `overage_cap_reached` past the plan's cap. */
  usage(id: string, quantity: number, identifier: string): Promise<void>;
  cancel(id: string): Promise<CardSubscriptionState>;
}

/** What a subscription receipt must say for the desk to accept it. */
export interface PlanReceiptExpectation {
  challengeId: string;
  subscription: string;
  /** Minor units, as in the challenge. */
  amount: string;
  currency: string;
  /** The app's connected account. */
  destination: string;
  interval: PlanInterval;
  intervalCount: number;
}

/** Checks a card service's subscription receipt (a JWS) against what the challenge asked. */
export type SubscriptionReceiptVerifier = (
  receipt: string,
  expected: PlanReceiptExpectation,
) => Promise<{ ok: true } | { ok: false; reason: string }>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function readCardSubscription(s: CardSubscription): CardSubscriptionState {
  return {
    id: s.id,
    status: s.status,
    currentPeriodStart: s.currentPeriodStart,
    currentPeriodEnd: s.currentPeriodEnd,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd === true,
  };
}

/** The card service's merchant API (CardServiceClient) as a CardPlanClient. */
export function cardPlanClient(client: CardServiceClient): CardPlanClient {
  return {
    url: client.url,
    subscription: async (id) => readCardSubscription(await client.subscription(id)),
    usage: async (id, quantity, identifier) => {
      await client.reportUsage(id, quantity, identifier);
    },
    cancel: async (id) => readCardSubscription(await client.cancelSubscription(id)),
  };
}

// ---------------------------------------------------------------------------------------------
// The desk

export interface PlanDeskOptions {
  plans: readonly PlanDefinition[];
  /** The protection space of the desk's Payment challenges, usually the app's host. */
  realm: string;
  /** 32+ bytes (or hex): binds the desk's challenges and signs its overage tokens. Keep it stable. */
  secret: Uint8Array | string;
  /** The subscribe endpoint's absolute URL, on the origin the request came to (see requestOrigin). */
  subscribeUrl(req: IncomingMessage): string;
  /** Default memorySubscriptionStore(); sqlSubscriptionStore for several processes or restarts. */
  store?: SubscriptionStore;
  /** Clock in unix ms: periods, challenge expiry, overage tokens. */
  now?: () => number;
  /** Default 300 s. */
  challengeLifetimeSeconds?: number;
  /** Lightning plans: the app's wallet makes the invoices. */
  lightning?: { wallet: InvoiceBackend; location?: string; service?: string };
  /** Card plans, through the card service's subscription API. */
  card?: {
    client: CardPlanClient;
    /** This app's connected account at the card service. */
    accountId: string;
    /** Default 'usd'. */
    currency?: string;
    verifyReceipt: SubscriptionReceiptVerifier;
  };
}

/** What a handler learns about a call a plan paid for. */
export interface PlanUse {
  plan: string;
  subscription: string;
  rail: PlanRail;
  periodStart: number;
  periodEnd: number;
  used: number;
  included: number;
  /** Present when the call is beyond what the plan includes: what it cost, in the plan's unit. */
  overage?: { amount: bigint; unit: string; method: 'l402' | 'lightning' | 'card' };
}

export type PlanPaidRequest = PaidRequest | { kind: 'plan'; plan: PlanUse };

export type PlanHandler<B> = (
  req: IncomingMessage,
  res: ServerResponse,
  body: B,
  paid: PlanPaidRequest | null,
) => void | Promise<void>;

/** A route's paywall (paymentPaywall, or an l402Paywall adapted to PaymentHandler). */
export type RoutePaywall<B> = (
  req: IncomingMessage,
  res: ServerResponse,
  body: B,
  next: PaymentHandler<B>,
) => Promise<void>;

export interface SubscriptionState {
  plan: string;
  status: SubscriptionStatus;
  periodStart: number;
  periodEnd: number;
  cancelAtPeriodEnd: boolean;
  used: number;
  included: number;
  overageCalls: number;
  overageAmount: string;
}

const OVERAGE_CAPABILITY = 'overage';
/** How early a Lightning period may be renewed: the wallet's own margin (docs/plans.md §3). */
export const RENEW_EARLY_SECONDS = 600;
const CREDENTIAL = /^[A-Za-z0-9._~-]{1,512}$/;

type Refusal = { code: PaymentProblem; reason: string };
type OverageCredential =
  | {
      paid: true;
      subscription: string;
      method: 'l402' | 'lightning';
      reference: string;
      challengeId?: string;
    }
  | { paid: false; subscription: string | undefined; refusal: Refusal };
type Answer = { status: number; body: unknown; headers?: Record<string, string | string[]> };

class Refused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function deriveKey(secret: Uint8Array | string, label: string): Buffer {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'hex') : Buffer.from(secret);
  if (key.length < 32 || (typeof secret === 'string' && !/^([0-9a-fA-F]{2})+$/.test(secret)))
    throw new RangeError('the plan desk secret must be 32+ bytes (or their hex)');
  return createHmac('sha256', key).update(label, 'utf8').digest();
}

const credentialHash = (credential: string) => createHash('sha256').update(credential, 'utf8').digest('hex');

function isBackendError(err: unknown): boolean {
  return err instanceof LnbitsError || err instanceof CardServiceError || err instanceof DatabaseUnavailable;
}

function answerBackendDown(res: ServerResponse, err: unknown): void {
  applyCors(res);
  if (err instanceof DatabaseUnavailable) res.setHeader('Retry-After', '5');
  sendJson(res, 503, { error: 'payment backend unavailable', detail: (err as Error).message });
}

export class PlanDesk implements PlanOffering {
  readonly store: SubscriptionStore;
  readonly #plans: Map<string, Plan>;
  readonly #options: PlanDeskOptions;
  readonly #now: () => number;
  readonly #lifetime: number;
  readonly #binder: ChallengeBinder;
  readonly #gate: L402Gate | undefined;
  readonly #lightning: ReturnType<typeof lightningMethod<bigint>> | undefined;
  readonly #cardCurrency: string;

  constructor(options: PlanDeskOptions) {
    const plans = checkPlans(options.plans);
    this.#plans = new Map(plans.map((p) => [p.id, p]));
    for (const plan of plans) {
      if (plan.lightning && !options.lightning)
        throw new RangeError(`plan ${plan.id} has a Lightning price but the desk no wallet`);
      if (plan.card && !options.card)
        throw new RangeError(`plan ${plan.id} has a card price but the desk no card service`);
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#lifetime = options.challengeLifetimeSeconds ?? 300;
    this.store = options.store ?? memorySubscriptionStore(this.#now);
    this.#binder = new ChallengeBinder(deriveKey(options.secret, 'paybound plan challenges'));
    this.#cardCurrency = options.card?.currency ?? 'usd';
    const ln = options.lightning;
    if (ln) {
      this.#lightning = lightningMethod<bigint>({ wallet: ln.wallet, priceMsat: (_req, msat) => msat });
      this.#gate = new L402Gate({
        wallet: ln.wallet,
        rootKey: deriveKey(options.secret, 'paybound plan overage'),
        location: ln.location ?? options.realm,
        service: ln.service ?? 'plans',
        // An overage token pays for one call, soon after its challenge.
        tokenLifetimeSeconds: this.#lifetime,
        invoiceExpirySeconds: this.#lifetime + 60,
        now: this.#now,
      });
    }
  }

  get plans(): readonly Plan[] {
    return [...this.#plans.values()];
  }

  /**
   * A new price per period for a plan on one rail, from the next challenge on: new offers and the
   * next renewals ask it. A wallet holding a standing approval at the old price asks its user
   * before paying a higher one.
   */
  reprice(planId: string, rail: PlanRail, price: bigint): void {
    const plan = this.#plans.get(planId);
    const current = plan?.[rail];
    if (!plan || !current) throw new RangeError(`no ${rail} price for plan ${planId}`);
    if (price <= 0n) throw new RangeError('a price must be positive');
    this.#plans.set(planId, { ...plan, [rail]: { ...current, price } });
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** PlanOffering: the plans for a challenge in `unit` charging `charge` (pass the desk as a paywall's `plans`). */
  offers(unit: string, charge: bigint, req: IncomingMessage): readonly PayboundPlan[] {
    const card = this.#options.card ? this.#cardCurrency : undefined;
    return planOffers(this.plans, unit, charge, this.#options.subscribeUrl(req), card);
  }

  /** Where a record stands now: Lightning periods end by the clock, card ones as the card service says. */
  status(s: SubscriptionRecord): SubscriptionStatus {
    const over = this.#seconds() >= s.periodEnd;
    if (s.rail === 'card') {
      if (!over && s.status === 'active') return 'active';
      return s.status === 'canceled' || (over && s.cancelAtPeriodEnd) ? 'canceled' : 'past_due';
    }
    if (!over) return 'active';
    return s.cancelAtPeriodEnd ? 'canceled' : 'past_due';
  }

  stateOf(s: SubscriptionRecord): SubscriptionState {
    return {
      plan: s.plan,
      status: this.status(s),
      periodStart: s.periodStart,
      periodEnd: s.periodEnd,
      cancelAtPeriodEnd: s.cancelAtPeriodEnd,
      used: s.used,
      included: this.#plans.get(s.plan)?.calls ?? 0,
      overageCalls: s.overageCalls,
      overageAmount: s.overageAmount.toString(),
    };
  }

  #usage(res: ServerResponse, s: SubscriptionRecord): void {
    res.setHeader(
      USAGE_HEADER,
      formatUsage({
        plan: s.plan,
        used: s.used,
        included: this.#plans.get(s.plan)?.calls ?? 0,
        overageCalls: s.overageCalls,
        overageAmount: s.overageAmount,
        periodEnd: s.periodEnd,
      }),
    );
  }

  /** A card subscription whose period has passed: ask the card service where it stands now. */
  async #refreshCard(s: SubscriptionRecord): Promise<SubscriptionRecord> {
    const card = this.#options.card;
    if (s.rail !== 'card' || !s.cardSubscription || !card || this.#seconds() < s.periodEnd) return s;
    const state = await card.client.subscription(s.cardSubscription);
    const update: PeriodUpdate = {
      periodStart: state.currentPeriodStart,
      periodEnd: state.currentPeriodEnd,
      status: cardStatus(state.status),
      cancelAtPeriodEnd: state.cancelAtPeriodEnd,
    };
    return (await this.store.setPeriod(s.id, s.periodStart, update)) ?? (await this.store.get(s.id)) ?? s;
  }

  // -------------------------------------------------------------------------------------------
  // Challenges

  #description(plan: Plan): string {
    const unit = plan.intervalCount === 1 ? plan.interval : `${plan.intervalCount} ${plan.interval}s`;
    return `${plan.name}, one ${unit}`.replace('one 1 ', '');
  }

  /** A `Payment … intent="subscription"` challenge for one period of `plan` on `rail`. */
  async #subscriptionChallenge(req: IncomingMessage, plan: Plan, rail: PlanRail): Promise<string> {
    const description = this.#description(plan);
    let request: { [key: string]: JsonValue };
    if (rail === 'lightning') {
      const price = plan.lightning!.price;
      const offered = await this.#lightning!.offer({
        req,
        body: price * MSAT_PER_SAT,
        description,
        lifetimeSeconds: this.#lifetime,
      });
      if (!offered) throw new RangeError(`plan ${plan.id} has no Lightning price`);
      request = { ...offered, interval: plan.interval, intervalCount: plan.intervalCount };
    } else {
      const card = this.#options.card!;
      request = {
        amount: plan.card!.price.toString(),
        currency: this.#cardCurrency,
        interval: plan.interval,
        intervalCount: plan.intervalCount,
        description,
        recipient: card.accountId,
        methodDetails: { cardService: card.client.url },
      };
    }
    return formatPaymentChallenge(
      this.#binder.issue({
        realm: this.#options.realm,
        method: rail,
        intent: 'subscription',
        expires: rfc3339(this.#now() + this.#lifetime * 1000),
        request: base64urlJson(request),
      }),
    );
  }

  /** Overage charge challenges for one call of `s` (L402 in msat, then MPP `lightning` in sat). */
  async #overageChallenges(req: IncomingMessage, s: SubscriptionRecord, plan: Plan): Promise<string[]> {
    const sat = plan.lightning!.overage!.price;
    const msat = sat * MSAT_PER_SAT;
    const memo = `${plan.name}: one call beyond the ${plan.calls} included`;
    const terms = payboundAuthParam({ overage: { plan: plan.id } });
    const l402 = await this.#gate!.issue({
      priceMsat: msat,
      memo,
      capabilities: [OVERAGE_CAPABILITY],
      extraParams: [terms],
    });
    await this.store.issueOverage(l402.paymentHash, s.id, l402.validUntil + 60);
    const offered = await this.#lightning!.offer({
      req,
      body: msat,
      description: memo,
      lifetimeSeconds: this.#lifetime,
    });
    const out = [...l402.headerValues];
    if (offered) {
      const expiresMs = this.#now() + this.#lifetime * 1000;
      const hash = String((offered.methodDetails as Record<string, JsonValue>).paymentHash);
      await this.store.issueOverage(hash, s.id, Math.floor(expiresMs / 1000) + 60);
      const challenge = this.#binder.issue({
        realm: this.#options.realm,
        method: 'lightning',
        intent: 'charge',
        expires: rfc3339(expiresMs),
        request: base64urlJson(offered),
      });
      out.push(`${formatPaymentChallenge(challenge)}, ${terms}`);
    }
    return out;
  }

  async #answerOverage(
    req: IncomingMessage,
    res: ServerResponse,
    s: SubscriptionRecord,
    plan: Plan,
    refusal?: Refusal,
  ): Promise<void> {
    const challenges = await this.#overageChallenges(req, s, plan);
    applyCors(res);
    this.#usage(res, s);
    res.setHeader('WWW-Authenticate', challenges);
    sendJson(res, 402, {
      error: refusal ? refusal.reason : 'payment_required',
      code: refusal ? refusal.code : 'plan_overage',
      price_msat: (plan.lightning!.overage!.price * MSAT_PER_SAT).toString(),
      description: `${plan.name}: one call beyond the ${plan.calls} included`,
      plan: plan.id,
      ...(refusal ? problem(refusal) : {}),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Using the plan

  /**
   * Puts the plans in front of a route's paywall. A subscriber's calls are served while the plan
   * includes them; beyond that, Lightning asks an overage charge (or pay-per-use at the cap or
   * without overage), card reports a meter event (pay-per-use once the card service says the cap
   * is reached); after a Lightning period, a renewal challenge. Every other request, and a
   * credential the desk does not know or no longer honours, goes to the paywall as it is.
   */
  guard<B>(
    paywall: RoutePaywall<B>,
  ): (req: IncomingMessage, res: ServerResponse, body: B, next: PlanHandler<B>) => Promise<void> {
    return async (req, res, body, next) => {
      const given = readSubscriber(req);
      // What the paywall must see: no Subscriber scheme in Authorization (it pays nothing).
      const plain = () => {
        if (given.viaAuthorization) delete req.headers.authorization;
        return paywall(req, res, body, next);
      };
      try {
        // A paid overage call carries its credential beside the subscriber header.
        const overage = await this.#overageCredential(req);
        if (overage) {
          return await this.#overage(req, res, body, next, overage, () => {
            delete req.headers.authorization;
            return paywall(req, res, body, next);
          });
        }
        const s = given.credential
          ? await this.store.byCredential(credentialHash(given.credential))
          : undefined;
        const plan = s && this.#plans.get(s.plan);
        if (!s || !plan) return await plain();
        if (req.headers.authorization !== undefined && !given.viaAuthorization) {
          // A credential of the route's own (paid per use past the cap, say): the payment serves
          // it and the plan counts nothing.
          this.#usage(res, s);
          return await paywall(req, res, body, next);
        }
        return await this.#forSubscriber(req, res, body, next, s, plan, plain);
      } catch (err) {
        if (!isBackendError(err) || res.headersSent) throw err;
        answerBackendDown(res, err);
      }
    };
  }

  async #forSubscriber<B>(
    req: IncomingMessage,
    res: ServerResponse,
    body: B,
    next: PlanHandler<B>,
    found: SubscriptionRecord,
    plan: Plan,
    perUse: () => Promise<void>,
  ): Promise<void> {
    const s = await this.#refreshCard(found);
    const rail = s.rail === 'card' ? plan.card : plan.lightning;
    const status = this.status(s);
    if (!rail || status === 'canceled' || (status === 'past_due' && s.rail === 'card')) return perUse();
    if (status === 'past_due') {
      // A Lightning period is over: renew through the subscribe URL (the same credential goes on).
      const challenge = await this.#subscriptionChallenge(req, plan, 'lightning');
      applyCors(res);
      this.#usage(res, s);
      res.setHeader('WWW-Authenticate', challenge);
      return sendJson(res, 402, {
        error: `the ${plan.name} period is over: renew it at the subscribe URL`,
        code: 'renewal_required',
        plan: plan.id,
        subscribe: this.#options.subscribeUrl(req),
        periodEnd: s.periodEnd,
      });
    }
    const drawn = await this.store.drawIncluded(s.id, s.periodStart, plan.calls);
    if (drawn) {
      this.#usage(res, drawn);
      return this.#serve(req, res, body, next, this.#planUseOf(drawn, plan), () =>
        this.store.giveBack(drawn.id, drawn.periodStart),
      );
    }
    // Used up (perhaps by a call at the same moment): what the store says now.
    const current = (await this.store.get(s.id)) ?? s;
    this.#usage(res, current);
    const overage = rail.overage;
    if (!overage) return perUse();
    if (s.rail === 'lightning') {
      if (current.overageAmount + overage.price > overage.cap) return perUse();
      return this.#answerOverage(req, res, current, plan);
    }
    const card = this.#options.card!;
    try {
      await card.client.usage(s.cardSubscription!, 1, `${s.id}.${randomBytes(12).toString('base64url')}`);
    } catch (err) {
      if (err instanceof CardServiceError && err.code === 'overage_cap_reached') return perUse();
      throw err;
    }
    const counted = (await this.store.addOverage(s.id, overage.price)) ?? s;
    this.#usage(res, counted);
    return this.#serve(req, res, body, next, {
      ...this.#planUseOf(counted, plan),
      overage: { amount: overage.price, unit: this.#cardCurrency, method: 'card' },
    });
  }

  #planUseOf(s: SubscriptionRecord, plan: Plan): PlanUse {
    return {
      plan: plan.id,
      subscription: s.id,
      rail: s.rail,
      periodStart: s.periodStart,
      periodEnd: s.periodEnd,
      used: s.used,
      included: plan.calls,
    };
  }

  async #serve<B>(
    req: IncomingMessage,
    res: ServerResponse,
    body: B,
    next: PlanHandler<B>,
    use: PlanUse,
    giveBack?: () => Promise<void>,
  ): Promise<void> {
    applyCors(res);
    let served = false;
    try {
      await next(req, res, body, { kind: 'plan', plan: use });
      served = res.statusCode < 400;
    } finally {
      // An included call the app could not serve is not used up.
      if (!served && giveBack) await giveBack();
    }
  }

  /**
   * An L402 or Payment credential for one of the desk's overage charges: paid (and taken, so it
   * pays for one call), or refused; null when the credential is not the desk's.
   */
  async #overageCredential(req: IncomingMessage): Promise<OverageCredential | null> {
    const header = req.headers.authorization;
    if (!this.#gate || !this.#lightning || !header) return null;
    const l402 = parseAuthorization(header);
    if (l402.kind === 'credential') {
      const verdict = await this.#gate.verify(header, { capability: OVERAGE_CAPABILITY });
      if (!verdict.ok && verdict.code === 'bad_signature') return null;
      const id = decodeIdentifier(l402.credential.macaroon.identifier);
      const hash = verdict.ok ? verdict.paymentHash : id ? bytesToHex(id.paymentHash) : undefined;
      if (!verdict.ok) {
        const owner = hash ? await this.store.overageOwner(hash) : undefined;
        return {
          paid: false,
          subscription: owner,
          refusal: { code: 'verification-failed', reason: verdict.reason },
        };
      }
      return this.#take(hash!, 'l402');
    }
    const parsed = parsePaymentAuthorization(header);
    if (parsed.kind !== 'credential') return null;
    const { challenge, payload } = parsed;
    if (
      challenge.realm !== this.#options.realm ||
      challenge.intent !== 'charge' ||
      !this.#binder.verify(challenge)
    )
      return null;
    const request = decodeBase64urlJson(challenge.request);
    const details = isObject(request) && isObject(request.methodDetails) ? request.methodDetails : {};
    const hash = typeof details.paymentHash === 'string' ? details.paymentHash : undefined;
    const refused = async (refusal: Refusal) => ({
      paid: false as const,
      subscription: hash ? await this.store.overageOwner(hash) : undefined,
      refusal,
    });
    const expiresMs = Date.parse(challenge.expires);
    if (!Number.isFinite(expiresMs) || expiresMs <= this.#now())
      return refused({ code: 'payment-expired', reason: 'the challenge expired' });
    if (
      !isObject(request) ||
      typeof request.amount !== 'string' ||
      !/^\d{1,15}$/.test(request.amount) ||
      !hash
    )
      return refused({ code: 'invalid-challenge', reason: 'the challenge request is not an overage charge' });
    const verdict = await this.#lightning.verify({
      req,
      body: BigInt(request.amount) * MSAT_PER_SAT,
      challengeId: challenge.id,
      request,
      payload,
      now: this.#now(),
    });
    if (!verdict.ok) return refused(verdict);
    return this.#take(hash, 'lightning', challenge.id);
  }

  async #take(hash: string, method: 'l402' | 'lightning', challengeId?: string): Promise<OverageCredential> {
    const owner = await this.store.takeOverage(hash);
    if (owner)
      return {
        paid: true as const,
        subscription: owner,
        method,
        reference: hash,
        ...(challengeId ? { challengeId } : {}),
      };
    return {
      paid: false as const,
      subscription: await this.store.overageOwner(hash),
      refusal: { code: 'invalid-challenge', reason: 'this overage charge was already used' },
    };
  }

  async #overage<B>(
    req: IncomingMessage,
    res: ServerResponse,
    body: B,
    next: PlanHandler<B>,
    credential: OverageCredential,
    perUse: () => Promise<void>,
  ): Promise<void> {
    const s = credential.subscription ? await this.store.get(credential.subscription) : undefined;
    const plan = s && this.#plans.get(s.plan);
    const overage = plan?.lightning?.overage;
    if (!s || !plan || !overage) return perUse();
    if (!credential.paid) {
      // A fresh overage charge while the plan still asks one; otherwise the route's own price.
      const eligible =
        this.status(s) === 'active' && s.used >= plan.calls && s.overageAmount + overage.price <= overage.cap;
      return eligible ? this.#answerOverage(req, res, s, plan, credential.refusal) : perUse();
    }
    // Paid: served even if the period moved meanwhile, and counted where the subscription is now.
    const counted = (await this.store.addOverage(s.id, overage.price)) ?? s;
    this.#usage(res, counted);
    if (credential.challengeId) {
      res.setHeader(
        'Payment-Receipt',
        formatPaymentReceipt({
          method: 'lightning',
          challengeId: credential.challengeId,
          reference: credential.reference,
          timestamp: this.#now(),
        }),
      );
    }
    return this.#serve(req, res, body, next, {
      ...this.#planUseOf(counted, plan),
      overage: { amount: overage.price, unit: 'sat', method: credential.method },
    });
  }

  // -------------------------------------------------------------------------------------------
  // The subscribe endpoint

  /** `POST` subscribes or renews, `GET` answers the state, `DELETE` cancels at period end. */
  async handleSubscribe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    applyCors(res);
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    let answer: Answer;
    try {
      answer =
        method === 'POST'
          ? await this.#subscribe(req)
          : method === 'GET' || method === 'DELETE'
            ? await this.#subscriber(req, method)
            : {
                status: 405,
                body: { error: { code: 'method_not_allowed', message: 'GET, POST or DELETE' } },
                headers: { Allow: 'GET, POST, DELETE, OPTIONS' },
              };
    } catch (err) {
      if (err instanceof Refused) {
        answer = { status: err.status, body: { error: { code: err.code, message: err.message } } };
      } else if (isBackendError(err)) {
        return answerBackendDown(res, err);
      } else throw err;
    }
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    sendJson(res, answer.status, answer.body);
  }

  async #subscriber(req: IncomingMessage, method: 'GET' | 'DELETE'): Promise<Answer> {
    const { credential } = readSubscriber(req);
    let s = credential ? await this.store.byCredential(credentialHash(credential)) : undefined;
    if (!s) {
      throw new Refused(
        403,
        'unknown_subscriber',
        `send ${SUBSCRIBER_HEADER}: <credential> of a subscription here`,
      );
    }
    s = await this.#refreshCard(s);
    if (method === 'DELETE' && !s.cancelAtPeriodEnd) {
      if (s.rail === 'card' && s.cardSubscription)
        await this.#options.card!.client.cancel(s.cardSubscription);
      s = (await this.store.setCancelAtPeriodEnd(s.id)) ?? s;
    }
    return { status: 200, body: this.stateOf(s) };
  }

  async #subscribe(req: IncomingMessage): Promise<Answer> {
    const read = await readJsonBody(req, 4 * 1024);
    if (!read.ok) throw new Refused(read.status, 'bad_request', read.error);
    const v = read.value;
    if (!isObject(v) || typeof v.plan !== 'string' || (v.rail !== 'lightning' && v.rail !== 'card'))
      throw new Refused(
        400,
        'bad_request',
        'send {"plan": "<id>", "rail": "lightning" | "card", "subscriber"?: "<credential>"}',
      );
    const plan = this.#plans.get(v.plan);
    if (!plan) throw new Refused(404, 'unknown_plan', `no plan ${JSON.stringify(v.plan).slice(0, 60)} here`);
    const rail: PlanRail = v.rail;
    if (!(rail === 'card' ? plan.card : plan.lightning))
      throw new Refused(409, 'rail_not_offered', `${plan.name} is not offered by ${rail}`);
    let renewing: SubscriptionRecord | undefined;
    if (v.subscriber !== undefined) {
      if (typeof v.subscriber !== 'string' || !CREDENTIAL.test(v.subscriber))
        throw new Refused(400, 'bad_request', 'subscriber must be a subscriber credential');
      renewing = await this.#renewable(v.subscriber, plan, rail);
    }

    const parsed = parsePaymentAuthorization(req.headers.authorization);
    const challengeAnswer = async (refusal?: Refusal): Promise<Answer> => ({
      status: 402,
      headers: { 'WWW-Authenticate': await this.#subscriptionChallenge(req, plan, rail) },
      body: {
        error: refusal ? refusal.reason : 'payment_required',
        code: refusal ? refusal.code : 'payment_required',
        plan: plan.id,
        ...(refusal ? problem(refusal) : {}),
      },
    });
    if (parsed.kind === 'none') return challengeAnswer();
    if (parsed.kind === 'invalid') return challengeAnswer(parsed);
    const verdict = await this.#verifySubscription(req, plan, rail, parsed.challenge, parsed.payload);
    if (!verdict.ok) return challengeAnswer(verdict);

    const now = this.#seconds();
    if (renewing) {
      const start = Math.max(now, renewing.periodEnd);
      const renewed = await this.store.setPeriod(renewing.id, renewing.periodStart, {
        periodStart: start,
        periodEnd: periodEnd(start, plan.interval, plan.intervalCount),
        status: 'active',
        cancelAtPeriodEnd: false,
      });
      if (!renewed) throw new Refused(409, 'renewal_conflict', 'this subscription was renewed meanwhile');
      return {
        status: 200,
        body: {
          subscriber: v.subscriber,
          plan: plan.id,
          periodStart: renewed.periodStart,
          periodEnd: renewed.periodEnd,
        },
      };
    }
    const subscriber = randomBytes(32).toString('base64url');
    const record: SubscriptionRecord = {
      id: `psub_${randomBytes(12).toString('base64url')}`,
      credentialHash: credentialHash(subscriber),
      plan: plan.id,
      rail,
      status: 'active',
      periodStart: verdict.period?.start ?? now,
      periodEnd: verdict.period?.end ?? periodEnd(now, plan.interval, plan.intervalCount),
      cancelAtPeriodEnd: verdict.period?.cancelAtPeriodEnd ?? false,
      used: 0,
      overageCalls: 0,
      overageAmount: 0n,
      createdAt: now,
      ...(verdict.cardSubscription ? { cardSubscription: verdict.cardSubscription } : {}),
    };
    if (!(await this.store.add(record)))
      throw new Refused(
        409,
        'already_subscribed',
        'this card subscription already has a subscriber credential',
      );
    return {
      status: 200,
      body: { subscriber, plan: plan.id, periodStart: record.periodStart, periodEnd: record.periodEnd },
    };
  }

  /** The subscription a renewal names, if it may be renewed now. */
  async #renewable(credential: string, plan: Plan, rail: PlanRail): Promise<SubscriptionRecord> {
    const s = await this.store.byCredential(credentialHash(credential));
    if (!s) throw new Refused(404, 'unknown_subscriber', 'no subscription has this subscriber credential');
    if (s.plan !== plan.id)
      throw new Refused(409, 'other_plan', `this subscriber is on plan ${s.plan}, not ${plan.id}`);
    if (s.rail !== rail) throw new Refused(409, 'other_rail', `this subscription is paid by ${s.rail}`);
    if (rail === 'card')
      throw new Refused(409, 'renews_at_card_service', 'a card plan renews at the card service');
    const status = this.status(s);
    if (status === 'canceled' || s.cancelAtPeriodEnd)
      throw new Refused(409, 'subscription_canceled', 'this subscription was canceled: subscribe again');
    // A wallet renews once a period is (nearly) over: the new period starts where this one ends.
    if (status === 'active' && s.periodEnd - this.#seconds() > RENEW_EARLY_SECONDS)
      throw new Refused(
        409,
        'renewal_not_due',
        `this period ends at ${s.periodEnd}; renew in its last ${RENEW_EARLY_SECONDS / 60} minutes or after it`,
      );
    return s;
  }

  async #verifySubscription(
    req: IncomingMessage,
    plan: Plan,
    rail: PlanRail,
    challenge: PaymentChallenge,
    payload: Record<string, unknown>,
  ): Promise<
    | {
        ok: true;
        cardSubscription?: string;
        period?: { start: number; end: number; cancelAtPeriodEnd: boolean };
      }
    | { ok: false; code: PaymentProblem; reason: string }
  > {
    if (
      challenge.realm !== this.#options.realm ||
      challenge.intent !== 'subscription' ||
      !this.#binder.verify(challenge)
    )
      return {
        ok: false,
        code: 'invalid-challenge',
        reason: 'the challenge was not issued here, or was altered',
      };
    const expiresMs = Date.parse(challenge.expires);
    if (!Number.isFinite(expiresMs) || expiresMs <= this.#now())
      return { ok: false, code: 'payment-expired', reason: 'the challenge expired' };
    if (challenge.method !== rail)
      return {
        ok: false,
        code: 'method-unsupported',
        reason: `the challenge is for ${challenge.method}, not ${rail}`,
      };
    const request = decodeBase64urlJson(challenge.request);
    const price = rail === 'card' ? plan.card!.price : plan.lightning!.price;
    const currency = rail === 'card' ? this.#cardCurrency : 'sat';
    if (
      !isObject(request) ||
      request.amount !== price.toString() ||
      request.currency !== currency ||
      request.interval !== plan.interval ||
      request.intervalCount !== plan.intervalCount
    ) {
      return { ok: false, code: 'invalid-challenge', reason: `the challenge is not for ${plan.name}` };
    }
    let result: {
      ok: true;
      cardSubscription?: string;
      period?: { start: number; end: number; cancelAtPeriodEnd: boolean };
    };
    if (rail === 'lightning') {
      const verdict = await this.#lightning!.verify({
        req,
        body: price * MSAT_PER_SAT,
        challengeId: challenge.id,
        request,
        payload,
        now: this.#now(),
      });
      if (!verdict.ok) return verdict;
      result = { ok: true };
    } else {
      const card = this.#options.card!;
      const { subscription, receipt } = payload;
      if (typeof subscription !== 'string' || subscription.length > 255 || typeof receipt !== 'string')
        return {
          ok: false,
          code: 'invalid-payload',
          reason: 'the card payload needs "subscription" and "receipt" strings',
        };
      const checked = await card.verifyReceipt(receipt, {
        challengeId: challenge.id,
        subscription,
        amount: price.toString(),
        currency,
        destination: card.accountId,
        interval: plan.interval,
        intervalCount: plan.intervalCount,
      });
      if (!checked.ok) return { ok: false, code: 'verification-failed', reason: checked.reason };
      const state = await card.client.subscription(subscription);
      if (
        state.id !== subscription ||
        cardStatus(state.status) !== 'active' ||
        state.currentPeriodEnd <= this.#seconds()
      )
        return {
          ok: false,
          code: 'verification-failed',
          reason: `the card subscription is not active (${state.status})`,
        };
      result = {
        ok: true,
        cardSubscription: subscription,
        period: {
          start: state.currentPeriodStart,
          end: state.currentPeriodEnd,
          cancelAtPeriodEnd: state.cancelAtPeriodEnd,
        },
      };
    }
    // Single use: the first credential for a challenge subscribes or renews, a replay is refused.
    if (!(await this.store.consume(`subscribe:${challenge.id}`, Math.floor(expiresMs / 1000) + 60)))
      return { ok: false, code: 'invalid-challenge', reason: 'this challenge was already used' };
    return result;
  }
}

function cardStatus(status: string): SubscriptionStatus {
  if (status === 'active' || status === 'trialing') return 'active';
  if (status === 'canceled' || status === 'incomplete_expired') return 'canceled';
  return 'past_due';
}

function problem(refusal: Refusal): Record<string, unknown> {
  return {
    type: `https://paymentauth.org/problems/${refusal.code}`,
    title: PROBLEM_TITLES[refusal.code],
    status: 402,
    detail: refusal.reason,
  };
}

/** The subscribe endpoint as a node:http handler. */
export function subscribeEndpoint(
  desk: PlanDesk,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return (req, res) => desk.handleSubscribe(req, res);
}
