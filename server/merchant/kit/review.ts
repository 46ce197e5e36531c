// Estimates and the review window, the app's side (the contract is in server/merchant/README.md).
//
// A route whose price is only known after the work is done charges the maximum and says so in its
// challenge: `paybound="<base64url JSON {v: 1, estimate: {min, max}, review: {window, refund}}>"`.
// After serving it records what the request actually cost. The payer then has `window` seconds to
// accept (the app pays back max − actual) or reject (the app's refund policy decides) at the
// review endpoint, proving it paid with what only the payer has: the whole credential it paid with
// (the L402 macaroon with its preimage, or the MPP credential), or the card receipt. A preimage
// alone proves nothing about who paid: every routing node on the payment's path learns it.
//
//   const desk = new ReviewDesk({ refundWallet, network: 'regtest', rootKey, mppSecret, refundPolicy });
//   l402Paywall({ ..., review: { desk, windowSeconds: 600, refundUrl: (req) => `${origin}/paybound/review` } });
//   route POST /paybound/review → reviewEndpoint(desk)
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DatabaseUnavailable } from '../../lib/sql';
import {
  type CardServiceClient,
  type ReceiptKey,
  receiptKeyId,
  receiptKeySource,
  verifyCardReceipt,
} from './card';
import { answerPreflight, applyCors, readJsonBody, sendJson } from './http';
import { type LightningNetwork, readInvoice } from './invoice';
import { bytesToHex, decodeIdentifier, normaliseRootKey, parseAuthorization } from './l402';
import { type InvoicePayer, LnbitsError } from './lnbits-client';
import { MSAT_PER_SAT } from './money';
import {
  base64urlJson,
  ChallengeBinder,
  decodeBase64urlJson,
  type JsonValue,
  parsePaymentAuthorization,
} from './mpp';

// ---------------------------------------------------------------------------------------------
// The challenge parameter

export const PAYBOUND_PARAM = 'paybound';

/** A plan offered next to the per-call price (docs/plans.md §1), amounts in the challenge's unit. */
export interface PayboundPlan {
  id: string;
  name: string;
  price: bigint;
  interval: 'day' | 'week' | 'month' | 'year';
  intervalCount: number;
  includes: { calls: number };
  overage?: { price: bigint; cap: bigint };
  /** The subscribe URL, on the charged request's origin. */
  subscribe: string;
}

export interface PayboundTerms {
  /** Both in the challenge's unit; `max` is the amount charged. */
  estimate?: { min: bigint; max: bigint };
  review?: { window: number; refund: string };
  plans?: readonly PayboundPlan[];
  /** On an overage charge: the plan whose included usage this call goes beyond. */
  overage?: { plan: string };
}

/**
 * Where a paywall gets the plans to offer on a challenge: `unit` is the challenge's (msat for L402,
 * sat for MPP Lightning, the card currency), `charge` what the challenge charges in it.
 */
export interface PlanOffering {
  offers(unit: string, charge: bigint, req: IncomingMessage): readonly PayboundPlan[];
}

function planJson(plan: PayboundPlan): JsonValue {
  return {
    id: plan.id,
    name: plan.name,
    price: plan.price.toString(),
    interval: plan.interval,
    intervalCount: plan.intervalCount,
    includes: { calls: plan.includes.calls },
    ...(plan.overage
      ? { overage: { price: plan.overage.price.toString(), cap: plan.overage.cap.toString() } }
      : {}),
    subscribe: plan.subscribe,
  };
}

/** The auth-param's value: base64url (no padding) of the canonical JSON, version 1. */
export function encodePaybound(terms: PayboundTerms): string {
  const json: { [key: string]: JsonValue } = { v: 1 };
  if (terms.estimate) {
    const { min, max } = terms.estimate;
    if (min < 0n || min > max) throw new RangeError(`estimate minimum ${min} is not within 0..${max}`);
    json.estimate = { min: min.toString(), max: max.toString() };
  }
  if (terms.review) json.review = { window: terms.review.window, refund: terms.review.refund };
  if (terms.plans && terms.plans.length > 0) json.plans = terms.plans.map(planJson);
  if (terms.overage) json.overage = { plan: terms.overage.plan };
  return base64urlJson(json);
}

/** `paybound="…"`, ready to append to a challenge's auth-params. */
export function payboundAuthParam(terms: PayboundTerms): string {
  return `${PAYBOUND_PARAM}="${encodePaybound(terms)}"`;
}

// ---------------------------------------------------------------------------------------------
// A route's review option

export interface ReviewOptions<B> {
  /** Where charges are recorded and reviewed; one desk serves every reviewed route of an app. */
  desk: ReviewDesk;
  /** Seconds the payer may reject what was delivered (a whole number ≥ 1), or a function of the request. */
  windowSeconds: number | ((req: IncomingMessage, body: B) => number);
  /** The review endpoint's absolute http(s) URL, on the origin the request came to (see requestOrigin). */
  refundUrl(req: IncomingMessage, body: B): string;
  /**
   * The low end of the estimate in msat; the high end is always the price charged. Card and other
   * methods convert it (MppMethod.review.minimumFromMsat). Omitted: the challenges carry no estimate.
   */
  minimumMsat?(req: IncomingMessage, body: B): bigint | number;
}

