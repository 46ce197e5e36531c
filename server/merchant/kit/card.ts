// The `card` MPP method (`paybound-card` before method ids had to be lowercase letters): an app that is a connected account of a Paybound card service
// offers a card price next to its Lightning price, and accepts the receipt the card service signed
// when it authorized the user's card.
//
//   request = {amount: "<minor units>", currency: "usd", recipient: "<connected account id>",
//              description, methodDetails: {cardService: "<card service base URL>"}}
//   payload = {receipt: "<JWS compact, EdDSA; see server/card/README.md>"}
//
// Verification checks offline the receipt's signature (the card service's Ed25519 keys), its
// challenge id, amount, currency, destination, issuer and expiry; then, before serving, the app
// accepts it at the card service with its route's review window, which confirms the hold is still
// there and from then on keeps the payer from releasing it alone. Settlement is a call to the card
// service with the app's API key: capture the actual amount (≤ authorized), or cancel the hold.
import type { IncomingMessage } from 'node:http';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  RECEIPT_TYPE as CARD_RECEIPT_TYPE,
  type ReceiptClaims as CardReceiptClaims,
} from '../../card/receipt';
import type { MppMethod, MppVerdict } from './mpp-method';

export const CARD_METHOD = 'card';
// One definition of the receipt format: the card service signs it, the kit checks it.
export { CARD_RECEIPT_TYPE, type CardReceiptClaims };

export interface ReceiptKey {
  kid: string;
  publicKey: Uint8Array;
}

export type ReceiptCheck = { ok: true; claims: CardReceiptClaims } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function decodeSegment(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Checks a receipt's form and signature (not what it is for: see cardMethod for that). */
export function verifyCardReceipt(token: string, keys: readonly ReceiptKey[]): ReceiptCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 4096) return { ok: false, reason: 'receipt is not a compact JWS' };
  const [h, p, s] = parts as [string, string, string];
  const header = decodeSegment(h);
  if (!isObject(header) || header.alg !== 'EdDSA' || header.typ !== CARD_RECEIPT_TYPE) {
    return { ok: false, reason: 'receipt header is not an EdDSA paybound-card-receipt' };
  }
  const key = keys.find((k) => k.kid === header.kid);
  if (!key) return { ok: false, reason: 'receipt was signed with a key this app does not trust' };
  if (!/^[A-Za-z0-9_-]+$/.test(s)) return { ok: false, reason: 'receipt signature is not base64url' };
  const signature = Buffer.from(s, 'base64url');
  let valid = false;
  try {
    valid =
      signature.length === 64 &&
      ed25519.verify(signature, new TextEncoder().encode(`${h}.${p}`), key.publicKey);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'receipt signature does not verify' };
  const c = decodeSegment(p);
  if (
    !isObject(c) ||
    c.v !== 1 ||
    typeof c.iss !== 'string' ||
    typeof c.challengeId !== 'string' ||
    typeof c.paymentIntent !== 'string' ||
    typeof c.amount !== 'string' ||
    !/^[1-9]\d*$/.test(c.amount) ||
    typeof c.currency !== 'string' ||
    typeof c.destination !== 'string' ||
    !Number.isSafeInteger(c.iat) ||
    !Number.isSafeInteger(c.exp)
  ) {
    return { ok: false, reason: 'receipt claims are malformed' };
  }
  return { ok: true, claims: c as unknown as CardReceiptClaims };
}

/** The `kid` a receipt's header names, if it has a readable one. */
export function receiptKeyId(token: string): string | undefined {
  const header = decodeSegment(token.split('.', 1)[0] ?? '');
  return isObject(header) && typeof header.kid === 'string' ? header.kid : undefined;
}

export interface ReceiptKeySourceOptions {
  /** How long fetched keys are used before they are fetched again; default 300 s. */
  ttlMs?: number;
  /** An unknown `kid` fetches the keys again at most this often (forged kids cannot flood); default 10 s. */
  refetchMs?: number;
  now?: () => number;
}

/**
 * The keys to check receipts with: the configured one, and the card service's JWKS, fetched when
 * first needed, again after `ttlMs`, and again when a receipt names a `kid` not among them (the
 * card service rotated its key). Call it with the receipt's kid.
 */
