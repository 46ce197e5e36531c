/**
 * Plans beside pay-per-use (docs/plans.md): subscribing, renewing, the app's word on usage, and
 * cancelling, through the plan's `subscribe` URL. The worker talks to that URL itself, never the
 * page, and without cookies: what the page says changes nothing here. The charge of a period goes
 * through the payments flow like any other (budgets, tiers, the ledger), with the plan named on
 * the record; a renewal within the standing approval needs no window.
 *
 * The subscriber credential the app hands back goes, in `Paybound-Subscriber`, only to requests
 * the subscribing site makes to the app's origin: its pages are handed it when the app answers a
 * 402 without it (`heldFor`), and keep it for later requests; in Firefox a session rule also
 * attaches it, as paid tokens are. Another site's requests to the same API get nothing.
 */
import type { DeclarativeNetRequest } from 'webextension-polyfill';
import { type MppChallenge, MppChallengeError, readMppSubscription } from '../../core/challenge/mpp';
import { challengesFromHeaders } from '../../core/challenge/www-authenticate';
import {
  type AgreedPeriod,
  agreedFromOffer,
  type MandateCheck,
  matchesMandate,
  periodBoundary,
} from '../../core/plans/mandate';
import type { Rules } from '../../core/policy/rules';
import { siteOf } from '../../core/site/site';
import { type Said, said } from '../../core/text/said';
import { recordMetered, type Standing } from '../../db/ledger';
import type {
  PayboundDb,
  PaymentPlan,
  PaymentState,
  PlanOfferRecord,
  SubscriptionRecord,
} from '../../db/schema';
import type { ChallengeVerdict } from '../../messages/map';
import type { ChallengeRequest } from './payments';
import { readCapped } from './read-capped';
import { type RuleApi, SUBSCRIBER_RULE_BASE } from './tokens';

/** The header the app knows its subscriber by (one of RETRY_HEADERS). */
export const SUBSCRIBER_HEADER = 'Paybound-Subscriber';
/** What a subscriber credential may be: short, and safe as a header value. */
const CREDENTIAL = /^[A-Za-z0-9._~-]{8,512}$/;
/** How long before its period ends a plan may renew (an app's clock may run a little ahead). */
export const RENEW_EARLY_MS = 10 * 60 * 1000;
/** Longest answer read from a subscribe URL (bytes). */
const ANSWER_LIMIT = 16 * 1024;

export class SubscriptionError extends Error {
  constructor(
    message: string,
    readonly said: Said,
  ) {
    super(message);
    this.name = 'SubscriptionError';
  }
}

/** What the payments flow is asked to pay for a plan: the 402 the subscribe URL answered. */
export interface PlanCharge {
  request: ChallengeRequest;
  plan: PaymentPlan;
  /** A renewal: paid without a window while within this standing approval. */
  standing?: Standing;
}

/** States in which a charge's money is spent or held (a failed or denied one counts nothing). */
const COUNTED: readonly PaymentState[] = [
  'reserved',
  'paying',
  'paid',
  'unknown',
  'proof_failed',
  'accepted',
  'rejected',
  'refund_requested',
  'partially_refunded',
  'refund_denied',
];

/** The mandate's unit as the core's mandate checks name it. */
const agreedUnit = (m: SubscriptionRecord['mandate']): AgreedPeriod['unit'] =>
  m.unit === 'minor' ? { unit: 'minor', currency: m.currency ?? 'usd' } : { unit: m.unit };

/** A mandate's amount in the unit of the records it pays (msat for Lightning, minor for a card). */
export const inRecordUnit = (m: SubscriptionRecord['mandate'], amount: bigint): bigint =>
  m.unit === 'sat' ? amount * 1000n : amount;

