// Drafts: the demo's route whose price is only known after the work is done. It charges the
// maximum of an estimate, reports what the draft actually cost, and lets the payer review it:
//
//   POST /drafts/generate        {prompt} → 402 with `paybound` terms, or 200 {text, words, charge, unit, max, actual, …}
//   POST /paybound/review        the review endpoint (accept / reject / status)
//
// Demo-only test hooks (documented in server/merchant/README.md; never in a real app):
//   prompt markers  #window=<seconds>  #overcharge  #hold-refunds  #broken-refunds
//   POST /paybound/review-broken      always answers 500 (the refund URL of #broken-refunds)
//   POST /_demo/refunds/<charge>      {decision: "pay" | "deny" | "check"}: the operator decides a
//                                     queued refund (Authorization: Bearer <operator token>)
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CardServiceClient, CardServiceError, cardMethod, type ReceiptKey } from '../kit/card';
import { answerPreflight, applyCors, readJsonBody, requestOrigin, sendJson } from '../kit/http';
import type { LightningNetwork } from '../kit/invoice';
import type { InvoiceBackend, InvoicePayer } from '../kit/lnbits-client';
import { l402Paywall, type PaywallOptions } from '../kit/middleware';
import { lightningMethod } from '../kit/mpp-lightning';
import type { MppMethod } from '../kit/mpp-method';
import {
  type ChallengeStore,
  type PaymentHandler,
  paymentPaywall,
  type SettlementEvent,
} from '../kit/payment-paywall';
import type { PlanDesk, PlanHandler, PlanPaidRequest } from '../kit/plan-desk';
import { type RefundPolicyRequest, ReviewDesk, ReviewError, reviewEndpoint } from '../kit/review';
import { writeDraft } from './generator';
import { draftPricingNote } from './price-text';
import { countWords, type DemoPricing, draftActualMsat, quoteDraftMsat, satToUsdCents } from './pricing';

export const REVIEW_PATH = '/paybound/review';
export const BROKEN_REVIEW_PATH = '/paybound/review-broken';
/** Refunds up to this many sats are paid at once inside the window; larger ones wait for the operator. */
export const INSTANT_REFUND_LIMIT_SAT = 5_000n;
/** What #overcharge adds above the maximum: 100 sat (L402, MPP Lightning) or 100 cents (card). */
export const OVERCHARGE_SAT = 100n;
export const OVERCHARGE_CENTS = 100n;
/** The longest window #window=<seconds> may ask for: 4 days, the wallet's own cap. */
export const MAX_WINDOW_SECONDS = 4 * 24 * 3600;

const PROMPT_MAX_CHARS = 2000;

export interface DraftMarkers {
  windowSeconds?: number;
  overcharge: boolean;
  holdRefunds: boolean;
  brokenRefunds: boolean;
}

interface DraftBody {
  /** The prompt without its markers: what is priced and written about. */
  prompt: string;
  markers: DraftMarkers;
}

const MARKER = /(?<=^|\s)#(window=(\d{1,9})|overcharge|hold-refunds|broken-refunds)(?=\s|$)/gu;

/** Splits the demo's test markers off a prompt; an error for a window out of 1..4 days. */
export function readMarkers(prompt: string): { prompt: string; markers: DraftMarkers } | { error: string } {
  const markers: DraftMarkers = { overcharge: false, holdRefunds: false, brokenRefunds: false };
  for (const m of prompt.matchAll(MARKER)) {
    if (m[2] !== undefined) {
      const seconds = Number(m[2]);
      if (seconds < 1 || seconds > MAX_WINDOW_SECONDS) {
        return { error: `#window must be 1 to ${MAX_WINDOW_SECONDS} seconds` };
      }
      markers.windowSeconds = seconds;
    } else if (m[1] === 'overcharge') markers.overcharge = true;
    else if (m[1] === 'hold-refunds') markers.holdRefunds = true;
    else markers.brokenRefunds = true;
  }
  return { prompt: prompt.replace(MARKER, ' ').replace(/\s+/gu, ' ').trim(), markers };
}

export interface DraftsOptions {
  common: Pick<
    PaywallOptions<DraftBody>,
    'wallet' | 'rootKey' | 'location' | 'service' | 'tokenLifetimeSeconds'
  >;
  pricing: DemoPricing;
  wallet: InvoiceBackend;
  refundWallet?: InvoicePayer;
  network: LightningNetwork;
  windowSeconds: number;
  card?: { client: CardServiceClient; accountId: string; receiptKey?: ReceiptKey; usdPerBtc: number };
  mppLightning: boolean;
  mpp: { secret: string; store: ChallengeStore; onSettled?(event: SettlementEvent): void };
  /** The secret the operator hook asks for (`Authorization: Bearer <token>`). */
  operatorToken: string;
  now?: () => number;
  /** Plans offered beside pay-per-use drafts; their subscribers' drafts are served by the plan. */
  plans?: PlanDesk;
}

const MPP_REALM = 'paybound-demo';