export function receiptKeySource(
  client: CardServiceClient,
  receiptKey?: ReceiptKey,
  options: ReceiptKeySourceOptions = {},
): (kid?: string) => Promise<ReceiptKey[]> {
  const ttl = options.ttlMs ?? 300_000;
  const refetch = options.refetchMs ?? 10_000;
  const now = options.now ?? Date.now;
  const pinned = receiptKey ? [receiptKey] : [];
  let fetched: ReceiptKey[] | undefined;
  let fetchedAt = 0;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<ReceiptKey[]> | undefined;
  const known = () => [...pinned, ...(fetched ?? [])];
  const refresh = () => {
    attemptedAt = now();
    inflight ??= client
      .receiptKeys()
      .then((keys) => {
        fetched = keys;
        fetchedAt = now();
        return known();
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
  return async (kid) => {
    if (kid !== undefined && pinned.some((k) => k.kid === kid)) return known();
    if (kid === undefined && pinned.length > 0 && fetched === undefined) return known();
    const fresh = fetched !== undefined && now() - fetchedAt < ttl;
    if (fresh && (kid === undefined || known().some((k) => k.kid === kid))) return known();
    // Unknown kid with fresh keys: ask again, but not on every forged receipt.
    if (fresh && now() - attemptedAt < refetch) return known();
    return refresh();
  };
}

export function receiptKeyFromHex(hex: string, kid: string): ReceiptKey {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError('an Ed25519 public key is 64 hex characters');
  return { kid, publicKey: Uint8Array.from(Buffer.from(hex, 'hex')) };
}

// ---------------------------------------------------------------------------------------------
// The card service's merchant API

export class CardServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface CardServiceClientOptions {
  /** The card service's base URL. */
  url: string;
  /** The API key the card service issued to this app. */
  apiKey: string;
  timeoutMs?: number;
}

export class CardServiceClient {
  readonly url: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;

  constructor(options: CardServiceClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Reports the actual amount: the card service captures it (≤ the authorized maximum). */
  capture(challengeId: string, amount: bigint): Promise<Record<string, unknown>> {
    return this.#post('/api/merchant/capture', { challengeId, amount: amount.toString() });
  }

  /**
   * Records the actual amount without capturing it (routes with a review window: the payer captures
   * when it accepts). Above the authorized amount the card service refuses (422
   * amount_exceeds_authorized) and keeps the attempt on the payment.
   */
  report(challengeId: string, amount: bigint): Promise<Record<string, unknown>> {
    return this.#post('/api/merchant/report', { challengeId, amount: amount.toString() });
  }

  /**
   * Tells the card service this app accepts the payment's receipt, with the route's review window
   * (null: none). It answers the payment, which must still be held (`requires_capture`); from then
   * on the payer can no longer cancel it on its own outside the window.
   */
  accept(challengeId: string, reviewWindowSeconds: number | null): Promise<Record<string, unknown>> {
    return this.#post('/api/merchant/accept', { challengeId, reviewWindowSeconds });
  }

  /** Refunds a captured payment (`amount` minor units, or all that is left): the app's agreement. */
  refund(challengeId: string, amount?: bigint): Promise<Record<string, unknown>> {
    return this.#post('/api/merchant/refund', {
      challengeId,
      ...(amount !== undefined ? { amount: amount.toString() } : {}),
    });
  }

  /** Releases the authorization (the app could not serve the request). */
  cancel(challengeId: string): Promise<Record<string, unknown>> {
    return this.#post('/api/merchant/cancel', { challengeId });
  }

  /** A plan subscription's status and period (`GET /api/merchant/subscriptions/{id}`, docs/plans.md §4). */
  subscription(id: string): Promise<Record<string, unknown>> {
    return this.#request('GET', `/api/merchant/subscriptions/${encodeURIComponent(id)}`);
  }

  /** Reports usage beyond a plan's included calls: a meter event; 409 `overage_cap_reached` past the cap. */
  subscriptionUsage(id: string, quantity: number, identifier: string): Promise<Record<string, unknown>> {
    return this.#post(`/api/merchant/subscriptions/${encodeURIComponent(id)}/usage`, {
      quantity,
      identifier,
    });
  }

  /** Cancels a plan subscription at the end of its period. */
  cancelSubscription(id: string): Promise<Record<string, unknown>> {
    return this.#post(`/api/merchant/subscriptions/${encodeURIComponent(id)}/cancel`, {});
  }

  /** The card service's receipt keys (its JWKS). */
  async receiptKeys(): Promise<ReceiptKey[]> {
    const json = await this.#request('GET', '/api/receipt-keys');
    const keys = Array.isArray(json.keys) ? json.keys : [];
    return keys.flatMap((k: unknown) =>
      isObject(k) &&
      k.kty === 'OKP' &&
      k.crv === 'Ed25519' &&
      typeof k.x === 'string' &&
      typeof k.kid === 'string'
        ? [{ kid: k.kid, publicKey: Uint8Array.from(Buffer.from(k.x, 'base64url')) }]
        : [],
    );
  }

  #post(path: string, body: unknown) {
    return this.#request('POST', path, body);
  }

  async #request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: { authorization: `Bearer ${this.#apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new CardServiceError(
        'unreachable',
        `card service ${method} ${path} failed: ${(err as Error).message}`,
        0,
      );
    }
    const json: unknown = await res.json().catch(() => ({}));
    if (!res.ok) {
      const error = isObject(json) && isObject(json.error) ? json.error : {};
      throw new CardServiceError(
        typeof error.code === 'string' ? error.code : 'http',
        typeof error.message === 'string' ? error.message : `card service answered ${res.status}`,
        res.status,
      );
    }
    return isObject(json) ? json : {};
  }
}

// ---------------------------------------------------------------------------------------------
// The method