export interface SubscriptionDeps {
  db: PayboundDb;
  /**
   * Firefox: session rules through which the browser also attaches the credential. Chromium has
   * none (docs/permissions.md): the page's script attaches what the worker handed it.
   */
  rules?: RuleApi;
  /** Pays the period's charge through the payments flow; its verdict carries the credential. */
  pay(charge: PlanCharge): Promise<ChallengeVerdict>;
  fetch?: typeof fetch;
  now?: () => number;
  newId?: () => string;
  /** A renewal paid without a window: a notice. Optional. */
  renewed?(sub: SubscriptionRecord): Promise<void>;
  /** A card plan is cancelled at the card service too (the app might not tell Stripe). Optional. */
  cancelCard?(sub: SubscriptionRecord): Promise<void>;
  /**
   * A card plan's overage this period as the card service billed it (minor units), with the
   * period's start (unix ms): what the budgets count. Optional.
   */
  cardOverage?(sub: SubscriptionRecord): Promise<{ periodStart: number; amount: bigint } | undefined>;
  /** The user's spending rules, for metered overage's budgets. Optional with `cardOverage`. */
  spendingRules?(): Promise<Rules>;
}

/** The app's 200 to a paid subscribe (docs/plans.md §2). */
interface Subscribed {
  subscriber: string;
  periodStart: number;
  periodEnd: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const seconds = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;

function readSubscribed(body: unknown, planId: string): Subscribed {
  if (!isObject(body)) throw new SubscriptionError('the app answered no subscription', said('planNoAnswer'));
  const { subscriber, plan } = body;
  const periodStart = seconds(body.periodStart);
  const periodEnd = seconds(body.periodEnd);
  if (typeof subscriber !== 'string' || !CREDENTIAL.test(subscriber))
    throw new SubscriptionError('the app answered an unusable subscriber credential', said('planNoAnswer'));
  if (plan !== planId)
    throw new SubscriptionError('the app answered a subscription to another plan', said('planNoAnswer'));
  if (periodStart === undefined || periodEnd === undefined || periodEnd <= periodStart)
    throw new SubscriptionError('the app answered an unreadable period', said('planNoAnswer'));
  return { subscriber, periodStart: periodStart * 1000, periodEnd: periodEnd * 1000 };
}

async function readJson(res: Response): Promise<unknown> {
  const text = await readCapped(res, ANSWER_LIMIT);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The 402's payment headers, as the payments flow reads a page's. */
function paymentHeaders(res: Response): [string, string][] {
  const out: [string, string][] = [];
  const www = res.headers.get('www-authenticate');
  if (www) out.push(['www-authenticate', www]);
  return out;
}

export class SubscriptionService {
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly fetch: typeof fetch;
  /** One exchange per plan and site at a time: a second click joins the first. */
  private readonly running = new Map<string, Promise<ChallengeVerdict>>();

  constructor(private readonly deps: SubscriptionDeps) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? (() => crypto.randomUUID());
    this.fetch = deps.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The subscription of this site to this origin that is still in force, if any. */
  async forOrigin(site: string, origin: string): Promise<SubscriptionRecord | undefined> {
    const subs = await this.deps.db.subscriptions.where('site').equals(site).toArray();
    return subs.find((s) => s.origin === origin && s.state !== 'ended');
  }

  async list(): Promise<SubscriptionRecord[]> {
    return (await this.deps.db.subscriptions.toArray()).sort((a, b) => b.createdAt - a.createdAt);
  }

  /**
   * Subscribes to a plan offered beside a waiting quote: the period's charge is quoted and paid
   * like any charge (the user approves it in the same window), then the app's subscriber
   * credential goes to its rule. The verdict is what the page's request gets: a retry as the
   * subscriber, or its 402 with the reason.
   */
  subscribe(
    from: { origin: string; site: string; tabId?: number; railId: string },
    offer: PlanOfferRecord,
  ): Promise<ChallengeVerdict> {
    const key = JSON.stringify([from.site, offer.subscribeUrl, offer.id]);
    let run = this.running.get(key);
    if (!run) {
      run = this.subscribeNow(from, offer).finally(() => this.running.delete(key));
      this.running.set(key, run);
    }
    return run;
  }

  private async subscribeNow(
    from: { origin: string; site: string; tabId?: number; railId: string },
    offer: PlanOfferRecord,
  ): Promise<ChallengeVerdict> {
    const existing = await this.forOrigin(from.site, new URL(offer.subscribeUrl).origin);
    if (existing?.planId === offer.id && existing.state === 'active') return this.asSubscriber(existing);
    const plan: PaymentPlan = {
      kind: 'subscribe',
      planId: offer.id,
      planName: offer.name,
      interval: offer.interval,
      intervalCount: offer.intervalCount,
      ...(offer.overage ? { overage: offer.overage } : {}),
    };
    try {
      const { subscribed, paymentId } = await this.exchange(
        offer.subscribeUrl,
        { plan: offer.id, rail: offer.rail },
        {
          origin: from.origin,
          ...(from.tabId !== undefined ? { tabId: from.tabId } : {}),
          railId: from.railId,
        },
        plan,
        agreedFromOffer(offer),
      );
      const now = this.now();
      const paid = paymentId ? await this.deps.db.payments.get(paymentId) : undefined;
      const cardSubscription = paid?.kind === 'card' ? paid.card.subscription : undefined;
      const sub: SubscriptionRecord = {
        id: this.newId(),
        site: from.site,
        origin: new URL(offer.subscribeUrl).origin,
        subscribeUrl: offer.subscribeUrl,
        planId: offer.id,
        planName: offer.name,
        rail: offer.rail,
        railId: from.railId,
        mandate: {
          unit: offer.unit.unit,
          ...(offer.unit.unit === 'minor' ? { currency: offer.unit.currency } : {}),
          amountPerPeriod: offer.price,
          interval: offer.interval,
          intervalCount: offer.intervalCount,
          includes: offer.includes,
          ...(offer.overage ? { overage: offer.overage } : {}),
        },
        credential: subscribed.subscriber,
        ruleId: await this.nextRuleId(),
        ...(cardSubscription ? { cardSubscription } : {}),
        state: 'active',
        periodStart: subscribed.periodStart,
        // A whole period of the plan from now at least: an app answering a shorter one cannot
        // make the first renewal due early (and charge a second period within the first).
        periodEnd: Math.max(
          subscribed.periodEnd,
          periodBoundary(now, offer.interval, offer.intervalCount, 1),
        ),
        createdAt: now,
        updatedAt: now,
      };
      await this.deps.db.transaction('rw', [this.deps.db.subscriptions, this.deps.db.payments], async () => {
        if (existing)
          await this.deps.db.subscriptions.update(existing.id, { state: 'ended', updatedAt: now });
        await this.deps.db.subscriptions.add(sub);
        await this.markPayment(paymentId, sub.id);
      });
      if (existing) await this.dropRule(existing);
      await this.installRule(sub);
      return this.asSubscriber(sub);
    } catch (e) {
      if (e instanceof SubscriptionError) return { action: 'pass', reason: e.message, said: e.said };
      throw e;
    }
  }

  /**
   * The app asked a subscriber to renew (a 402 with a `subscription` intent): renewed through the
   * subscribe URL, paid without a window when the period's price is within the standing approval,
   * asked for otherwise. Undefined when this 402 is not for a subscription of this site.
   */
  async renewFor(req: ChallengeRequest): Promise<ChallengeVerdict | undefined> {
    const site = siteOf(req.origin);
    if (!site || !isRenewal(req.headers)) return undefined;
    let origin: string;
    try {
      origin = new URL(req.url).origin;
    } catch {
      return undefined;
    }
    const sub = await this.forOrigin(site, origin);
    if (!sub) return undefined;
    if (sub.state !== 'active') {
      return {
        action: 'pass',
        reason: 'the plan was cancelled: it does not renew',
        said: said('planCancelled'),
      };
    }
    const key = JSON.stringify(['renew', sub.id]);
    let run = this.running.get(key);
    if (!run) {
      run = this.renewNow(sub, req).finally(() => this.running.delete(key));
      this.running.set(key, run);
    }
    return run;
  }

  private async renewNow(sub: SubscriptionRecord, req: ChallengeRequest): Promise<ChallengeVerdict> {
    // One renewal a period: a renewal 402 before the period is nearly over (a script in the page,
    // an app asking twice) pays nothing; the page keeps its 402. Renewed meanwhile by another
    // request counts the same: that period serves this one too.
    const fresh = (await this.deps.db.subscriptions.get(sub.id)) ?? sub;
    if (fresh.periodEnd - RENEW_EARLY_MS > this.now()) {
      return {
        action: 'pass',
        reason: `${sub.planName} runs until ${new Date(fresh.periodEnd).toISOString()}: not renewed early`,
        said: said('planNotDue', sub.planName),
      };
    }
    const plan: PaymentPlan = {
      kind: 'renewal',
      planId: sub.planId,
      planName: sub.planName,
      subscriptionId: sub.id,
      interval: sub.mandate.interval,
      intervalCount: sub.mandate.intervalCount,
    };
    try {
      const { subscribed } = await this.exchange(
        sub.subscribeUrl,
        { plan: sub.planId, rail: sub.rail, subscriber: sub.credential },
        { origin: req.origin, ...(req.tabId !== undefined ? { tabId: req.tabId } : {}), railId: sub.railId },
        plan,
        {
          unit: agreedUnit(sub.mandate),
          amountPerPeriod: sub.mandate.amountPerPeriod,
          interval: sub.mandate.interval,
          intervalCount: sub.mandate.intervalCount,
        },
        {
          maxAmount: inRecordUnit(sub.mandate, sub.mandate.amountPerPeriod),
          reason: said('reasonStanding', sub.planName),
        },
      );
      // The period paid for is at least a whole period of the plan past the last one: an app
      // answering a shorter one cannot make the next renewal due sooner than the mandate allows.
      const fullPeriod = periodBoundary(sub.periodEnd, sub.mandate.interval, sub.mandate.intervalCount, 1);
      const renewed: SubscriptionRecord = {
        ...sub,
        credential: subscribed.subscriber,
        periodStart: Math.max(subscribed.periodStart, sub.periodEnd),
        periodEnd: Math.max(subscribed.periodEnd, fullPeriod),
        usage: undefined,
        updatedAt: this.now(),
      };
      delete renewed.usage;
      await this.deps.db.subscriptions.put(renewed);
      if (renewed.credential !== sub.credential) await this.installRule(renewed);
      await this.deps.renewed?.(renewed).catch(() => {});
      return this.asSubscriber(renewed);
    } catch (e) {
      if (e instanceof SubscriptionError) return { action: 'pass', reason: e.message, said: e.said };
      throw e;
    }
  }

  /**
   * The subscribe exchange (docs/plans.md §2): ask, have the 402 paid through the flow, present
   * the credential, read the app's answer.
   */
  private async exchange(
    url: string,
    body: Record<string, string>,
    from: { origin: string; tabId?: number; railId: string },
    plan: PaymentPlan,
    agreed: AgreedPeriod,
    standing?: Standing,
  ): Promise<{ subscribed: Subscribed; paymentId: string | undefined }> {
    const json = JSON.stringify(body);
    const post = (headers: Record<string, string>) =>
      this.fetch(url, {
        method: 'POST',
        credentials: 'omit',
        headers: { 'content-type': 'application/json', ...headers },
        body: json,
      }).catch(() => {
        throw new SubscriptionError('the app could not be reached', said('planUnreachable'));
      });
    const asked = await post({});
    if (asked.status !== 402)
      throw new SubscriptionError(
        `the app answered ${asked.status} instead of a price`,
        said('planNoAnswer'),
      );
    // What the app asks for the period is what was agreed, or it is not paid as agreed: the first
    // period is refused, a renewal is asked for in a window like any new charge.
    const check = this.checkAsked(paymentHeaders(asked), agreed);
    if (!check.ok && !standing) throw new SubscriptionError(check.reason, said('planPriceChanged'));
    const verdict = await this.deps.pay({
      request: {
        url,
        method: 'POST',
        headers: paymentHeaders(asked),
        origin: from.origin,
        ...(from.tabId !== undefined ? { tabId: from.tabId } : {}),
        via: 'fetch',
        railId: from.railId,
        bodySha256: await sha256Hex(json),
      },
      plan,
      ...(standing && check.ok ? { standing } : {}),
    });
    if (verdict.action !== 'retry') {
      throw new SubscriptionError(
        verdict.action === 'pass' ? verdict.reason : 'the plan could not be paid here',
        (verdict.action === 'pass' ? verdict.said : undefined) ?? said('planNotPaid'),
      );
    }
    const answered = await post({ [verdict.credential.header]: verdict.credential.value });
    if (answered.status !== 200) {
      throw new SubscriptionError(
        `the app answered ${answered.status} to the paid subscription`,
        said('planRefusedPaid'),
      );
    }
    return {
      subscribed: readSubscribed(await readJson(answered), plan.planId),
      paymentId: verdict.paymentId,
    };
  }

  /**
   * A charge the app marks as overage of `planId`: the plan it belongs to, and what its overage
   * cap leaves this period (the plan's overage already paid since the period began counts).
   * Undefined when this site holds no such plan, or the plan has no overage terms: then the
   * charge is asked for as any other.
   */
  async overageFor(
    req: ChallengeRequest,
    planId: string,
  ): Promise<{ plan: PaymentPlan; standing: Standing } | undefined> {
    const site = siteOf(req.origin);
    let origin: string;
    try {
      origin = new URL(req.url).origin;
    } catch {
      return undefined;
    }
    if (!site) return undefined;
    const sub = await this.forOrigin(site, origin);
    const overage = sub?.mandate.overage;
    if (!sub || !overage || sub.planId !== planId || sub.periodEnd <= this.now()) return undefined;
    const spent = (
      await this.deps.db.payments
        .where('[site+createdAt]')
        .between([site, sub.periodStart], [site, Infinity])
        .toArray()
    )
      .filter(
        (p) => p.plan?.kind === 'overage' && p.plan.subscriptionId === sub.id && COUNTED.includes(p.state),
      )
      .reduce((n, p) => n + p.amount.value, 0n);
    const cap = inRecordUnit(sub.mandate, overage.cap);
    const perCall = inRecordUnit(sub.mandate, overage.price);
    const left = cap > spent ? cap - spent : 0n;
    return {
      plan: {
        kind: 'overage',
        planId: sub.planId,
        planName: sub.planName,
        subscriptionId: sub.id,
        interval: sub.mandate.interval,
        intervalCount: sub.mandate.intervalCount,
      },
      // Never more per call than the plan's overage price, never past the cap.
      standing: {
        maxAmount: left < perCall ? left : perCall,
        reason: said('reasonStandingOverage', sub.planName),
      },
    };
  }

  /** The 402's `subscription` challenge against what was agreed (docs/plans.md §2, step 3). */
  private checkAsked(headers: [string, string][], agreed: AgreedPeriod): MandateCheck {
    let challenges: ReturnType<typeof challengesFromHeaders>;
    try {
      challenges = challengesFromHeaders(headers);
    } catch {
      return { ok: false, reason: 'the app answered an unreadable price' };
    }
    const offered = challenges.filter(
      (c) => c.schemeKey === 'payment' && c.params.get('intent') === 'subscription',
    );
    let last: MandateCheck = { ok: false, reason: 'the app asked no subscription price' };
    for (const c of offered) {
      try {
        last = matchesMandate(readMppSubscription(c, this.now()), agreed);
      } catch (e) {
        if (!(e instanceof MppChallengeError)) throw e;
        last = { ok: false, reason: e.message };
      }
      if (last.ok) return last;
    }
    return last;
  }

  private async markPayment(paymentId: string | undefined, subscriptionId: string): Promise<void> {
    if (!paymentId) return;
    const p = await this.deps.db.payments.get(paymentId);
    if (p?.plan) await this.deps.db.payments.update(paymentId, { plan: { ...p.plan, subscriptionId } });
  }

  /** The app's word on the subscription now (docs/plans.md §2, GET): usage, period, cancellation. */
  async refresh(id: string): Promise<SubscriptionRecord | undefined> {
    const sub = await this.deps.db.subscriptions.get(id);
    if (!sub || sub.state === 'ended') return sub;
    let answer: unknown;
    try {
      const res = await this.fetch(sub.subscribeUrl, {
        method: 'GET',
        credentials: 'omit',
        headers: { [SUBSCRIBER_HEADER]: sub.credential },
      });
      if (res.status !== 200) return sub;
      answer = await readJson(res);
    } catch {
      return sub;
    }
    if (!isObject(answer)) return sub;
    const count = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);
    const stated =
      typeof answer.overageAmount === 'string' && /^\d{1,18}$/.test(answer.overageAmount)
        ? BigInt(answer.overageAmount)
        : BigInt(count(answer.overageAmount));
    // The app states overage in sats for a Lightning plan (minor units for a card): kept in the
    // mandate's own unit, which is msat for a plan offered on an L402 challenge.
    const overageAmount = sub.mandate.unit === 'msat' ? stated * 1000n : stated;
    const now = this.now();
    const next: SubscriptionRecord = {
      ...sub,
      usage: {
        used: count(answer.used),
        included: count(answer.included),
        overageCalls: count(answer.overageCalls),
        overageAmount,
        at: now,
      },
      // The app's word may only move the period on (a renewal it answered); never back, which
      // would make the next renewal due early.
      ...(seconds(answer.periodEnd) !== undefined && seconds(answer.periodStart) !== undefined
        ? {
            periodStart: Math.max(sub.periodStart, seconds(answer.periodStart)! * 1000),
            periodEnd: Math.max(sub.periodEnd, seconds(answer.periodEnd)! * 1000),
          }
        : {}),
      ...(answer.cancelAtPeriodEnd === true && sub.state === 'active' ? { state: 'canceling' as const } : {}),
      updatedAt: now,
    };
    if (answer.status === 'canceled') next.state = 'ended';
    await this.deps.db.subscriptions.put(next);
    if (next.state === 'ended') await this.dropRule(next);
    await this.countCardOverage(id);
    return next;
  }

  /**
   * A card plan's overage, counted as the card service reports it: each rise in this period's
   * billed overage is one ledger row, spent at once (the card service enforced the cap). The key
   * names the subscription, the period and the total reached, so a refresh repeated counts once.
   */
  async countCardOverage(id: string): Promise<void> {
    const sub = await this.deps.db.subscriptions.get(id);
    if (sub?.rail !== 'card' || !this.deps.cardOverage || !this.deps.spendingRules) return;
    const billed = await this.deps.cardOverage(sub).catch(() => undefined);
    if (!billed || billed.amount <= 0n) return;
    const prefix = `metered:${sub.id}:${billed.periodStart}:`;
    const counted = (await this.deps.db.payments.where('key').startsWith(prefix).toArray()).reduce(
      (n, p) => n + p.amount.value,
      0n,
    );
    const delta = billed.amount - counted;
    if (delta <= 0n) return;
    const now = this.now();
    const currency = (sub.mandate.currency ?? 'usd').toUpperCase();
    await recordMetered(
      this.deps.db,
      {
        kind: 'card',
        id: this.newId(),
        key: `${prefix}${billed.amount}`,
        amount: { unit: 'minor', currency, value: delta },
        amountMinor: delta,
        challenge: { protocol: 'mpp', mpp: meteredChallenge(sub) },
        card: { subscription: sub.cardSubscription ?? '' },
        origin: sub.origin,
        site: sub.site,
        url: sub.subscribeUrl,
        method: 'POST',
        via: 'fetch',
        railId: sub.railId,
        description: `${sub.planName}: overage`,
        expiresAt: Math.floor(now / 1000),
        plan: {
          kind: 'overage',
          planId: sub.planId,
          planName: sub.planName,
          subscriptionId: sub.id,
          interval: sub.mandate.interval,
          intervalCount: sub.mandate.intervalCount,
        },
        createdAt: now,
        updatedAt: now,
      },
      await this.deps.spendingRules(),
      now,
    );
  }

  /** Cancels at the period's end, at the app (docs/plans.md §2, DELETE). */
  async cancel(id: string): Promise<SubscriptionRecord | undefined> {
    const sub = await this.deps.db.subscriptions.get(id);
    if (sub?.state !== 'active') return sub;
    // A card plan stops at the card service, which Stripe obeys: no renewal even if the app forgets.
    const atCard = sub.rail === 'card' && sub.cardSubscription !== undefined && this.deps.cancelCard;
    if (atCard) {
      await this.deps.cancelCard?.(sub).catch(() => {
        throw new SubscriptionError(
          'the card service did not take the cancellation',
          said('planCancelFailed'),
        );
      });
    }
    let ok = false;
    try {
      const res = await this.fetch(sub.subscribeUrl, {
        method: 'DELETE',
        credentials: 'omit',
        headers: { [SUBSCRIBER_HEADER]: sub.credential },
      });
      ok = res.status === 200 || res.status === 204;
    } catch {
      ok = false;
    }
    // A Lightning plan renews only through the app: it must have taken the cancellation.
    if (!ok && !atCard)
      throw new SubscriptionError('the app did not take the cancellation', said('planCancelFailed'));
    const next = { ...sub, state: 'canceling' as const, updatedAt: this.now() };
    await this.deps.db.subscriptions.put(next);
    return next;
  }

  /** Subscriptions whose period ended after a cancellation end, and lose their rule. */
  async sweep(): Promise<void> {
    const now = this.now();
    const over = (await this.deps.db.subscriptions.where('state').equals('canceling').toArray()).filter(
      (s) => s.periodEnd <= now,
    );
    for (const s of over) {
      await this.deps.db.subscriptions.update(s.id, { state: 'ended', updatedAt: now });
      await this.dropRule(s);
    }
  }

  private asSubscriber(sub: SubscriptionRecord): ChallengeVerdict {
    return {
      action: 'retry',
      credential: { header: SUBSCRIBER_HEADER, value: sub.credential },
      reason: `subscribed to ${sub.planName}`,
      // The subscribing site's later requests to the app's origin carry it too.
      keep: { origin: sub.origin, pathPrefix: '/' },
    };
  }

  /**
   * A 402 from the app to a request that did not carry the subscriber credential (a new page of
   * the subscribing site): the plan's credential, to retry with. Only the site that subscribed
   * gets it, and only for the app's origin; nothing is charged.
   */
  async heldFor(site: string, url: string): Promise<ChallengeVerdict | undefined> {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      return undefined;
    }
    const sub = await this.forOrigin(site, origin);
    if (!sub || !CREDENTIAL.test(sub.credential)) return undefined;
    const verdict = this.asSubscriber(sub);
    return verdict.action === 'retry' ? { ...verdict, held: true } : undefined;
  }