/** Constant-time: the hook must not tell how much of a guess was right. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export interface Drafts {
  desk: ReviewDesk;
  pricingNote: string;
  /** Handles the drafts' paths; false for any other path. */
  route(req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<boolean>;
  settled(): Promise<void>;
}

export function startDrafts(o: DraftsOptions): Drafts {
  if (!Number.isSafeInteger(o.windowSeconds) || o.windowSeconds < 1) {
    throw new RangeError('reviewWindowSeconds must be a whole number of seconds ≥ 1');
  }
  const { pricing } = o;
  if (o.operatorToken.length < 16) throw new RangeError('the operator token must be 16+ characters');
  // Charges whose prompt said #hold-refunds: every refund of theirs waits for the operator.
  const held = new Set<string>();

  const desk = new ReviewDesk({
    refundWallet: o.refundWallet,
    network: o.network,
    card: o.card ? { client: o.card.client, receiptKey: o.card.receiptKey } : undefined,
    // The paywalls' own keys: the desk checks the credential a charge was paid with.
    rootKey: o.common.rootKey,
    mppSecret: o.mpp.secret,
    mppRealm: MPP_REALM,
    refundPolicy: (request: RefundPolicyRequest) => {
      if (held.has(request.charge)) return 'queue';
      const sat =
        request.unit === 'msat' ? request.amount / 1000n : request.unit === 'sat' ? request.amount : null;
      return sat !== null && sat <= INSTANT_REFUND_LIMIT_SAT ? 'pay' : 'queue';
    },
    ...(o.now ? { now: o.now } : {}),
  });

  const maxMsat = (body: DraftBody) => quoteDraftMsat(body.prompt, pricing).maxMsat;
  const toCents = (msat: bigint) => satToUsdCents(msat / 1000n, o.card?.usdPerBtc);
  const windowOf = (body: DraftBody) => body.markers.windowSeconds ?? o.windowSeconds;

  const options: PaywallOptions<DraftBody> = {
    ...o.common,
    ...(o.plans ? { plans: o.plans } : {}),
    capability: 'draft',
    priceMsat: (_req, body) => maxMsat(body),
    description: (_req, body) => `Quill: a draft for a ${countWords(body.prompt)}-word prompt (estimated)`,
    review: {
      desk,
      windowSeconds: (_req, body) => windowOf(body),
      refundUrl: (req, body) =>
        requestOrigin(req) + (body.markers.brokenRefunds ? BROKEN_REVIEW_PATH : REVIEW_PATH),
      minimumMsat: (_req, body) => quoteDraftMsat(body.prompt, pricing).minMsat,
    },
  };
  const methods: MppMethod<DraftBody>[] = [];
  if (o.card) {
    methods.push(
      cardMethod<DraftBody>({
        client: o.card.client,
        accountId: o.card.accountId,
        receiptKey: o.card.receiptKey,
        amountMinor: (_req, body) => toCents(maxMsat(body)),
        minorFromMsat: toCents,
        currency: 'usd',
      }),
    );
  }
  if (o.mppLightning)
    methods.push(lightningMethod<DraftBody>({ wallet: o.wallet, priceMsat: options.priceMsat }));

  const mppPaywall =
    methods.length > 0
      ? paymentPaywall<DraftBody>({
          ...options,
          mpp: {
            realm: MPP_REALM,
            secret: o.mpp.secret,
            methods,
            store: o.mpp.store,
            onSettled: o.mpp.onSettled,
          },
        })
      : null;
  const l402 = mppPaywall ? null : l402Paywall<DraftBody>(options);
  const perUse = (
    req: IncomingMessage,
    res: ServerResponse,
    body: DraftBody,
    next: PaymentHandler<DraftBody>,
  ) =>
    mppPaywall
      ? mppPaywall(req, res, body, next)
      : l402!(req, res, body, (q, r, b, paid) => next(q, r, b, paid ? { kind: 'l402', l402: paid } : null));
  // A subscriber's drafts are the plan's; everyone else's go to the per-use paywall.
  const paywall: (
    req: IncomingMessage,
    res: ServerResponse,
    body: DraftBody,
    next: PlanHandler<DraftBody>,
  ) => Promise<void> = o.plans ? o.plans.guard(perUse) : perUse;

  /** Serves a paid draft and reports what it cost (or, for #overcharge, more than was paid). */
  async function serve(res: ServerResponse, body: DraftBody, paid: PlanPaidRequest | null): Promise<void> {
    const text = writeDraft(body.prompt, pricing.draftMaxWords);
    const words = countWords(text);
    if (paid?.kind === 'plan') {
      // Nothing to review: the plan paid for it.
      const { plan, used, included, periodEnd, overage } = paid.plan;
      return sendJson(res, 200, {
        text,
        words,
        plan: {
          id: plan,
          used,
          included,
          period_end: periodEnd,
          ...(overage ? { overage: { amount: overage.amount.toString(), unit: overage.unit } } : {}),
        },
      });
    }
    const actualMsat = draftActualMsat(body.prompt, words, pricing);
    const charge = paid?.kind === 'l402' ? paid.l402.review : paid?.mpp.review;
    if (!paid || !charge)
      return sendJson(res, 500, { error: 'a draft is only served for a reviewed charge' });
    if (body.markers.holdRefunds) held.add(charge.charge);
    let actual: bigint;
    if (paid.kind === 'l402') {
      actual = actualMsat;
      if (body.markers.overcharge) {
        actual = charge.max + OVERCHARGE_SAT * 1000n;
        await desk.unsafeRecordActual(charge.charge, actual);
      } else paid.l402.reportActual(actual);
    } else if (paid.mpp.currency === 'sat') {
      actual = actualMsat / 1000n;
      if (body.markers.overcharge) {
        actual = charge.max + OVERCHARGE_SAT;
        await desk.unsafeRecordActual(charge.charge, actual);
      } else paid.mpp.reportActual(actual);
    } else {
      actual = toCents(actualMsat);
      if (body.markers.overcharge && o.card) {
        // The card service refuses a report above the authorization and keeps it on the payment.
        await o.card.client
          .report(paid.mpp.challengeId, charge.max + OVERCHARGE_CENTS)
          .catch((err: unknown) => {
            if (!(err instanceof CardServiceError) || err.status !== 422) throw err;
          });
      }
      paid.mpp.reportActual(actual);
    }
    sendJson(res, 200, {
      text,
      words,
      price_msat: maxMsat(body).toString(),
      charge: charge.charge,
      unit: charge.unit,
      max: charge.max.toString(),
      actual: actual.toString(),
      window_seconds: windowOf(body),
      ...(paid.kind === 'mpp'
        ? {
            paid: {
              method: paid.mpp.method,
              amount: paid.mpp.amount.toString(),
              currency: paid.mpp.currency,
            },
          }
        : {}),
    });
  }

  async function generate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, 16 * 1024);
    if (!body.ok) return sendJson(res, body.status, { error: body.error });
    const value = body.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return sendJson(res, 422, { error: 'expected a JSON object {"prompt": "..."}' });
    }
    const raw: unknown = (value as Record<string, unknown>).prompt;
    if (typeof raw !== 'string')
      return sendJson(res, 422, { error: 'prompt is required and must be a string' });
    if ([...raw].length > PROMPT_MAX_CHARS) {
      return sendJson(res, 422, { error: `prompt is longer than ${PROMPT_MAX_CHARS} characters` });
    }
    const read = readMarkers(raw);
    if ('error' in read) return sendJson(res, 422, { error: read.error });
    if (read.prompt === '') return sendJson(res, 422, { error: 'prompt must not be empty' });
    await paywall(req, res, read, (_req, res, body, paid) => serve(res, body, paid));
  }

  const review = reviewEndpoint(desk);

  async function operator(req: IncomingMessage, res: ServerResponse, charge: string): Promise<void> {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !sameSecret(bearer, o.operatorToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="paybound-demo-operator"');
      return sendJson(res, 401, {
        error: {
          code: 'unauthorized',
          message: 'the operator hook needs Authorization: Bearer <operator token>',
        },
      });
    }
    const body = await readJsonBody(req, 4 * 1024);
    const decision = body.ok ? (body.value as { decision?: unknown } | null)?.decision : undefined;
    if (decision !== 'pay' && decision !== 'deny' && decision !== 'check') {
      return sendJson(res, 400, {
        error: { code: 'bad_request', message: 'send {"decision": "pay" | "deny" | "check"}' },
      });
    }
    try {
      const answer =
        decision === 'pay'
          ? await desk.payQueued(charge)
          : decision === 'deny'
            ? await desk.denyQueued(charge)
            : await desk.reconcile(charge);
      sendJson(res, 200, answer);
    } catch (err) {
      if (!(err instanceof ReviewError)) throw err;
      sendJson(res, err.status, { error: { code: err.code, message: err.message } });
    }
  }

  function notAllowed(res: ServerResponse, allow: string): void {
    res.setHeader('Allow', allow);
    sendJson(res, 405, { error: 'method not allowed', allow });
  }

  return {
    desk,
    pricingNote: draftPricingNote(pricing, o.card?.usdPerBtc),
    async route(req, res, path, method) {
      if (path === '/drafts/generate') {
        if (method === 'OPTIONS') answerPreflight(res);
        else if (method !== 'POST') {
          applyCors(res);
          notAllowed(res, 'POST, OPTIONS');
        } else await generate(req, res);
        return true;
      }
      if (path === REVIEW_PATH) {
        await review(req, res);
        return true;
      }
      if (path === BROKEN_REVIEW_PATH) {
        if (method === 'OPTIONS') answerPreflight(res);
        else {
          applyCors(res);
          sendJson(res, 500, {
            error: { code: 'internal_error', message: 'this review endpoint is broken on purpose (demo)' },
          });
        }
        return true;
      }
      const refunds = /^\/_demo\/refunds\/([A-Za-z0-9_-]{8,200})$/.exec(path);
      if (refunds) {
        if (method !== 'POST') notAllowed(res, 'POST');
        else await operator(req, res, refunds[1]!);
        return true;
      }
      return false;
    },
    settled: () => mppPaywall?.settled() ?? Promise.resolve(),
  };
}