export interface CardMethodOptions<B> {
  /** The card service's merchant API, with this app's key. */
  client: CardServiceClient;
  /** This app's connected account id at the card service (the payment's destination). */
  accountId: string;
  /** The card service's receipt key; when omitted it is fetched once from the card service. */
  receiptKey?: ReceiptKey;
  /** The price of this request in minor units of `currency`; 0 or less: card is not offered. */
  amountMinor(req: IncomingMessage, body: B): bigint | number;
  /** Default 'usd'. */
  currency?: string;
  /** Seconds a receipt may be older than its `exp` (clock skew); default 30. */
  leewaySeconds?: number;
  /**
   * Converts an estimate's minimum (msat) into minor units, the way `amountMinor` converts the
   * price, for routes with a review window. Without it card challenges carry the review terms but
   * no estimate.
   */
  minorFromMsat?(msat: bigint): bigint;
}

export function cardMethod<B>(options: CardMethodOptions<B>): MppMethod<B> {
  const currency = options.currency ?? 'usd';
  const leeway = options.leewaySeconds ?? 30;
  const trustedKeys = receiptKeySource(options.client, options.receiptKey);
  const price = (req: IncomingMessage, body: B): bigint => {
    const value = options.amountMinor(req, body);
    if (typeof value === 'number' && !Number.isSafeInteger(value))
      throw new RangeError('card price must be an integer');
    return BigInt(value);
  };

  return {
    name: CARD_METHOD,
    review: {
      proof: 'card',
      ...(options.minorFromMsat ? { minimumFromMsat: options.minorFromMsat } : {}),
    },
    offer({ req, body, description }) {
      const amount = price(req, body);
      if (amount <= 0n) return null;
      return {
        amount: amount.toString(),
        currency,
        recipient: options.accountId,
        description,
        methodDetails: { cardService: options.client.url },
      };
    },
    async verify({ challengeId, request, payload, req, body, now }): Promise<MppVerdict> {
      const receipt = payload.receipt;
      if (typeof receipt !== 'string') {
        return {
          ok: false,
          code: 'invalid-payload',
          reason: 'the card payload needs a "receipt" string',
        };
      }
      let checked: ReceiptCheck;
      try {
        checked = verifyCardReceipt(receipt, await trustedKeys(receiptKeyId(receipt)));
      } catch (err) {
        if (err instanceof CardServiceError) throw err;
        throw new CardServiceError(
          'unreachable',
          `card service keys unavailable: ${(err as Error).message}`,
          0,
        );
      }
      if (!checked.ok) return { ok: false, code: 'verification-failed', reason: checked.reason };
      const c = checked.claims;
      if (c.challengeId !== challengeId) {
        return { ok: false, code: 'verification-failed', reason: 'receipt is for another challenge' };
      }
      if (c.iss.replace(/\/+$/, '') !== options.client.url) {
        return {
          ok: false,
          code: 'verification-failed',
          reason: 'receipt was issued by another card service',
        };
      }
      if (c.destination !== options.accountId || request.recipient !== options.accountId) {
        return { ok: false, code: 'verification-failed', reason: "receipt pays another app's account" };
      }
      if (c.amount !== request.amount || c.currency !== request.currency || c.currency !== currency) {
        return {
          ok: false,
          code: 'verification-failed',
          reason: 'receipt amount or currency differs from the challenge',
        };
      }
      if (c.exp + leeway <= Math.floor(now / 1000)) {
        return { ok: false, code: 'payment-expired', reason: 'receipt expired' };
      }
      const authorized = BigInt(c.amount);
      const due = price(req, body);
      if (due > authorized) {
        return {
          ok: false,
          code: 'payment-insufficient',
          reason: `this request costs ${due} but ${authorized} was authorized`,
        };
      }
      return {
        ok: true,
        amount: authorized,
        due,
        currency,
        reference: c.paymentIntent,
        accept: async ({ reviewWindowSeconds }) => {
          // A receipt proves the authorization was made, not that it still holds: the payer may have
          // cancelled it since. The card service records the route's terms and answers the payment.
          let payment: unknown;
          try {
            payment = (await options.client.accept(challengeId, reviewWindowSeconds)).payment;
          } catch (err) {
            // Unreachable, or this app's key refused: the backend is unavailable, not the payment bad.
            if (
              !(err instanceof CardServiceError) ||
              err.status === 0 ||
              err.status === 401 ||
              err.status >= 500
            )
              throw err;
            return { ok: false, code: 'verification-failed', reason: `card payment refused: ${err.message}` };
          }
          const p = isObject(payment) ? payment : {};
          if (p.status !== 'requires_capture' || String(p.amount) !== c.amount || p.id !== c.paymentIntent) {
            return {
              ok: false,
              code: 'verification-failed',
              reason: `the card authorization is no longer held (status ${String(p.status)})`,
            };
          }
          return { ok: true };
        },
        settle: async (actual) => {
          if (actual > authorized)
            throw new RangeError(`cannot capture ${actual}: ${authorized} was authorized`);
          await (actual > 0n
            ? options.client.capture(challengeId, actual)
            : options.client.cancel(challengeId));
        },
        report: async (actual) => {
          if (actual > authorized)
            throw new RangeError(`cannot report ${actual}: ${authorized} was authorized`);
          await options.client.report(challengeId, actual);
        },
        release: async () => {
          await options.client.cancel(challengeId);
        },
      };
    },
  };
}