  // Rules -----------------------------------------------------------------------------------

  /** A rule id of its own for a new subscription: above every one given before. */
  private async nextRuleId(): Promise<number> {
    const all = await this.deps.db.subscriptions.toArray();
    return Math.max(SUBSCRIBER_RULE_BASE, ...all.map((s) => s.ruleId)) + 1;
  }

  private ruleFor(sub: SubscriptionRecord, id: number): DeclarativeNetRequest.Rule {
    return {
      id,
      priority: 1,
      action: {
        type: 'modifyHeaders',
        requestHeaders: [
          { header: SUBSCRIBER_HEADER.toLowerCase(), operation: 'set', value: sub.credential },
        ],
      },
      condition: {
        urlFilter: `|${sub.origin}/`,
        resourceTypes: ['xmlhttprequest'],
        initiatorDomains: [sub.site.replace(/^\[|\]$/g, '')],
      },
    };
  }

  private async installRule(sub: SubscriptionRecord): Promise<void> {
    await this.deps.rules?.updateSessionRules({
      removeRuleIds: [sub.ruleId],
      addRules: [this.ruleFor(sub, sub.ruleId)],
    });
  }

  private async dropRule(sub: SubscriptionRecord): Promise<void> {
    await this.deps.rules?.updateSessionRules({ removeRuleIds: [sub.ruleId] });
  }