/** What a paid handler learns about its charge when the route has a review window. */
export interface ReviewedCharge {
  /** The id the payer names at the review endpoint (payment hash, or the MPP challenge id for cards). */
  charge: string;
  /** What was paid or authorized, in `unit`. */
  max: bigint;
  unit: string;
  /** Unix ms. */
  windowEndsAt: number;
}

export function reviewWindow<B>(review: ReviewOptions<B>, req: IncomingMessage, body: B): number {
  const window =
    typeof review.windowSeconds === 'function' ? review.windowSeconds(req, body) : review.windowSeconds;
  if (!Number.isSafeInteger(window) || window < 1) {
    throw new RangeError(`review window must be a whole number of seconds ≥ 1, got ${window}`);
  }
  return window;
}

export function reviewRefundUrl<B>(review: ReviewOptions<B>, req: IncomingMessage, body: B): string {
  const url = review.refundUrl(req, body);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`refund URL ${JSON.stringify(url)} is not an absolute URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RangeError('refund URL must be http(s)');
  }
  return url;
}

/** The estimate's minimum in msat, or undefined; never above `priceMsat`. */
export function reviewMinimumMsat<B>(
  review: ReviewOptions<B>,
  req: IncomingMessage,
  body: B,
  priceMsat: bigint,
): bigint | undefined {
  if (!review.minimumMsat) return undefined;
  const raw = review.minimumMsat(req, body);
  if (typeof raw === 'number' && !Number.isSafeInteger(raw))
    throw new RangeError('estimate minimum must be an integer');
  const min = BigInt(raw);
  if (min < 0n || min > priceMsat) {
    throw new RangeError(
      `estimate minimum ${min} msat is not within 0..${priceMsat} msat (the price charged)`,
    );
  }
  return min;
}

// ---------------------------------------------------------------------------------------------
// Records

export type ReviewStatus =
  | 'provisional'
  | 'accepted'
  | 'rejected'
  | 'refunded'
  | 'partially_refunded'
  | 'refund_queued'
  | 'refund_denied';

export interface RefundRequest {
  /** `difference`: max − actual, owed on accept; `reject`: what the payer asked back. */
  kind: 'difference' | 'reject';
  /** What the payer asked, in the charge's unit. */
  requested: bigint;
  /** What is paid back, in the charge's unit (Lightning: rounded down to whole sats). */
  amount: bigint;
  reason?: string;
  /** The payer's BOLT11 invoice (Lightning). */
  invoice?: string;
  /** Made after the review window had closed. */
  late: boolean;
  /** `recorded`: a card rejection, which the payer settles at the card service itself. */
  state: 'paid' | 'queued' | 'denied' | 'recorded';
  note?: string;
  /** Unix ms. */
  at: number;
  settledAt?: number;
  /** Of the refund payment, once paid. */
  paymentHash?: string;
  /**
   * Every payment tried for this refund, oldest first, each written down with its invoice's hash
   * before the wallet was asked. At most one is ever unresolved (`sending`, `unknown`): no other
   * invoice is paid, and the invoice is not replaced, until the wallet says what became of it.
   */
  attempts?: RefundAttempt[];
}

export interface RefundAttempt {
  invoice: string;
  paymentHash: string;
  /**
   * `sending`: recorded, the wallet being asked (a record left so by a crash reads as unknown);
   * `unknown`: a timeout, a network error or `pending`; `paid` and `failed` are the wallet's word.
   */
  state: 'sending' | 'unknown' | 'paid' | 'failed';
  /** Unix ms. */
  at: number;
  note?: string;
}

export interface ChargeRecord {
  charge: string;
  /** `l402`, or the MPP method name (`lightning`, `card`). */
  method: string;
  proof: 'lightning' | 'card';
  /** msat (L402), sat (MPP lightning), or the card currency's minor unit (e.g. usd). */
  unit: string;
  max: bigint;
  /** null until the app reports it. */
  actual: bigint | null;
  /** Unix ms. */
  createdAt: number;
  windowEndsAt: number;
  decision: 'accepted' | 'rejected' | null;
  /** Paid back so far (the accepted difference included), in `unit`. */
  refunded: bigint;
  /** Waiting for the app's operator, in `unit`. */
  queued: bigint;
  requests: RefundRequest[];
  note?: string;
}

/**
 * Where charges under review live. The default keeps them in memory (they die with the process);
 * an app with several processes or restarts passes sqlChargeStore (review-store.ts) or its own. `add` must be
 * atomic: it is what makes a reviewed L402 token single use.
 */
export interface ChargeStore {
  /** Records a new charge; false (nothing changes) when one with this id exists. */
  add(record: ChargeRecord): Promise<boolean>;
  get(charge: string): Promise<ChargeRecord | undefined>;
  /** Replaces the record with the same charge id. */
  put(record: ChargeRecord): Promise<void>;
  /** Charges with a refund waiting for the operator. */
  queued(): Promise<ChargeRecord[]>;
  /**
   * Runs `work` while no other desk on this store works on `charge` (several app instances on one
   * database); without it, the desk serialises work on a charge within its own process only.
   */
  exclusive?<T>(charge: string, work: () => Promise<T>): Promise<T>;
}

export function memoryChargeStore(): ChargeStore {
  const records = new Map<string, ChargeRecord>();
  return {
    async add(record) {
      if (records.has(record.charge)) return false;
      records.set(record.charge, structuredClone(record));
      return true;
    },
    async get(charge) {
      const record = records.get(charge);
      return record ? structuredClone(record) : undefined;
    },
    async put(record) {
      records.set(record.charge, structuredClone(record));
    },
    async queued() {
      return [...records.values()].filter((r) => r.queued > 0n).map((r) => structuredClone(r));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The desk

export type RefundDecision = 'pay' | 'queue' | 'deny';

/**
 * What the refund policy sees: a Lightning refund the desk is about to pay. `difference` is max −
 * actual, owed when the payer accepts (an honest policy pays it; 'deny' holds it like 'queue');
 * `reject` is what a payer asked back inside the window. Rejects after the window are queued
 * without asking the policy.
 */
export interface RefundPolicyRequest {
  kind: 'difference' | 'reject';
  charge: string;
  method: string;
  unit: string;
  /** What would be paid back, in `unit`. */
  amount: bigint;
  max: bigint;
  actual: bigint | null;
  /** The payer's reason (rejects). */
  reason?: string;
}

export interface ReviewDeskOptions {
  /** Default: memoryChargeStore(). */
  store?: ChargeStore;
  /** Pays Lightning refunds from the app's wallet (LnbitsClient with the admin key). Without it every Lightning refund is queued. */
  refundWallet?: InvoicePayer;
  /** The network refund invoices must be for; default 'mainnet'. */
  network?: LightningNetwork;
  /** The card service whose receipts prove card charges (its key is fetched once unless given). */
  card?: { client: CardServiceClient; receiptKey?: ReceiptKey };
  /**
   * Decides a refund inside the window: pay it now, queue it for a person, or deny it. Default: pay
   * the difference owed on accept, queue every reject.
   */
  refundPolicy?(request: RefundPolicyRequest): RefundDecision | Promise<RefundDecision>;
  /** A reject after the window: queued for the operator (default), or refused with 409 window_closed. */
  lateRejects?: 'queue' | 'refuse';
  /** How long a refund invoice must still be payable; default 60 s. */
  minInvoiceSeconds?: number;
  /** The L402 root key the app's paywalls mint with: L402 charges are proven by their macaroon. */
  rootKey?: Uint8Array | string;
  /** The MPP challenge secret (and realm) of the app's paywalls: MPP Lightning charges are proven by their credential. */
  mppSecret?: Uint8Array | string;
  mppRealm?: string;
  now?: () => number;
}

/** The review endpoint's answer for one charge. */
export interface ReviewAnswer {
  v: 1;
  charge: string;
  status: ReviewStatus;
  max: string;
  actual?: string;
  refunded: string;
  queued: string;
  note?: string;
}

export type ReviewErrorCode =
  | 'bad_request'
  | 'bad_proof'
  | 'unknown_charge'
  | 'already_decided'
  | 'window_closed'
  | 'invoice_mismatch'
  | 'invoice_required'
  | 'amount_too_high'
  | 'unavailable'
  | 'nothing_queued';

const ERROR_STATUS: Readonly<Record<ReviewErrorCode, number>> = {
  bad_request: 400,
  bad_proof: 403,
  unknown_charge: 404,
  already_decided: 409,
  window_closed: 409,
  nothing_queued: 409,
  invoice_mismatch: 422,
  invoice_required: 422,
  amount_too_high: 422,
  unavailable: 503,
};

export class ReviewError extends Error {
  readonly status: number;
  constructor(
    readonly code: ReviewErrorCode,
    message: string,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

export interface ReviewOutcome {
  status: number;
  body: ReviewAnswer | { error: { code: ReviewErrorCode; message: string } };
}

const CHARGE_ID = /^[A-Za-z0-9_-]{8,200}$/;
const AMOUNT = /^[1-9]\d{0,30}$/;

export class ReviewDesk {
  readonly #store: ChargeStore;
  readonly #wallet: InvoicePayer | undefined;
  readonly #network: LightningNetwork;
  readonly #policy: NonNullable<ReviewDeskOptions['refundPolicy']>;
  readonly #late: 'queue' | 'refuse';
  readonly #minInvoiceSeconds: number;
  readonly #now: () => number;
  readonly #cardKeys: ((kid?: string) => Promise<ReceiptKey[]>) | undefined;
  readonly #rootKey: Uint8Array | undefined;
  readonly #binder: ChallengeBinder | undefined;
  readonly #mppRealm: string | undefined;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(options: ReviewDeskOptions = {}) {
    this.#store = options.store ?? memoryChargeStore();
    this.#wallet = options.refundWallet;
    this.#network = options.network ?? 'mainnet';
    this.#policy = options.refundPolicy ?? ((request) => (request.kind === 'difference' ? 'pay' : 'queue'));
    this.#late = options.lateRejects ?? 'queue';
    this.#minInvoiceSeconds = options.minInvoiceSeconds ?? 60;
    this.#now = options.now ?? Date.now;
    this.#cardKeys = options.card
      ? receiptKeySource(options.card.client, options.card.receiptKey)
      : undefined;
    this.#rootKey = options.rootKey === undefined ? undefined : normaliseRootKey(options.rootKey);
    this.#binder = options.mppSecret === undefined ? undefined : new ChallengeBinder(options.mppSecret);
    this.#mppRealm = options.mppRealm;
  }

  now(): number {
    return this.#now();
  }

  /** One action at a time per charge (in every instance sharing the store): two accepts never pay twice. */
  #locked<T>(charge: string, inner: () => Promise<T>): Promise<T> {
    const store = this.#store;
    const work = store.exclusive ? () => store.exclusive!(charge, inner) : inner;
    const before = this.#locks.get(charge) ?? Promise.resolve();
    const run = before.then(work, work);
    const tail = run.catch(() => undefined);
    this.#locks.set(charge, tail);
    void tail.then(() => {
      if (this.#locks.get(charge) === tail) this.#locks.delete(charge);
    });
    return run;
  }

  // ---- the paywalls' side ---------------------------------------------------------------------

  /** Records a paid charge; null when this charge id was recorded before (a reused credential). */
  async open(input: {
    charge: string;
    method: string;
    proof: 'lightning' | 'card';
    unit: string;
    max: bigint;
    windowSeconds: number;
  }): Promise<ReviewedCharge | null> {
    const createdAt = this.#now();
    const record: ChargeRecord = {
      charge: input.charge,
      method: input.method,
      proof: input.proof,
      unit: input.unit,
      max: input.max,
      actual: null,
      createdAt,
      windowEndsAt: createdAt + input.windowSeconds * 1000,
      decision: null,
      refunded: 0n,
      queued: 0n,
      requests: [],
    };
    if (!(await this.#store.add(record))) return null;
    return { charge: record.charge, max: record.max, unit: record.unit, windowEndsAt: record.windowEndsAt };
  }

  /** The honest report: 0 ≤ actual ≤ max, or a RangeError. */
  reportActual(charge: string, actual: bigint): Promise<void> {
    return this.#locked(charge, async () => {
      const record = await this.#require(charge);
      if (actual < 0n || actual > record.max) {
        throw new RangeError(
          `actual ${actual} ${record.unit} is not within 0..${record.max} (the amount charged)`,
        );
      }
      record.actual = actual;
      await this.#store.put(record);
    });
  }

  /** Sets the actual when the handler reported none (the price when it served, 0 when it failed). */
  settleDefault(charge: string, actual: bigint): Promise<void> {
    return this.#locked(charge, async () => {
      const record = await this.#require(charge);
      if (record.actual !== null) return;
      record.actual = actual < record.max ? actual : record.max;
      await this.#store.put(record);
    });
  }

  /**
   * UNSAFE, for testing wallets: records any actual, even above what was charged, which the honest
   * reportActual refuses. A wallet must notice and flag it. Never call it in a real app.
   */
  unsafeRecordActual(charge: string, actual: bigint): Promise<void> {
    return this.#locked(charge, async () => {
      const record = await this.#require(charge);
      record.actual = actual;
      await this.#store.put(record);
    });
  }

  async #require(charge: string): Promise<ChargeRecord> {
    const record = await this.#store.get(charge);
    if (!record) throw new ReviewError('unknown_charge', `no charge ${charge} is under review here`);
    return record;
  }

  // ---- the operator's side ---------------------------------------------------------------------

  get(charge: string): Promise<ChargeRecord | undefined> {
    return this.#store.get(charge);
  }

  /** Charges with a refund waiting for a person. */
  queued(): Promise<ChargeRecord[]> {
    return this.#store.queued();
  }

  async answer(charge: string): Promise<ReviewAnswer> {
    return answerOf(await this.#require(charge));
  }

  /**
   * Pays every queued refund of this charge now (a failed payment stays queued, with a note). A
   * refund whose earlier payment is unknown is looked up first and never paid again while in flight.
   */
  payQueued(charge: string): Promise<ReviewAnswer> {
    return this.#locked(charge, async () => {
      const record = await this.#require(charge);
      const waiting = record.requests.filter((q) => q.state === 'queued');
      if (waiting.length === 0)
        throw new ReviewError('nothing_queued', 'no refund of this charge is waiting');
      for (const request of waiting) await this.#pay(record, request);
      await this.#store.put(record);
      return answerOf(record);
    });
  }

  /** Looks up every refund payment of this charge whose outcome is unknown (the operator's "check"). */
  reconcile(charge: string): Promise<ReviewAnswer> {
    return this.#locked(charge, async () => {
      const record = await this.#require(charge);
      if (await this.#reconcileAll(record)) await this.#store.put(record);
      return answerOf(record);
    });
  }

  /** Denies every queued refund of this charge. */
  denyQueued(charge: string, note = 'the app declined this refund'): Promise<ReviewAnswer> {
    return this.#locked(charge, async () => {
      const record = await this.#require(charge);
      // A refund whose payment may have gone out cannot be denied until the wallet says it did not.
      await this.#reconcileAll(record);
      const queued = record.requests.filter((q) => q.state === 'queued');
      const waiting = queued.filter((q) => !unresolved(q));
      if (waiting.length === 0) {
        await this.#store.put(record);
        throw new ReviewError(
          'nothing_queued',
          queued.length > 0
            ? 'the refund of this charge may have been paid already (its payment is in flight or unknown)'
            : 'no refund of this charge is waiting',
        );
      }
      for (const request of waiting) {
        request.state = 'denied';
        request.note = note;
        request.settledAt = this.#now();
        record.queued -= request.amount;
      }
      record.note = note;
      await this.#store.put(record);
      return answerOf(record);
    });
  }

  // ---- the payer's side: the review endpoint ---------------------------------------------------

  /** Handles one review request body; never throws for anything the client sent. */
  async review(input: unknown): Promise<ReviewOutcome> {
    let request: ParsedReview;
    try {
      request = parseReview(input);
    } catch (err) {
      if (err instanceof ReviewError) return failure(err);
      throw err;
    }
    try {
      const answer = await this.#locked(request.charge, async () => {
        const record = await this.#require(request.charge);
        await this.#checkProof(record, request.proof);
        // What became of an earlier refund payment is settled first: it decides what may happen next.
        const reconciled = await this.#reconcileAll(record);
        const changed =
          request.action === 'status'
            ? false
            : request.action === 'accept'
              ? await this.#accept(record, request)
              : await this.#reject(record, request);
        if (changed || reconciled) await this.#store.put(record);
        return answerOf(record);
      });
      return { status: 200, body: answer };
    } catch (err) {
      if (err instanceof ReviewError) return failure(err);
      throw err;
    }
  }

  async #checkProof(record: ChargeRecord, proof: string): Promise<void> {
    if (record.proof === 'lightning') {
      if (/^[0-9a-fA-F]{64}$/.test(proof)) {
        throw new ReviewError(
          'bad_proof',
          `a preimage alone does not prove who paid (every routing node learns it): send the ${
            record.method === 'l402'
              ? 'L402 credential, "<macaroon>:<preimage>"'
              : 'MPP credential ("Payment <base64url>")'
          } this charge was paid with`,
        );
      }
      if (record.method === 'l402') this.#checkL402(record, proof);
      else this.#checkMpp(record, proof);
      return;
    }
    if (!this.#cardKeys) throw new ReviewError('bad_proof', 'this app cannot check card receipts');
    let keys: ReceiptKey[];
    try {
      // The receipt's key id: an unknown one (the service rotated its keys) makes the source refetch.
      keys = await this.#cardKeys(receiptKeyId(proof));
    } catch (err) {
      throw new ReviewError('unavailable', `card service keys unavailable: ${(err as Error).message}`);
    }
    const checked = verifyCardReceipt(proof, keys);
    if (!checked.ok) throw new ReviewError('bad_proof', checked.reason);
    if (checked.claims.challengeId !== record.charge) {
      throw new ReviewError('bad_proof', 'the receipt is for another charge');
    }
  }

  /** The L402 credential: a macaroon this app signed, for this charge's payment hash, and its preimage. */
  #checkL402(record: ChargeRecord, proof: string): void {
    if (!this.#rootKey) throw new ReviewError('bad_proof', 'this app cannot check L402 credentials');
    const parsed = parseAuthorization(/^\s*(L402|LSAT)\s/i.test(proof) ? proof : `L402 ${proof}`);
    if (parsed.kind !== 'credential') {
      throw new ReviewError(
        'bad_proof',
        `the proof is not an L402 credential "<macaroon>:<preimage>"${parsed.kind === 'invalid' ? ` (${parsed.reason})` : ''}`,
      );
    }
    const { macaroon, preimage } = parsed.credential;
    try {
      // Only the signature matters here: the token may have expired since, and it paid already.
      macaroon.verify(this.#rootKey, () => null);
    } catch {
      throw new ReviewError('bad_proof', 'the macaroon was not minted by this app');
    }
    const id = decodeIdentifier(macaroon.identifier);
    if (!id || bytesToHex(id.paymentHash) !== record.charge.toLowerCase()) {
      throw new ReviewError('bad_proof', 'the macaroon is for another charge');
    }
    if (!timingSafeEqual(createHash('sha256').update(preimage).digest(), id.paymentHash)) {
      throw new ReviewError('bad_proof', 'the preimage is not the one of this charge');
    }
  }

  /** The MPP credential: a challenge this app issued (HMAC-bound id) for this payment hash, and its preimage. */
  #checkMpp(record: ChargeRecord, proof: string): void {
    if (!this.#binder) throw new ReviewError('bad_proof', 'this app cannot check MPP credentials');
    const parsed = parsePaymentAuthorization(/^\s*Payment\s/i.test(proof) ? proof : `Payment ${proof}`);
    if (parsed.kind !== 'credential') {
      throw new ReviewError('bad_proof', 'the proof is not an MPP credential "Payment <base64url>"');
    }
    const { challenge, payload } = parsed;
    if (
      challenge.method !== record.method ||
      challenge.intent !== 'charge' ||
      (this.#mppRealm !== undefined && challenge.realm !== this.#mppRealm) ||
      !this.#binder.verify(challenge)
    ) {
      throw new ReviewError('bad_proof', 'the challenge in the credential was not issued by this app');
    }
    const request = decodeBase64urlJson(challenge.request) as { methodDetails?: unknown } | undefined;
    const details = typeof request === 'object' && request !== null ? request.methodDetails : undefined;
    const hash =
      typeof details === 'object' && details !== null
        ? (details as Record<string, unknown>).paymentHash
        : undefined;
    if (typeof hash !== 'string' || hash.toLowerCase() !== record.charge.toLowerCase()) {
      throw new ReviewError('bad_proof', 'the credential is for another charge');
    }
    const preimage = payload.preimage;
    if (
      typeof preimage !== 'string' ||
      !/^[0-9a-fA-F]{64}$/.test(preimage) ||
      createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') !== hash.toLowerCase()
    ) {
      throw new ReviewError('bad_proof', 'the credential does not carry the preimage of this charge');
    }
  }

  /** Lightning amounts are paid in whole sats: `amount` in the charge's unit, rounded down. */
  #wholeSats(record: ChargeRecord, amount: bigint): { units: bigint; msat: bigint } {
    const perUnit = record.unit === 'msat' ? 1n : MSAT_PER_SAT; // msat in one unit
    const msat = ((amount * perUnit) / MSAT_PER_SAT) * MSAT_PER_SAT;
    return { units: msat / perUnit, msat };
  }

  #checkInvoice(invoice: string | undefined, msat: bigint): string {
    if (invoice === undefined) {
      throw new ReviewError('invoice_required', `send an invoice for ${msat / MSAT_PER_SAT} sat to be paid`);
    }
    const read = readInvoice(invoice);
    if (!read) throw new ReviewError('invoice_mismatch', 'the invoice is not a BOLT11 invoice');
    if (read.network !== this.#network) {
      throw new ReviewError(
        'invoice_mismatch',
        `the invoice is for ${read.network ?? 'an unknown network'}, not ${this.#network}`,
      );
    }
    if (read.amountMsat !== msat) {
      throw new ReviewError(
        'invoice_mismatch',
        `the invoice is for ${read.amountMsat === null ? 'no amount' : `${read.amountMsat} msat`}, not ${msat} msat`,
      );
    }
    if (read.expiresAt - Math.floor(this.#now() / 1000) < this.#minInvoiceSeconds) {
      throw new ReviewError('invoice_mismatch', `the invoice expires within ${this.#minInvoiceSeconds} s`);
    }
    return invoice.trim();
  }

  async #accept(record: ChargeRecord, request: ParsedReview): Promise<boolean> {
    if (record.decision === 'rejected') {
      throw new ReviewError('already_decided', 'this charge was rejected');
    }
    if (record.decision === 'accepted') return false; // accepting twice answers the same
    const actual = record.actual ?? record.max;
    const owed = record.max - actual;
    if (record.proof === 'lightning' && owed > 0n) {
      const { units, msat } = this.#wholeSats(record, owed);
      if (units > 0n) {
        const invoice = this.#checkInvoice(request.invoice, msat);
        const refund: RefundRequest = {
          kind: 'difference',
          requested: owed,
          amount: units,
          invoice,
          late: this.#now() >= record.windowEndsAt,
          state: 'queued',
          at: this.#now(),
        };
        record.requests.push(refund);
        record.decision = 'accepted';
        this.#queue(record, refund, 'the difference waits for the app to pay it');
        const decision = await this.#policy({
          kind: 'difference',
          charge: record.charge,
          method: record.method,
          unit: record.unit,
          amount: units,
          max: record.max,
          actual: record.actual,
        });
        if (decision === 'pay') await this.#pay(record, refund);
        return true;
      }
    }
    record.decision = 'accepted';
    return true;
  }

  async #reject(record: ChargeRecord, request: ParsedReview): Promise<boolean> {
    const requested = request.amount!;
    const now = this.#now();
    const late = now >= record.windowEndsAt;
    const earlier = record.requests.findLast((q) => q.kind === 'reject');
    if (earlier) {
      if (earlier.requested !== requested) {
        throw new ReviewError(
          'already_decided',
          `this charge was rejected already, for ${earlier.requested} ${record.unit}`,
        );
      }
      // The same reject again answers the same; a fresh invoice replaces one still waiting, but
      // never one whose payment may be in flight (looked up above): both could settle.
      if (
        earlier.state === 'queued' &&
        request.invoice !== undefined &&
        request.invoice.trim() !== earlier.invoice
      ) {
        const invoice = this.#checkInvoice(request.invoice, this.#wholeSats(record, requested).msat);
        if (unresolved(earlier)) {
          earlier.note = record.note =
            'an earlier refund payment is still in flight or unknown: the invoice it went to stays';
          return true;
        }
        earlier.invoice = invoice;
        return true;
      }
      return false;
    }
    if (record.decision === 'accepted' && !late) {
      throw new ReviewError('already_decided', 'this charge was accepted');
    }
    if (late && this.#late === 'refuse') {
      throw new ReviewError('window_closed', 'the review window of this charge has closed');
    }
    const left = record.max - record.refunded - record.queued;
    if (requested > left) {
      throw new ReviewError(
        'amount_too_high',
        `at most ${left > 0n ? left : 0n} ${record.unit} can be asked back`,
      );
    }
    const refund: RefundRequest = {
      kind: 'reject',
      requested,
      amount: requested,
      reason: request.reason!,
      late,
      state: 'recorded',
      at: now,
    };
    if (record.proof === 'card') {
      // The payer cancels or partly captures the authorization at the card service itself.
      record.requests.push(refund);
      record.decision = record.decision ?? 'rejected';
      return true;
    }
    const { units, msat } = this.#wholeSats(record, requested);
    if (units === 0n) throw new ReviewError('bad_request', 'a Lightning refund is at least one sat');
    refund.amount = units;
    refund.invoice = this.#checkInvoice(request.invoice, msat);
    record.decision = record.decision ?? 'rejected';
    record.requests.push(refund);
    if (late) {
      this.#queue(record, refund, 'the review window had closed: the app decides on this refund');
      return true;
    }
    const decision = await this.#policy({
      kind: 'reject',
      charge: record.charge,
      method: record.method,
      unit: record.unit,
      amount: units,
      max: record.max,
      actual: record.actual,
      reason: refund.reason!,
    });
    if (decision === 'deny') {
      refund.state = 'denied';
      refund.note = 'the app declined this refund';
      refund.settledAt = now;
      record.note = refund.note;
      return true;
    }
    this.#queue(record, refund, 'the refund waits for the app to review it');
    if (decision === 'pay') await this.#pay(record, refund);
    return true;
  }

  #queue(record: ChargeRecord, refund: RefundRequest, note: string): void {
    refund.state = 'queued';
    refund.note = note;
    record.queued += refund.amount;
    record.note = note;
  }

  /**
   * Pays a queued Lightning refund, at most once: the attempt (with its invoice's hash) is stored
   * before the wallet is asked, and an earlier attempt that is not known to have failed is looked
   * up first. A failed payment stays queued with a note saying why; an unknown one stays queued
   * until a lookup settles it.
   */
  async #pay(record: ChargeRecord, refund: RefundRequest): Promise<void> {
    if (!this.#wallet || !refund.invoice) {
      refund.note = 'this app pays refunds by hand: it waits for the app';
      record.note = refund.note;
      return;
    }
    await this.#reconcile(record, refund);
    if (refund.state !== 'queued' || unresolved(refund)) return;
    const paymentHash = readInvoice(refund.invoice)?.paymentHash;
    if (!paymentHash) {
      refund.note = record.note = 'the refund invoice cannot be read; it waits for the app';
      return;
    }
    const attempt: RefundAttempt = {
      invoice: refund.invoice,
      paymentHash,
      state: 'sending',
      at: this.#now(),
    };
    refund.attempts = [...(refund.attempts ?? []), attempt];
    await this.#store.put(record);
    try {
      const sent = await this.#wallet.payInvoice(refund.invoice);
      if (sent.status === 'success') {
        attempt.state = 'paid';
        this.#settled(record, refund, attempt);
        return;
      }
      attempt.state = 'unknown';
      attempt.note = 'the wallet reports the payment pending';
      refund.note = record.note = 'the refund is on its way; the app checks it before paying anything again';
    } catch (err) {
      if (!(err instanceof LnbitsError)) {
        attempt.state = 'unknown';
        throw err;
      }
      // Refused or failed by the wallet: nothing left. Anything else may have gone out.
      const failed =
        err.code === 'payment_failed' || err.code === 'invalid_request' || err.code === 'unauthorized';
      attempt.state = failed ? 'failed' : 'unknown';
      attempt.note = err.message;
      refund.note = record.note = failed
        ? `the refund could not be paid (${err.message}); it waits for the app`
        : `the refund payment's outcome is unknown (${err.message}); the app checks it before paying anything again`;
    }
  }

  /** Settles a refund whose payment the wallet reports paid. */
  #settled(record: ChargeRecord, refund: RefundRequest, attempt: RefundAttempt): void {
    refund.state = 'paid';
    refund.paymentHash = attempt.paymentHash;
    refund.invoice = attempt.invoice;
    refund.settledAt = this.#now();
    refund.note = undefined;
    record.queued -= refund.amount;
    record.refunded += refund.amount;
    record.note = undefined;
  }

  /** Looks up the unresolved attempt of one refund; true when something changed. */
  async #reconcile(record: ChargeRecord, refund: RefundRequest): Promise<boolean> {
    const attempt = refund.attempts?.find((a) => a.state === 'sending' || a.state === 'unknown');
    if (!attempt || !this.#wallet) return false;
    let found: Awaited<ReturnType<InvoicePayer['outgoingPayment']>>;
    try {
      found = await this.#wallet.outgoingPayment(attempt.paymentHash);
    } catch (err) {
      if (!(err instanceof LnbitsError)) throw err;
      attempt.state = 'unknown';
      refund.note =
        record.note = `the refund payment's outcome is unknown (${err.message}); the app checks it before paying anything again`;
      return true;
    }
    if (found.status === 'success') {
      attempt.state = 'paid';
      this.#settled(record, refund, attempt);
    } else if (found.status === 'failed') {
      attempt.state = 'failed';
      refund.note = record.note = 'the refund payment failed; it waits for the app';
    } else {
      attempt.state = 'unknown';
      refund.note = record.note = 'the refund is on its way; the app checks it before paying anything again';
    }
    return true;
  }

  async #reconcileAll(record: ChargeRecord): Promise<boolean> {
    let changed = false;
    for (const refund of record.requests) {
      if (refund.state === 'queued' && unresolved(refund))
        changed = (await this.#reconcile(record, refund)) || changed;
    }
    return changed;
  }
}

