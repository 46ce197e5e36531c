/**
 * The payments orchestrator: from a 402 the browser saw to a credential the page retries with.
 *
 *   re-parse → preflight (invoice, network, expiry, macaroon) → quote (rate) → record `reserved`
 *   → approval → `paying` (guarded: only from `reserved`) → rail → proof check → `paid` → token
 *
 * Every step is on the ledger; a failure says why and leaves nothing half-paid. The challenge's
 * identity (its payment hash) is a unique key, so the same challenge is never paid twice, even
 * when several tabs or a page replaying messages present it at once. A new challenge for a request
 * whose payment's outcome was lost waits for that payment instead (`earlierInScope`).
 */
import { detectChallenges } from '../../core/challenge/detect';
import { ChallengeSyntaxError } from '../../core/challenge/www-authenticate';
import type { PageWallet, PageWalletResult } from '../../core/payments/page-wallet';
import {
  checkRetryCredential,
  isReusable,
  type RetryCredential,
  RetryCredentialError,
} from '../../core/payments/retry-credential';
import type { Rules } from '../../core/policy/rules';
import { siteOf } from '../../core/site/site';
import { english, type Said, said } from '../../core/text/said';
import { type NewPayment, reserve, type Standing } from '../../db/ledger';
import { recordChallenge } from '../../db/queries';
import type {
  DisputeRecord,
  PayboundDb,
  PaymentPatch,
  PaymentPlan,
  PaymentRecord,
  PaymentState,
  PlanOfferRecord,
  RailRecord,
  WorkerRailRecord,
} from '../../db/schema';
import { getSetting } from '../../db/settings';
import { transition } from '../../db/transitions';
import type { ChallengeVerdict, MessageInput } from '../../messages/map';
import { METHODS, methodFor } from '../methods';
import { EXPIRY_MARGIN_SECONDS, failure } from '../methods/shared';
import { isQuote, type MethodDeps, type Outcome, type Quote } from '../methods/types';
import type { SenderContext } from '../sender';
import { mark } from '../trace';
import type { ApprovalService, Decision } from './approvals';
import { notePaid } from './consent';
import { Deliveries } from './deliveries';
import { type LightningRail, RailError } from './rails/types';
import { isRefusal, type RateAnswer, type RateRefusal, type RateService } from './rates';
import { isRenewal } from './subscriptions';
import { scopeKey, type TokenOwner, type TokenService, tokenScope } from './tokens';

export { CARD_METHOD } from '../methods/card';

/** A payment whose outcome the rail has yet to give: being paid, or asked again after a restart. */
const OUTCOME_PENDING: readonly PaymentState[] = ['paying', 'unknown'];

/**
 * How long a payment that was paid after its request was gone offers its credential to the next
 * challenge in its scope. The page that lost its answer asks again within moments; a day bounds
 * the search (and an MPP credential is offered only while its challenge stands).
 */
const UNUSED_CREDENTIAL_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The longest delay a timer can hold (about 24.8 days); longer waits are alarms only. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How many payment requests one tab may present in a burst: enough for an app firing dozens in
 * parallel; a page replaying forged 402s is refused (logged once per burst) instead of filling
 * the log.
 */
export const TAB_RATE = { burst: 60, perSecond: 5 } as const;

export interface ChallengeRequest {
  url: string;
  method: string;
  headers: ReadonlyArray<readonly [string, string]>;
  /** The origin the browser reported for the frame that made the request. */
  origin: string;
  /** The origin of the tab's top-level page (from the browser), when the request came from a frame. */
  topOrigin?: string;
  tabId?: number;
  via: 'fetch' | 'navigation';
  /**
   * The page says its request carried the credential Paybound handed it: this 402 refuses it, so
   * a held credential is not handed again (see `held`).
   */
  carried?: boolean;
  /** Pay with this wallet rather than the default (the user switched in the quote window). */
  railId?: string;
  /** SHA-256 (hex) of the body the page retries with, as the page reported it (MPP `digest`). */
  bodySha256?: string;
  /** The 402's body, when the page sent it (x402 v1 asks there). */
  body?: string;
  /** The wallets the page said it has (advisory). */
  pageWallets?: readonly PageWallet[];
  /** A plan's charge, asked by the worker's own subscribe exchange (services/subscriptions.ts). */
  plan?: PaymentPlan;
  /** The standing approval a plan's renewal or overage falls under: within it, no window. */
  standing?: Standing;
  /**
   * Told a paid verdict as soon as its token's rule is in place, before the paid record and its
   * notices are written: the page's retry need not wait for the ledger. The promise of
   * `onChallenge` still resolves once all of it is written.
   */
  answerEarly?: (verdict: ChallengeVerdict) => void;
}

/** A top-level page load the browser saw answered (webRequest), for the page-load token it carried. */
export interface PageLoadAnswer {
  url: string;
  origin: string;
  tabId: number;
  status: number;
  headers: ReadonlyArray<readonly [string, string]>;
}

export interface PaymentDeps {
  db: PayboundDb;
  rates: RateService;
  approvals: ApprovalService;
  tokens: TokenService;
  defaultRail(): Promise<RailRecord | undefined>;
  /** The rail for a record, its secret unsealed; throws RailError('locked') while Paybound is locked. */
  railFor(record: WorkerRailRecord): Promise<LightningRail>;
  /** A record with its secret unsealed (throws RailError('locked')). */
  openRail<T extends RailRecord>(record: T): Promise<T>;
  /** The user's spending rules. */
  rules(): Promise<Rules>;
  /** Notices (auto-paid charges, budget milestones). Optional: tests may leave it out. */
  notify?: {
    paidAutomatically(p: PaymentRecord): Promise<void>;
    afterCommit(p: PaymentRecord): Promise<void>;
    /** The app refused the paid proof: the user paid for nothing. */
    refused?(p: PaymentRecord): Promise<void>;
  };
  /** A charge with a review window was paid: the alarm that ends the window is set. Optional. */
  onPaid?(paymentId: string): Promise<void>;
  /** Opens a dispute (a failed proof, a refused one). Optional: tests may leave it out. */
  openDispute?(
    p: PaymentRecord,
    reason: string | Said,
    source?: NonNullable<DisputeRecord['source']>,
  ): Promise<unknown>;
  /**
   * Wakes the worker at `when` (unix ms) to settle this payment's expiry (an alarm: it survives
   * the worker stopping, and holds delays a timer cannot). Optional: tests may leave it out.
   */
  wakeAt?(paymentId: string, when: number): Promise<void>;
  /** The payment no longer needs its wake-up (decided): the alarm goes, not waiting weeks to fire. */
  cancelWake?(paymentId: string): Promise<void>;
  /** Plans: renewals asked by the app, and subscribing from a quote. Optional. */
  subscriptions?: {
    renewFor(req: ChallengeRequest): Promise<ChallengeVerdict | undefined>;
    /** A charge the app marks as overage of a plan: the plan, and the standing approval left for it. */
    overageFor(
      req: ChallengeRequest,
      planId: string,
    ): Promise<{ plan: PaymentPlan; standing: Standing } | undefined>;
    subscribe(
      from: { origin: string; site: string; tabId?: number; railId: string },
      offer: PlanOfferRecord,
    ): Promise<ChallengeVerdict>;
    /** The subscriber credential this site holds for the request's origin, as a retry. */
    heldFor?(site: string, url: string): Promise<ChallengeVerdict | undefined>;
  };
  now?: () => number;
  newId?: () => string;
}