  /** Session rules vanish with the browser; subscriptions do not. */
  async syncRules(): Promise<void> {
    if (!this.deps.rules) return;
    const existing = (await this.deps.rules.getSessionRules()).filter((r) => r.id >= SUBSCRIBER_RULE_BASE);
    const subs = await this.deps.db.subscriptions.toArray();
    const rules = subs.flatMap((s) => (s.state === 'ended' ? [] : [this.ruleFor(s, s.ruleId)]));
    await this.deps.rules.updateSessionRules({ removeRuleIds: existing.map((r) => r.id), addRules: rules });
  }
}

/** What a metered row names as its challenge: the plan's subscription, not anything a page sent. */
function meteredChallenge(sub: SubscriptionRecord): MppChallenge {
  return {
    id: `metered-${sub.id}`,
    realm: sub.origin,
    method: 'card',
    intent: 'subscription',
    requestEncoded: '',
    request: { amount: '0', currency: sub.mandate.currency ?? 'usd' },
  };
}

/** A 402 that asks a subscriber to renew: a `Payment` challenge of intent `subscription`. */
export function isRenewal(headers: ReadonlyArray<readonly [string, string]>): boolean {
  return headers.some(
    ([k, v]) => k.toLowerCase() === 'www-authenticate' && /\bintent\s*=\s*"?subscription"?/i.test(v),
  );
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