/** A refund with a payment that may have gone out: nothing else is paid for it until that is known. */
function unresolved(refund: RefundRequest): boolean {
  return refund.attempts?.some((a) => a.state === 'sending' || a.state === 'unknown') ?? false;
}

function failure(err: ReviewError): ReviewOutcome {
  return { status: err.status, body: { error: { code: err.code, message: err.message } } };
}

function statusOf(record: ChargeRecord): ReviewStatus {
  const reject = record.requests.findLast((q) => q.kind === 'reject');
  if (!reject) return record.decision ?? 'provisional';
  switch (reject.state) {
    case 'queued':
      return 'refund_queued';
    case 'denied':
      return 'refund_denied';
    case 'recorded':
      return 'rejected';
    case 'paid': {
      const whole =
        record.proof === 'lightning' && record.unit === 'msat' ? (record.max / 1000n) * 1000n : record.max;
      return record.refunded >= whole ? 'refunded' : 'partially_refunded';
    }
  }
}

export function answerOf(record: ChargeRecord): ReviewAnswer {
  const answer: ReviewAnswer = {
    v: 1,
    charge: record.charge,
    status: statusOf(record),
    max: record.max.toString(),
    refunded: record.refunded.toString(),
    queued: record.queued.toString(),
  };
  if (record.actual !== null) answer.actual = record.actual.toString();
  if (record.note) answer.note = record.note;
  return answer;
}