/** Leaves the 402 to the page. `reason` as a Said when a person may read it (the request log). */
const pass = (reason: string | Said, refusedBeforeLedger?: true): ChallengeVerdict => ({
  action: 'pass',
  ...(typeof reason === 'string' ? { reason } : { reason: english(reason), said: reason }),
  ...(refusedBeforeLedger ? { refusedBeforeLedger } : {}),
});

/**
 * The verdict that hands the page a paid credential, once its header is checked against the
 * closed list (RETRY_HEADERS): a credential naming any other header never leaves the worker.
 * The payment stays as it is on the ledger (paid is paid); the page keeps its 402 and says why.
 */
export function retryVerdict(
  credential: RetryCredential,
  reason: string,
  paymentId: string,
): ChallengeVerdict {
  try {
    return { action: 'retry', credential: checkRetryCredential(credential), reason, paymentId };
  } catch (e) {
    if (!(e instanceof RetryCredentialError)) throw e;
    console.error('paybound: credential refused', paymentId, e.message);
    return pass(e.message);
  }
}

/**
 * An L402 charge that is not its own per-call charge (estimated, reviewed, a plan's overage call):
 * its token serves its scope.
 */
const reusableToken = (p: PaymentRecord): boolean =>
  p.challenge.protocol === 'l402' && !p.review && !p.estimate && !p.plan;

/** The rate, the rules and whether payments are paused: what a charge is decided with. */
type Settings = [RateAnswer, Rules, boolean];

/** A reservation that found something in its challenge's scope: the long way decides. */
const HELD = Symbol('held');

/** The ledger's rows a new challenge is checked against (PaymentService.scopeRows). */
interface ScopeRows {
  /** The payment of this very challenge, when it was seen before. */
  known: PaymentRecord | undefined;
  /** Payments whose outcome is pending. */
  pending: PaymentRecord[];
  /** The site's recent payments with a credential no page has used. */
  recent: PaymentRecord[];
}

/** Who a token for this request would belong to: the site that pays, fetch or page load, the tab. */
const ownerOf = (p: {
  site: string;
  via: 'fetch' | 'navigation';
  tabId?: number | undefined;
}): TokenOwner => ({
  site: p.site,
  resource: p.via,
  ...(p.tabId !== undefined ? { tabId: p.tabId } : {}),
});

/**
 * A page's fetch or XHR may send a paid L402 token on its later requests in the token's scope
 * (the page already holds it: it retried with it). A page-load token goes only to page loads.
 */
function keepFor(p: PaymentRecord, verdict: ChallengeVerdict): ChallengeVerdict {
  if (verdict.action !== 'retry' || p.via !== 'fetch' || !reusableToken(p) || !isReusable(verdict.credential))
    return verdict;
  try {
    return { ...verdict, keep: tokenScope(p.url) };
  } catch {
    return verdict;
  }
}

/**
 * Whether a payment is of this challenge's scope (`scopeKey`: one token rule's reach); undefined
 * when the challenge has no scope a token could cover.
 */
function scopeTest(req: ChallengeRequest): ((p: PaymentRecord) => boolean) | undefined {
  const site = siteOf(req.origin) ?? req.origin;
  const scope = scopeKey(ownerOf({ site, via: req.via, tabId: req.tabId }), req.url);
  return scope === undefined ? undefined : (p) => scopeKey(ownerOf(p), p.url) === scope;
}

export class PaymentService {
  private readonly inflight = new Map<string, Promise<ChallengeVerdict>>();
  /** Per-tab token buckets for incoming payment requests (in memory: a restart only resets them). */
  private readonly buckets = new Map<number, { tokens: number; at: number; warned: boolean }>();
  /** Quotes withdrawn because the user switched wallets, and the flow that replaced each. */
  private readonly switchedTo = new Map<string, Promise<ChallengeVerdict>>();
  /**
   * Quotes being withdrawn for another wallet, until the ledger says `switched`: whoever releases
   * one meanwhile (the denial the withdrawal causes) writes that, not "denied".
   */
  private readonly switching = new Set<string>();
  /** Payments whose page-wallet result is being checked: a second result meanwhile is refused. */
  private readonly pageResults = new Set<string>();
  /** Payments this worker's own flow is paying right now: their request still waits for the outcome. */
  private readonly live = new Set<string>();
  /** One question to the wallet per payment at a time: start-up and a waiting challenge share it. */
  private readonly checking = new Map<string, Promise<void>>();
  /**
   * L402 payments this worker settled with nobody waiting, their token now a rule. A request that
   * left before the rule was in place comes back with a 402 moments later, to this worker; after
   * that the rule carries the token, and a 402 in its scope means the server refused it. So these
   * are offered in memory only, once.
   */
  private readonly freshTokens = new Set<string>();
  /** Who hears a payment's paid verdict before its record is written (ChallengeRequest.answerEarly). */
  private readonly answerers = new Map<string, (verdict: ChallengeVerdict) => void>();
  /** Paid records still being written after their page heard the verdict (see `recorded`). */
  private readonly recording = new Set<Promise<unknown>>();
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly deliveries: Deliveries;