interface ParsedReview {
  action: 'status' | 'accept' | 'reject';
  charge: string;
  proof: string;
  amount?: bigint;
  reason?: string;
  invoice?: string;
}

function parseReview(input: unknown): ParsedReview {
  const bad = (message: string) => new ReviewError('bad_request', message);
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw bad('expected a JSON object');
  const body = input as Record<string, unknown>;
  if (body.v !== 1) throw bad('v must be 1');
  const { action, charge, proof, amount, reason, invoice } = body;
  if (action !== 'status' && action !== 'accept' && action !== 'reject') {
    throw bad('action must be "status", "accept" or "reject"');
  }
  if (typeof charge !== 'string' || !CHARGE_ID.test(charge))
    throw bad('charge must be a payment hash or a challenge id');
  // The L402 credential may come as {macaroon, preimage}; the desk reads it as "<macaroon>:<preimage>".
  let proofText: unknown = proof;
  if (typeof proof === 'object' && proof !== null && !Array.isArray(proof)) {
    const { macaroon, preimage } = proof as Record<string, unknown>;
    proofText =
      typeof macaroon === 'string' && typeof preimage === 'string' ? `${macaroon}:${preimage}` : undefined;
  }
  if (typeof proofText !== 'string' || proofText === '' || proofText.length > 8192)
    throw bad('proof is required');
  if (invoice !== undefined && (typeof invoice !== 'string' || invoice.length > 4096)) {
    throw bad('invoice must be a BOLT11 string');
  }
  const out: ParsedReview = { action, charge, proof: proofText };
  if (typeof invoice === 'string') out.invoice = invoice;
  if (action === 'reject') {
    if (typeof amount !== 'string' || !AMOUNT.test(amount)) {
      throw bad('amount must be a positive integer as a decimal string');
    }
    const chars = typeof reason === 'string' ? [...reason].length : 0;
    if (typeof reason !== 'string' || reason.trim() === '' || chars > 500) {
      throw bad('reason must be 1–500 characters');
    }
    out.amount = BigInt(amount);
    out.reason = reason;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The endpoint

/**
 * The review endpoint for node:http: mount it at the URL the routes' `refundUrl` names. It answers
 * CORS preflights (any origin: the payer's proof is the credential, no cookies are involved).
 */
export function reviewEndpoint(
  desk: ReviewDesk,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (req.method === 'OPTIONS') return answerPreflight(res);
    applyCors(res);
    const refuse = (status: number, message: string) =>
      sendJson(res, status, { error: { code: 'bad_request', message } });
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      return refuse(405, 'send the review request with POST');
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return refuse(400, 'send the body as application/json');
    }
    const body = await readJsonBody(req, 16 * 1024);
    if (!body.ok) return refuse(body.status, body.error);
    let outcome: ReviewOutcome;
    try {
      outcome = await desk.review(body.value);
    } catch (err) {
      if (!(err instanceof DatabaseUnavailable)) throw err;
      // The store is away. A refund attempt is written before the wallet is asked, so one that went
      // out is on record as `sending` and looked up before anything is paid again; the wallet retries.
      res.setHeader('Retry-After', '2');
      return sendJson(res, 503, {
        error: {
          code: 'unavailable',
          message: 'the review desk cannot reach its database; try again shortly',
        },
      });
    }
    sendJson(res, outcome.status, outcome.body);
  };
}