  constructor(private readonly deps: PaymentDeps) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? (() => crypto.randomUUID());
    this.deliveries = new Deliveries(deps, () => this.now());
  }

  /** False when this tab presents payment requests faster than any app needs (a flood). */
  private admit(tabId: number | undefined): { ok: true } | { ok: false; first: boolean } {
    if (tabId === undefined) return { ok: true };
    const now = this.now();
    const b = this.buckets.get(tabId) ?? { tokens: TAB_RATE.burst, at: now, warned: false };
    b.tokens = Math.min(TAB_RATE.burst, b.tokens + ((now - b.at) / 1000) * TAB_RATE.perSecond);
    b.at = now;
    this.buckets.set(tabId, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.warned = false;
      return { ok: true };
    }
    const first = !b.warned;
    b.warned = true;
    return { ok: false, first };
  }

  async onChallenge(req: ChallengeRequest): Promise<ChallengeVerdict> {
    const { db } = this.deps;
    const admitted = this.admit(req.tabId);
    if (!admitted.ok) {
      const why = said('refusedFlood');
      // One log row per burst, so the flood cannot fill the log either.
      if (admitted.first)
        await recordChallenge(db, {
          origin: req.origin,
          url: req.url,
          method: req.method.toUpperCase(),
          protocols: [],
          seenAt: this.now(),
          error: english(why),
          errorSaid: why,
        });
      return pass(why);
    }
    // `error`: the precise English for the record; `shown`, what a person reads, when it differs.
    const log = (protocols: string[], error?: string | Said, shown?: Said) =>
      recordChallenge(db, {
        origin: req.origin,
        url: req.url,
        method: req.method.toUpperCase(),
        protocols,
        seenAt: this.now(),
        ...(error === undefined
          ? {}
          : typeof error === 'string'
            ? { error, ...(shown ? { errorSaid: shown } : {}) }
            : { error: english(error), errorSaid: shown ?? error }),
      });

    let detected: ReturnType<typeof detectChallenges>;
    try {
      detected = detectChallenges(req.headers, req.body);
    } catch (e) {
      if (!(e instanceof ChallengeSyntaxError)) throw e;
      await log([], `malformed WWW-Authenticate header: ${e.message}`, said('refusedMalformed'));
      return pass(said('refusedMalformed'));
    }
    mark('detected');
    const protocols = [...new Set(detected.map((d) => d.protocol))];
    // The wallet that would pay, and what the charge's decision reads besides the ledger, are
    // asked now, beside the checks below (each a read of its own), not after them. A challenge
    // those checks answer leaves them unread.
    const chosen = req.railId ? db.rails.get(req.railId) : this.railFor(detected);
    chosen.catch(() => {});
    const settings = this.settings();
    // Paid before: the site's token (or subscriber credential) for this request, which the page
    // did not send (Chromium: pages attach what they hold). Where the browser attaches them
    // itself (Firefox's session rules), the request carried it, and its 402 refuses it.
    // A renewal asks the subscriber to pay the next period: never answered with what it holds.
    if (!this.deps.tokens.browserAttaches && !req.carried && !req.plan && !isRenewal(req.headers)) {
      const held = await this.held(req, protocols);
      if (held) {
        await log(protocols);
        return held;
      }
    }
    // A subscriber asked to renew: the subscription renews through its own exchange.
    if (!req.plan && this.deps.subscriptions) {
      const renewal = await this.deps.subscriptions.renewFor(req);
      if (renewal) {
        await log(protocols, renewal.action === 'pass' ? renewal.reason : undefined);
        return renewal;
      }
    }
    mark('renewals checked');
    if (!METHODS.some((m) => m.offered(detected))) {
      const why = protocols.length
        ? said('refusedUnsupported', protocols.join(', '))
        : said('refusedUnknown');
      await log(protocols, why);
      return pass(why);
    }

    // A token the request carried that the server no longer takes is replaced when the new
    // challenge is paid, never dropped on a page's word: a forged 402 must not cost the user a token.

    const railRecord = await chosen;
    if (!railRecord) {
      await log(protocols, said('refusedNoWallet'));
      return pass(said('refusedNoWallet'));
    }
    mark('wallet chosen');
    const method = methodFor(railRecord.kind);
    // A locked wallet cannot pay: say so now rather than after the user approved.
    if (method.sealed) {
      try {
        await this.deps.openRail(railRecord);
      } catch (e) {
        if (!(e instanceof RailError)) throw e;
        await log(protocols, e.said);
        return pass(e.said);
      }
    }
    mark('wallet open');
    const quote = await method.quote(
      {
        url: req.url,
        origin: req.origin,
        detected,
        protocols,
        currency: async () => (await settings.currency).toLowerCase(),
        rate: async (currency) => {
          const answer = await this.deps.rates.current(currency);
          return isRefusal(answer) ? undefined : answer.rate;
        },
        nowMs: this.now(),
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        ...(req.pageWallets !== undefined ? { pageWallets: req.pageWallets } : {}),
        ...(req.bodySha256 !== undefined ? { bodySha256: req.bodySha256 } : {}),
        ...(req.plan ? { subscription: true as const } : {}),
      },
      railRecord,
    );
    if (!isQuote(quote)) {
      await log(protocols, quote.error, quote.shown);
      return pass(quote.reason);
    }
    mark('quoted');
    // Overage of a plan the user holds: paid within what the plan's cap leaves this period.
    const over =
      quote.overage && !req.plan
        ? await this.deps.subscriptions?.overageFor(req, quote.overage.plan)
        : undefined;
    const request = over ? { ...req, plan: over.plan, standing: over.standing } : req;
    return this.runOnce(quote.key, request, quote, railRecord, settings.all, log(protocols));
  }

  /**
   * The wallet that pays a 402: the default, unless it cannot answer any challenge offered (an
   * x402-only app, a Lightning default): then the first linked wallet that can.
   */
  private async railFor(detected: ReturnType<typeof detectChallenges>): Promise<RailRecord | undefined> {
    const chosen = await this.deps.defaultRail();
    if (!chosen || methodFor(chosen.kind).offered(detected)) return chosen;
    const rails = (await this.deps.db.rails.toArray()).sort((a, b) => a.createdAt - b.createdAt);
    const able = rails.find((r) => methodFor(r.kind).offered(detected));
    return able ?? chosen;
  }

  /**
   * The user currency, and the rate, rules and pause a charge is decided with, asked at once. A
   * challenge refused before its decision leaves them unread: no rejection is left unhandled.
   */
  private settings(): { currency: Promise<string>; all: Promise<Settings> } {
    const { db } = this.deps;
    const currency = getSetting(db, 'currency');
    const all = Promise.all([
      currency.then((c) => this.deps.rates.current(c)),
      this.deps.rules(),
      getSetting(db, 'paused'),
    ]);
    all.catch(() => {});
    return { currency, all };
  }

  /**
   * One flow per challenge identity: a second presentation while the first runs joins it.
   * `logged` (the request's log entry, written meanwhile) is told the reason of a refusal that
   * happened before any payment was recorded (no rate, policy).
   */
  private async runOnce(
    key: string,
    req: ChallengeRequest,
    quote: Quote,
    railRecord: RailRecord,
    settings: Promise<Settings>,
    logged: Promise<number>,
  ): Promise<ChallengeVerdict> {
    let flow = this.inflight.get(key);
    const joined = flow !== undefined;
    if (!flow) {
      flow = this.run(key, req, quote, railRecord, settings).finally(() => this.inflight.delete(key));
      this.inflight.set(key, flow);
    }
    const logId = await logged;
    let verdict = await flow;
    // One conversation with the page's wallet per payment: a request that joined keeps its 402.
    if (joined && verdict.action === 'pay-in-page') verdict = pass('this payment is being paid in the page');
    if (verdict.action === 'pass' && verdict.refusedBeforeLedger) {
      await this.deps.db.challenges.update(logId, {
        error: verdict.reason,
        ...(verdict.said ? { errorSaid: verdict.said } : {}),
      });
    }
    return verdict;
  }

  private async run(
    key: string,
    req: ChallengeRequest,
    quote: Quote,
    railRecord: RailRecord,
    settings: Promise<Settings>,
  ): Promise<ChallengeVerdict> {
    // The usual case, nothing of this challenge or of its scope in the ledger: checked in the very
    // transaction that reserves. Anything found there goes the long way below, as it always did.
    if (!quote.series) {
      const [rate, rules, paused] = await settings;
      mark('rate, rules, paused');
      if (!paused && !isRefusal(rate)) {
        const verdict = await this.reserveAndPay(key, req, quote, railRecord, rate, rules, true);
        if (verdict !== HELD) return verdict;
      }
    }
    // The ledger's rows for this challenge and for its scope, read in one transaction.
    const rows = await this.scopeRows(req, quote.series ? undefined : key);
    const known = quote.series ? await this.openInSeries(key, siteOf(req.origin) ?? req.origin) : rows.known;
    if (known) return this.answerKnown(known);
    mark('ledger checked');
    const earlier = await this.earlierInScope(req, rows);
    if (earlier) return earlier;
    mark('scope checked');
    const [rate, rules, paused] = await settings;
    mark('rate, rules, paused');
    if (paused) return pass(said('refusedPaused'), true);
    if (isRefusal(rate)) return pass(rate?.refused ?? said('refusedNoRate'), true);
    const verdict = await this.reserveAndPay(key, req, quote, railRecord, rate, rules, false);
    // Only a reservation asked to look at the scope holds back.
    if (verdict === HELD) throw new Error('held without a scope check');
    return verdict;
  }

  /**
   * Reserves the charge and pays it (automatic) or asks for it (a quote). `checkScope`: the
   * reservation's own transaction first looks for this challenge and for anything in its scope
   * (see earlierInScope); finding either, it writes nothing and answers HELD, or the known
   * payment's verdict.
   */
  private async reserveAndPay(
    key: string,
    req: ChallengeRequest,
    quote: Quote,
    railRecord: RailRecord,
    rate: Exclude<RateAnswer, RateRefusal>,
    rules: Rules,
    checkScope: boolean,
  ): Promise<ChallengeVerdict | typeof HELD> {
    const { db } = this.deps;
    const now = this.now();
    const site = siteOf(req.origin) ?? req.origin;
    const topSite = req.topOrigin !== undefined ? siteOf(req.topOrigin) : undefined;
    const payee = quote.payee;
    const id = this.newId();
    const draft: NewPayment = {
      ...quote.part(rate.rate, now),
      id,
      key: quote.series ? `${key}:${id}` : key,
      origin: req.origin,
      site,
      ...(topSite !== undefined && topSite !== site ? { topSite } : {}),
      ...(payee ? { payee } : {}),
      url: req.url,
      method: req.method.toUpperCase(),
      ...(req.tabId !== undefined ? { tabId: req.tabId } : {}),
      via: req.via,
      railId: railRecord.id,
      // Kept so that the user can switch wallets in the quote window: the same request, another rail.
      challengeHeaders: req.headers.map(([k, v]) => [k, v] as [string, string]),
      ...(req.bodySha256 !== undefined ? { requestBodySha256: req.bodySha256 } : {}),
      ...(quote.terms?.estimate ? { estimate: quote.terms.estimate } : {}),
      ...(quote.terms?.review ? { review: quote.terms.review } : {}),
      ...(quote.plans?.length && !req.plan ? { plans: quote.plans } : {}),
      ...(req.plan ? { plan: req.plan } : {}),
      ...(quote.plansRefused && !req.plan ? { plansRefused: quote.plansRefused.slice(0, 300) } : {}),
      createdAt: now,
      updatedAt: now,
    };
    let reserved: Awaited<ReturnType<typeof reserve>>;
    // An automatic charge is written `paying` at once, so marked live first: no other challenge
    // may take it for a payment whose outcome was lost.
    this.live.add(id);
    // A quote's window opens while its reservation commits: the window asks for its quotes only
    // once the write has settled (ApprovalService.open), so it never shows a quote not yet recorded.
    let windowShown: Promise<boolean> | undefined;
    try {
      const reserving: ReturnType<typeof reserve> = reserve(db, draft, rules, now, req.standing, {
        payAutomatic: true,
        ...(checkScope ? { holdBack: () => this.anythingInScope(req, now) } : {}),
        beforeWrite: (p) => {
          if (p.approval === 'waiting') windowShown = this.deps.approvals.open?.(p, reserving);
        },
      });
      reserved = await reserving;
    } catch (e) {
      this.live.delete(id);
      // Another worker instance recorded this challenge first.
      const other = await db.payments.where('key').equals(key).first();
      if (other) return this.verdictFor(other);
      throw e;
    }
    if (reserved.kind !== 'reserved' || reserved.payment.state !== 'paying') this.live.delete(id);
    if (reserved.kind === 'held') return HELD;
    // Seen before this very check: answered as a known challenge. Seen only since the long way's
    // check: another worker instance recorded it meanwhile.
    if (reserved.kind === 'known')
      return checkScope ? this.answerKnown(reserved.payment) : this.verdictFor(reserved.payment);
    mark('reserved');
    if (reserved.kind === 'refused') return pass(reserved.reason, true);
    if (reserved.kind === 'denied') {
      const [first] = reserved.decision.said;
      return first && reserved.decision.said.length === 1
        ? pass(first, true)
        : pass(reserved.decision.reasons.join('; '), true);
    }
    const payment = reserved.payment;

    if (req.answerEarly) this.answerers.set(payment.id, req.answerEarly);
    if (payment.state === 'paying') {
      let verdict: ChallengeVerdict;
      try {
        verdict = await this.payMoved(payment, railRecord);
      } finally {
        this.live.delete(payment.id);
        this.answerers.delete(payment.id);
      }
      if (verdict.action === 'retry') void this.deps.notify?.paidAutomatically(payment).catch(() => {});
      return verdict;
    }
    const offerExpiresAt = payment.expiresAt;
    const withdrawAt = offerExpiresAt * 1000 - EXPIRY_MARGIN_SECONDS * 1000;
    const expiresInMs = withdrawAt - this.now();
    // An alarm withdraws the quote even if this worker stops meanwhile; the timer is exact while
    // it runs. Timers overflow past ~24.8 days (they would fire at once): those wait for the alarm.
    // Set beside the window's opening, not before it.
    const woken = this.deps.wakeAt?.(payment.id, withdrawAt).catch(() => {});
    const timer =
      expiresInMs <= MAX_TIMER_MS
        ? setTimeout(() => void this.deps.approvals.withdraw(payment.id), Math.max(0, expiresInMs))
        : undefined;
    mark('quote shown');
    // Live while it waits: an approval moves it to `paying` (ApprovalService.decide) for this
    // flow, and no challenge meanwhile may take it for a payment whose outcome was lost.
    this.live.add(payment.id);
    let decision: Decision;
    let moved: PaymentRecord | undefined;
    try {
      decision = await this.deps.approvals.request(payment, windowShown).finally(() => clearTimeout(timer));
      moved = decision === 'approved' ? this.deps.approvals.takePaying?.(payment.id) : undefined;
    } finally {
      if (!moved) this.live.delete(payment.id);
    }
    mark('decided');
    // The wake-up goes meanwhile: paying need not wait for the alarm to be cleared.
    void Promise.resolve(woken)
      .then(() => this.deps.cancelWake?.(payment.id))
      .catch(() => {});
    // The user chose another wallet: this quote was withdrawn, and the page gets the new flow's outcome.
    const switched = this.switchedTo.get(payment.id);
    if (switched) {
      this.switchedTo.delete(payment.id);
      return switched;
    }
    if (decision === 'denied') {
      this.answerers.delete(payment.id);
      await this.release(payment.id);
      const after = await db.payments.get(payment.id);
      return pass(after?.failure?.said ?? said('failureDenied'));
    }
    // Moved to `paying` with the approval: paid by this flow from there, live until it has its outcome.
    const paying = moved
      ? this.payMoved(moved, railRecord).finally(() => this.live.delete(payment.id))
      : this.pay(payment.id, railRecord);
    const verdict = await paying.finally(() => this.answerers.delete(payment.id));
    void this.deps.approvals.settled?.(payment).catch(() => {});
    return verdict;
  }

  /**
   * The wallets that could pay a waiting quote instead: the same kind of challenge (Lightning or
   * card) must be on offer in the 402 it came from. `rails`: the wallets, when the caller has read them.
   */
  async alternatives(p: PaymentRecord, rails?: RailRecord[]): Promise<RailRecord[]> {
    const headers = p.challengeHeaders ?? [];
    let detected: ReturnType<typeof detectChallenges> = [];
    try {
      detected = detectChallenges(headers);
    } catch {
      return [];
    }
    return (rails ?? (await this.deps.db.rails.toArray())).filter((r) => methodFor(r.kind).offered(detected));
  }

  /**
   * Pays a waiting quote with another wallet. Within Lightning the amount is the same, so the
   * quote just changes wallet; between Lightning and card the quote is withdrawn (its reservation
   * released) and the same 402 is quoted again for the new wallet, in the same window.
   */
  async switchRail(paymentId: string, railId: string): Promise<boolean> {
    const { db } = this.deps;
    const p = await db.payments.get(paymentId);
    const rail = await db.rails.get(railId);
    if (!p || !rail || p.state !== 'reserved' || p.approval !== 'waiting') return false;
    if (!(await this.alternatives(p)).some((r) => r.id === railId)) return false;
    const from = await db.rails.get(p.railId);
    // A wallet answering the same challenge takes the quote as it is (a lost rail was Lightning's).
    const sameFamily =
      (from ? methodFor(from.kind).challenge : 'lightning') === methodFor(rail.kind).challenge;
    if (sameFamily) {
      await db.payments.update(paymentId, { railId, updatedAt: this.now() });
      return true;
    }
    const request: ChallengeRequest = {
      url: p.url,
      method: p.method,
      headers: p.challengeHeaders ?? [],
      origin: p.origin,
      ...(p.tabId !== undefined ? { tabId: p.tabId } : {}),
      via: p.via,
      railId,
      ...(p.requestBodySha256 !== undefined ? { bodySha256: p.requestBodySha256 } : {}),
    };
    // The flow waiting on this quote hands over to the new one; the old reservation is released.
    this.switching.add(paymentId);
    this.switchedTo.set(
      paymentId,
      Promise.resolve().then(() => this.onChallenge(request)),
    );
    try {
      await this.deps.approvals.withdraw(paymentId);
      // Released by the denial already, unless nobody listens for denials here.
      await this.fail(paymentId, 'reserved', 'switched', said('failureSwitched'));
    } finally {
      this.switching.delete(paymentId);
    }
    return true;
  }

  /**
   * The user chose a plan the app offered beside a waiting quote: the quote is withdrawn (its
   * reservation released) and the plan's first period is quoted in the same window; the page's
   * request gets what subscribing comes to.
   */
  async subscribeInstead(
    paymentId: string,
    planId: string,
    ended?: (tabId: number | undefined) => void,
  ): Promise<boolean> {
    const { db } = this.deps;
    const p = await db.payments.get(paymentId);
    const offer = p?.plans?.find((o) => o.id === planId);
    if (!p || !offer || !this.deps.subscriptions || p.state !== 'reserved' || p.approval !== 'waiting')
      return false;
    const subscriptions = this.deps.subscriptions;
    this.switching.add(paymentId);
    const flow = Promise.resolve().then(() =>
      subscriptions.subscribe(
        {
          origin: p.origin,
          site: p.site,
          ...(p.tabId !== undefined ? { tabId: p.tabId } : {}),
          railId: p.railId,
        },
        offer,
      ),
    );
    void flow.finally(() => ended?.(p.tabId)).catch(() => {});
    this.switchedTo.set(paymentId, flow);
    try {
      await this.deps.approvals.withdraw(paymentId);
      await this.fail(paymentId, 'reserved', 'switched', said('failureSwitched'));
    } finally {
      this.switching.delete(paymentId);
    }
    return true;
  }

  /** Pays an approved payment. Also used when the approval arrived after a worker restart. */
  async pay(paymentId: string, rail?: RailRecord): Promise<ChallengeVerdict> {
    // Marked live before it can be seen `paying`: a challenge arriving meanwhile in its scope must
    // not take it for a payment whose outcome was lost (and ask the wallet while this flow pays).
    const already = this.live.has(paymentId);
    this.live.add(paymentId);
    try {
      return await this.payLive(paymentId, rail);
    } finally {
      if (!already) this.live.delete(paymentId);
    }
  }

  private async payLive(paymentId: string, rail?: RailRecord): Promise<ChallengeVerdict> {
    const { db } = this.deps;
    // The only way into `paying` is from an approved `reserved`: a second caller finds nothing to do.
    const moved = await transition(
      db,
      paymentId,
      'reserved',
      'paying',
      { updatedAt: this.now() },
      { when: (p) => p.approval === 'approved' || p.approval === 'auto' },
    );
    const payment = moved.ok ? moved.payment : undefined;
    if (!payment) {
      const p = await db.payments.get(paymentId);
      return p ? this.verdictFor(p) : pass('unknown payment');
    }
    return this.payMoved(payment, rail);
  }

  /** Pays a payment this flow moved to `paying` (its rail's record, when the caller has it). */
  private async payMoved(payment: PaymentRecord, rail?: RailRecord): Promise<ChallengeVerdict> {
    const paymentId = payment.id;
    if (this.now() / 1000 >= payment.expiresAt)
      return this.fail(paymentId, 'paying', 'expired', said('failureInvoiceExpired'));
    const railRecord = rail?.id === payment.railId ? rail : await this.deps.db.rails.get(payment.railId);
    if (!railRecord) return this.fail(paymentId, 'paying', 'no_rail', said('failureNoRail'));
    mark('paying');

    // While it pays, a new challenge in its scope is not held back: this flow answers its own page.
    const outcome = await methodFor(railRecord.kind).pay(payment, railRecord, this.methodDeps);
    mark('rail answered');
    return this.settle(payment, OUTCOME_PENDING, outcome);
  }

  /**
   * The page's own wallet reports back on a `pay-in-page` handover. Only for a payment that is
   * paying through a method that handed it to this kind of page wallet, only from the tab and
   * origin it was handed to, and once: a result for another payment, another tab or site, another
   * wallet kind, or a second result is refused. The answer is checked by the method like any
   * proof: the page could lie.
   */
  async pageResult(input: MessageInput<'page.payResult'>, sender: SenderContext): Promise<ChallengeVerdict> {
    const { db } = this.deps;
    const refused = pass('no payment is waiting for this page wallet');
    if (this.pageResults.has(input.paymentId)) return refused;
    this.pageResults.add(input.paymentId);
    try {
      const p = await db.payments.get(input.paymentId);
      const rail = p ? await db.rails.get(p.railId) : undefined;
      const method = rail ? methodFor(rail.kind) : undefined;
      if (
        !p ||
        !method?.fromPage ||
        method.pageWallet !== input.wallet ||
        p.state !== 'paying' ||
        p.tabId !== sender.tabId ||
        p.origin !== sender.origin
      ) {
        return refused;
      }
      const result: PageWalletResult = {
        paymentId: input.paymentId,
        wallet: input.wallet,
        ...(input.answer !== undefined ? { answer: input.answer } : {}),
        ...(input.error !== undefined ? { error: input.error } : {}),
      };
      return await this.settle(p, OUTCOME_PENDING, method.fromPage(p, result, this.methodDeps));
    } finally {
      this.pageResults.delete(input.paymentId);
    }
  }

  /** The page reports what its paid retry delivered (see Deliveries.fromPage). */
  delivered(input: MessageInput<'payment.delivered'>, sender: SenderContext): Promise<{ recorded: boolean }> {
    return this.deliveries.fromPage(input, sender);
  }

  /** A top-level page load was answered (see Deliveries.pageLoadAnswered). */
  pageLoadAnswered(load: PageLoadAnswer): Promise<boolean> {
    return this.deliveries.pageLoadAnswered(load);
  }

  private get methodDeps(): MethodDeps {
    return { railFor: (r) => this.deps.railFor(r), openRail: (r) => this.deps.openRail(r), now: this.now };
  }

  /**
   * Writes what paying came to, and gives the page its verdict. `orphan`: nobody waits for this
   * verdict (the request it answered is gone), so a paid credential is kept for the next challenge
   * in its scope.
   */
  private async settle(
    payment: PaymentRecord,
    from: PaymentState | readonly PaymentState[],
    outcome: Outcome,
    orphan = false,
  ): Promise<ChallengeVerdict> {
    switch (outcome.kind) {
      case 'handover': {
        if (outcome.patch) await this.patchPaying(payment.id, outcome.patch);
        // A page that never answers must not hold the amount for ever: settled at the expiry.
        if (payment.kind === 'x402') {
          const until = outcome.patch?.expiresAt ?? payment.expiresAt;
          await this.deps.wakeAt?.(payment.id, until * 1000).catch(() => {});
        }
        return outcome.verdict;
      }
      case 'pending':
        return pass(`this payment request is ${payment.state}`);
      case 'failed':
        return this.fail(payment.id, from, outcome.code, outcome.said);
      case 'unknown':
        await this.setState(payment.id, from, 'unknown', { failure: outcome.failure });
        if (outcome.wakeAt !== undefined)
          await this.deps.wakeAt?.(payment.id, outcome.wakeAt).catch(() => {});
        return pass(outcome.reason);
      case 'proof_failed': {
        await this.setState(payment.id, from, 'proof_failed', outcome.patch);
        const flagged = await this.deps.db.payments.get(payment.id);
        if (flagged) await this.deps.openDispute?.(flagged, outcome.dispute);
        return pass(outcome.reason);
      }
      case 'paid': {
        const verdict = keepFor(payment, retryVerdict(outcome.credential, outcome.reason, payment.id));
        const early = orphan || verdict.action !== 'retry' ? undefined : this.answerers.get(payment.id);
        // With session rules (Firefox) the token's rule goes first: a request of this scope that
        // leaves after the page has its credential carries it, and a 402 to it means the server
        // refused the token. Without them (Chromium) the page attaches it itself, so its row is
        // written after the page has its answer, still before the payment is recorded paid.
        const tokenFirst = !early || this.deps.tokens.browserAttaches;
        const cache = () =>
          verdict.action === 'retry' ? this.cacheToken(payment, verdict.credential) : Promise.resolve();
        if (tokenFirst) await cache();
        mark('token cached');
        if (early) {
          // The page retries now, while the payment is recorded paid (the flow's own, so live:
          // nobody takes it for one whose outcome was lost meanwhile).
          this.answerers.delete(payment.id);
          early(verdict);
          const writing = (tokenFirst ? Promise.resolve() : cache()).then(() =>
            this.recordPaid(payment, from, outcome, orphan, verdict),
          );
          const done = writing.finally(() => this.recording.delete(done));
          this.recording.add(done);
          return writing;
        }
        return this.recordPaid(payment, from, outcome, orphan, verdict);
      }
    }
  }

  /**
   * Settles once every paid record whose page already has its answer is written; undefined when
   * none is in flight. Whatever the page does next (report a delivery, the user open the popup
   * and reject it) then finds the charge paid, never still paying.
   */
  recorded(): Promise<void> | undefined {
    if (this.recording.size === 0) return undefined;
    return Promise.allSettled([...this.recording]).then(() => {});
  }

  /** Records a paid payment (its token already kept); the verdict as it was. */
  private async recordPaid(
    payment: PaymentRecord,
    from: PaymentState | readonly PaymentState[],
    outcome: Extract<Outcome, { kind: 'paid' }>,
    orphan: boolean,
    verdict: ChallengeVerdict,
  ): Promise<ChallengeVerdict> {
    // Recorded paid only once the token is in place: whoever sees `paid` (the popup, a page
    // asking again after a worker restart) finds the browser already sending it. Should the
    // worker die in between, the payment is still `paying` and `reconcile` settles it.
    // Nobody waits: the credential is kept for the next challenge in its scope (a token is
    // offered while this worker lives; any other credential is kept on the record).
    const unused = orphan && verdict.action === 'retry';
    const asToken = unused && reusableToken(payment) && isReusable(verdict.credential);
    const moved = await this.setState(payment.id, from, 'paid', {
      ...outcome.patch,
      ...(unused && !asToken
        ? { credentialUnused: true as const, unusedAt: [payment.site, payment.createdAt] as [string, number] }
        : {}),
    });
    if (moved && asToken) this.freshTokens.add(payment.id);
    mark('recorded paid');
    return verdict;
  }

  /** Keeps what a page wallet's conversation learnt, while the payment is still paying. */
  private async patchPaying(paymentId: string, patch: PaymentPatch): Promise<void> {
    const { db } = this.deps;
    await db.transaction('rw', db.payments, async () => {
      const p = await db.payments.get(paymentId);
      if (p?.state === 'paying') await db.payments.update(paymentId, { ...patch, updatedAt: this.now() });
    });
  }

  /**
   * The open charge of a series (see Quote.series), when there is one: still waiting, paying or
   * unconfirmed, or paid with a credential no page has used. Otherwise the series charges anew.
   */
  private async openInSeries(series: string, site: string): Promise<PaymentRecord | undefined> {
    const { db } = this.deps;
    const inSeries = (p: PaymentRecord) => p.key.startsWith(`${series}:`);
    const nowS = this.now() / 1000;
    // Read by state and by the site's recent charges, not the whole series: an app called every
    // day grows its series without end. One that ran out unanswered holds the series back no more.
    const open = await db.payments
      .where('state')
      .anyOf([...OUTCOME_PENDING, 'reserved'])
      .filter((p) => inSeries(p) && nowS < p.expiresAt)
      .toArray();
    const now = this.now();
    const unused = (await this.unusedOf(site, now)).filter(inSeries);
    return [...open, ...unused].sort((a, b) => b.createdAt - a.createdAt)[0];
  }

  /**
   * Paid is paid: failing to cache the token must not keep the credential from the page. Only an
   * `Authorization` credential becomes a token (a session rule sets that header, from
   * `TokenRecord.authorization`); x402's payment headers are one-shot, never reused. Among
   * Authorization credentials, MPP ones are single use: never cached. Nor is an estimated or
   * reviewed charge's token: each such call is its own charge, settled and reviewed on its own.
   */
  private async cacheToken(payment: PaymentRecord, credential: RetryCredential): Promise<void> {
    if (!isReusable(credential) || !reusableToken(payment)) return;
    const owner = ownerOf(payment);
    await this.deps.tokens
      .store(owner, payment.url, credential.value, payment.id)
      .catch(async (e: unknown) => {
        console.error('paybound: token not cached', e);
        // The old token's rule would overwrite the retry's new credential: take it away.
        const stale = await this.deps.tokens.matching(owner, payment.url).catch(() => undefined);
        if (stale) await this.deps.tokens.drop(stale).catch(() => {});
      });
  }

  /**
   * Settles payments whose outcome was lost (worker died while paying, wallet timed out) by
   * asking the wallet. Until the wallet says, the reservation stays.
   */
  async reconcile(): Promise<void> {
    const open = await this.deps.db.payments.where('state').anyOf(OUTCOME_PENDING).toArray();
    for (const p of open) await this.check(p.id);
  }

  /** Asks the wallet once about a payment whose outcome was lost; callers at once share the question. */
  private check(paymentId: string): Promise<void> {
    let running = this.checking.get(paymentId);
    if (!running) {
      running = this.checkNow(paymentId).finally(() => this.checking.delete(paymentId));
      this.checking.set(paymentId, running);
    }
    return running;
  }

  private async checkNow(paymentId: string): Promise<void> {
    const { db } = this.deps;
    const p = await db.payments.get(paymentId);
    // This worker's own flow is paying it: that flow gets the answer.
    if (!p || !OUTCOME_PENDING.includes(p.state) || this.live.has(p.id)) return;
    const railRecord = await db.rails.get(p.railId);
    if (!railRecord) return;
    const outcome = await methodFor(railRecord.kind)
      .reconcile(p, railRecord, this.methodDeps)
      .catch((e: unknown) => {
        // The rail's own failures are pending answers; anything else is logged, the row kept.
        console.error('paybound: reconcile', p.id, e);
        return undefined;
      });
    if (!outcome) return;
    // Until the wallet says, the reservation stays; the payment shows as unknown.
    if (outcome.kind === 'pending') {
      if (p.state === 'paying') await this.setState(p.id, 'paying', 'unknown');
    } else await this.settle(p, OUTCOME_PENDING, outcome, true);
  }

  /**
   * Whether a new challenge must wait for this payment: its outcome is not known, no flow of this
   * worker is paying it (so its page was answered without a credential), and its wallet can be
   * asked. A page wallet's payment only the page can settle: waiting on it would refuse its scope
   * until the invoice expires, so it does not hold anything back.
   */
  private async awaitable(p: PaymentRecord): Promise<boolean> {
    if (!OUTCOME_PENDING.includes(p.state) || this.live.has(p.id)) return false;
    const rail = await this.deps.db.rails.get(p.railId);
    return rail !== undefined && methodFor(rail.kind).pageWallet === undefined;
  }

  /**
   * A challenge seen before: as it stands, except that one whose outcome was lost is checked with
   * the wallet first (bounded by the rail's own timeout), so a page asking again gets the answer.
   */
  private async answerKnown(known: PaymentRecord): Promise<ChallengeVerdict> {
    let p = known;
    if (await this.awaitable(p)) {
      await this.check(p.id);
      p = (await this.deps.db.payments.get(p.id)) ?? p;
      if (OUTCOME_PENDING.includes(p.state)) return pass(said('refusedStillChecking'));
    }
    // Its credential is used now: no other challenge in its scope may take it as unused.
    if (p.credentialUnused || this.freshTokens.has(p.id))
      return (await this.claim(p.id)) ?? this.verdictFor(p);
    return this.verdictFor(p);
  }

  /**
   * Never paid twice for one request. A new challenge whose scope (`scopeKey`: the site that pays,
   * fetch or page load (and then its tab), the API origin, the token's path prefix) has a payment
   * whose outcome was lost (the worker stopped while paying, the wallet answered too late) waits
   * for that payment to be checked with its wallet, once:
   * - paid: the request is retried with that payment's credential (L402: its token; MPP: its
   *   credential, which no page has used), and nothing new is paid;
   * - failed, or a proof that does not hold (disputed): the new challenge is charged as usual;
   * - still not known: refused, saying a payment for this is still being checked.
   * Undefined: nothing holds the challenge back.
   */
  /** The site's payments of the last day with a credential no page has used (a sparse index). */
  private async unusedOf(site: string, now: number): Promise<PaymentRecord[]> {
    const rows = await this.deps.db.payments
      .where('unusedAt')
      .between([site, now - UNUSED_CREDENTIAL_WINDOW_MS], [site, Number.MAX_SAFE_INTEGER])
      .toArray();
    return rows.filter((p) => p.credentialUnused === true);
  }

  /**
   * Whether earlierInScope would have anything to look at for this challenge: a payment whose
   * outcome is pending, a credential no page has used, or a token this worker settled, in its
   * scope. Read inside the reservation's transaction (payments only), so nothing can slip in
   * between the check and the charge.
   */
  private async anythingInScope(req: ChallengeRequest, now: number): Promise<boolean> {
    const inScope = scopeTest(req);
    if (!inScope) return false;
    const fresh = [...this.freshTokens];
    const [{ pending, recent }, tokens] = await Promise.all([
      this.pendingAndUnused(req, now),
      fresh.length ? this.deps.db.payments.bulkGet(fresh) : [],
    ]);
    // A payment this worker is paying answers its own page: it holds nothing back (as in awaitable).
    const found = (p: PaymentRecord | undefined) => p !== undefined && inScope(p);
    return pending.some((p) => found(p) && !this.live.has(p.id)) || recent.some(found) || tokens.some(found);
  }

  /** Payments whose outcome is pending, and the site's unused credentials: the scope's candidates. */
  private async pendingAndUnused(req: ChallengeRequest, now: number): Promise<Omit<ScopeRows, 'known'>> {
    const { db } = this.deps;
    const [pending, recent] = await Promise.all([
      // One equality read per state: an index's getAll, not a cursor stepping through ranges.
      Promise.all(OUTCOME_PENDING.map((state) => db.payments.where('state').equals(state).toArray())).then(
        (lists) => lists.flat(),
      ),
      this.unusedOf(siteOf(req.origin) ?? req.origin, now),
    ]);
    return { pending, recent };
  }

  /**
   * The rows earlierInScope starts from, read in one transaction: payments whose outcome is
   * pending, and this site's recent ones (for credentials no page has used).
   */
  private scopeRows(req: ChallengeRequest, key?: string): Promise<ScopeRows> {
    const { db } = this.deps;
    const now = this.now();
    return db.transaction('r', db.payments, async () => {
      const [known, rows] = await Promise.all([
        key === undefined ? undefined : db.payments.get({ key }),
        this.pendingAndUnused(req, now),
      ]);
      return { known, ...rows };
    });
  }

  private async earlierInScope(
    req: ChallengeRequest,
    rows: ScopeRows,
  ): Promise<ChallengeVerdict | undefined> {
    const { db } = this.deps;
    const inScope = scopeTest(req);
    if (!inScope) return undefined;
    const open: PaymentRecord[] = [];
    for (const p of rows.pending) {
      if (inScope(p) && (await this.awaitable(p))) open.push(p);
    }
    await Promise.all(open.map((p) => this.check(p.id)));
    // Paid meanwhile (just now, or by the start-up check before this challenge came).
    const now = this.now();
    const recent = rows.recent.filter(inScope);
    const rereadIds = open.map((p) => p.id);
    const fresh = [...this.freshTokens];
    const [checked, tokens] = await Promise.all([
      rereadIds.length ? db.payments.bulkGet(rereadIds) : [],
      fresh.length ? db.payments.bulkGet(fresh) : [],
    ]);
    const inScopeTokens = tokens.filter((p): p is PaymentRecord => p !== undefined && inScope(p));
    // A request that carried the scope's token and met a 402 again: that token was refused.
    const refusedToken = (p: PaymentRecord) => req.carried === true && reusableToken(p);
    const unused = [...checked, ...recent, ...inScopeTokens].filter(
      (p, i, all): p is PaymentRecord =>
        p !== undefined &&
        !refusedToken(p) &&
        (p.credentialUnused === true || this.freshTokens.has(p.id)) &&
        all.findIndex((q) => q?.id === p.id) === i,
    );
    for (const p of unused.sort((a, b) => a.createdAt - b.createdAt)) {
      // An MPP credential answers its own challenge: once that has run out, the server takes it no more.
      if (p.challenge.protocol === 'mpp' && now / 1000 >= p.expiresAt) continue;
      const verdict = await this.claim(p.id);
      if (verdict) return verdict;
    }
    // Another challenge claimed it while this one waited too: an L402 token serves both (as its
    // rule would have, had it been in place before these requests left).
    for (const p of checked) {
      if (p && (p.state === 'paid' || p.state === 'accepted') && reusableToken(p) && !refusedToken(p)) {
        const verdict = this.verdictFor(p);
        if (verdict.action === 'retry') return verdict;
      }
    }
    if (checked.some((p) => p !== undefined && OUTCOME_PENDING.includes(p.state)))
      return pass(said('refusedStillChecking'), true);
    return undefined;
  }

  /**
   * Hands a paid credential no page has used to this challenge's request, once: two challenges
   * racing for it, one gets it (an MPP credential is good for one request).
   */
  private async claim(paymentId: string): Promise<ChallengeVerdict | undefined> {
    const { db } = this.deps;
    if (this.freshTokens.delete(paymentId)) {
      const p = await db.payments.get(paymentId);
      const verdict = p && (p.state === 'paid' || p.state === 'accepted') ? this.verdictFor(p) : undefined;
      return verdict?.action === 'retry' ? verdict : undefined;
    }
    const claimed = await db.transaction('rw', db.payments, async () => {
      const p = await db.payments.get(paymentId);
      if (p?.credentialUnused !== true || (p.state !== 'paid' && p.state !== 'accepted')) return undefined;
      await db.payments
        .where('id')
        .equals(paymentId)
        .modify((r) => {
          delete r.credentialUnused;
          delete r.unusedAt;
        });
      return p;
    });
    if (!claimed) return undefined;
    const verdict = this.verdictFor(claimed);
    return verdict.action === 'retry' ? verdict : undefined;
  }

  /**
   * A payment's time ran out (its alarm, or the start-up tidy): a quote nobody approved is
   * withdrawn and released; a page-wallet payment the page said failed, whose invoice can no
   * longer be paid, is released, with the ledger saying it was never confirmed either way.
   */
  async expire(paymentId: string): Promise<void> {
    const p = await this.deps.db.payments.get(paymentId);
    if (!p) return;
    const nowS = this.now() / 1000;
    if (p.state === 'reserved' && p.approval === 'waiting' && nowS + EXPIRY_MARGIN_SECONDS >= p.expiresAt) {
      await this.deps.approvals.withdraw(p.id);
      // With nobody waiting on the decision (another worker asked), release here.
      await this.release(p.id);
    } else if (
      p.kind === 'x402' &&
      (p.state === 'paying' || p.state === 'unknown') &&
      !this.live.has(p.id) &&
      nowS >= p.expiresAt
    ) {
      // The page stopped answering its wallet's questions and the authorization (if the wallet
      // signed one) has run out: it can no longer move anything. Nobody can say whether it did.
      await this.setState(p.id, p.state, 'failed', {
        failure: failure(
          'page_wallet_unconfirmed',
          said('failurePageWalletExpired', 'the page stopped answering'),
        ),
      });
    } else if (
      p.state === 'unknown' &&
      p.failure?.code === 'page_wallet_unconfirmed' &&
      nowS >= p.expiresAt
    ) {
      await this.setState(p.id, 'unknown', 'failed', {
        failure: failure(
          'page_wallet_unconfirmed',
          said('failurePageWalletExpired', p.failure.said?.args?.[0] ?? p.failure.reason),
        ),
      });
    }
  }

  /**
   * A quote that was denied (the user, a closed window, an expiry) gives its reservation back,
   * whoever decided and whichever worker is running: nothing else waits to do it after a restart.
   */
  async release(paymentId: string): Promise<void> {
    const p = await this.deps.db.payments.get(paymentId);
    if (p?.state !== 'reserved' || p.approval !== 'denied') return;
    // Withdrawn because the user chose another wallet: the ledger says so, not "denied".
    if (this.switchedTo.has(p.id) || this.switching.has(p.id)) {
      await this.fail(p.id, 'reserved', 'switched', said('failureSwitched'));
      return;
    }
    const expired = this.now() / 1000 + EXPIRY_MARGIN_SECONDS >= p.expiresAt;
    await this.fail(
      p.id,
      'reserved',
      expired ? 'expired' : 'denied',
      said(expired ? 'failureOfferExpired' : 'failureDenied'),
    );
  }

  /**
   * On start: rows a dead worker left half-decided. Denied quotes are released; waiting ones whose
   * offer expired are withdrawn; page-wallet payments past their invoice's expiry are settled.
   */
  async tidy(): Promise<void> {
    const { db } = this.deps;
    const reserved = await db.payments.where('state').anyOf('reserved', 'unknown', 'paying').toArray();
    for (const p of reserved) {
      if (p.state === 'reserved' && p.approval === 'denied') await this.release(p.id);
      else await this.expire(p.id);
    }
  }

  /**
   * The credential the requesting site already holds for this request: its L402 token for the
   * scope, when the 402 asks for L402 (a page-load token only for its own tab's page loads), or
   * its plan's subscriber credential for the origin. Only the site that paid gets it: the site
   * comes from the browser.
   */
  private async held(
    req: ChallengeRequest,
    protocols: readonly string[],
  ): Promise<ChallengeVerdict | undefined> {
    const site = siteOf(req.origin) ?? req.origin;
    // The subscriber's credential is looked up beside the token (each a read of its own).
    const subscriber =
      req.via === 'fetch' ? (this.deps.subscriptions?.heldFor?.(site, req.url) ?? undefined) : undefined;
    subscriber?.catch(() => {});
    let token: Awaited<ReturnType<TokenService['matching']>>;
    try {
      token = await this.deps.tokens.matching(ownerOf({ site, via: req.via, tabId: req.tabId }), req.url);
    } catch {
      return undefined; // not a URL a token could cover
    }
    if (token && protocols.includes('l402')) {
      const verdict = retryVerdict(
        { header: 'Authorization', value: token.authorization },
        'paid before',
        token.paymentId,
      );
      if (verdict.action !== 'retry') return undefined;
      return {
        ...verdict,
        held: true,
        ...(token.resource === 'fetch'
          ? { keep: { origin: token.origin, pathPrefix: token.pathPrefix } }
          : {}),
      };
    }
    return subscriber;
  }

  private verdictFor(p: PaymentRecord): ChallengeVerdict {
    // Its credential was refused: presenting it again would only be refused again, and paying the
    // challenge again is what the unique key forbids. The request's log says why.
    if (p.delivery?.refused) return pass(said('refusedDeliveredNothing'), true);
    if (p.state === 'paid' || p.state === 'accepted') {
      for (const m of METHODS) {
        const c = m.credential(p);
        if (c) return keepFor(p, retryVerdict(c.credential, c.reason, p.id));
      }
    }
    return pass(p.failure?.reason ?? `this payment request is ${p.state}`);
  }

  private async fail(
    id: string,
    from: PaymentState | readonly PaymentState[],
    code: string,
    reason: Said,
  ): Promise<ChallengeVerdict> {
    await this.setState(id, from, 'failed', { failure: failure(code, reason) });
    return pass(reason);
  }

  /** One move of the state machine; what follows a charge becoming spent runs once, by the winner. */
  private async setState(
    id: string,
    from: PaymentState | readonly PaymentState[],
    state: PaymentState,
    extra: Partial<PaymentRecord> = {},
  ): Promise<boolean> {
    const moved = await transition(this.deps.db, id, from, state, { ...extra, updatedAt: this.now() });
    if (!moved.ok) return false;
    // The record as written (a review window's end with it, see `transition`).
    const p = moved.payment;
    if (p && (state === 'paid' || state === 'proof_failed')) {
      if (state === 'paid' && p.review) await this.deps.onPaid?.(id).catch(() => {});
      if (state === 'paid') await notePaid(this.deps.db, p, this.now()).catch(() => {});
      await this.deps.notify?.afterCommit(p).catch(() => {});
    }
    return true;
  }
}
