/**
 * The "Payment" HTTP authentication scheme (MPP, draft-httpauth-payment-01):
 *   WWW-Authenticate: Payment id="…", realm="…", method="…", intent="charge",
 *                     expires="<RFC 3339>", request="<base64url JSON>"
 *                     [, digest="sha-256=:<base64>:"] [, opaque="<base64url JSON>"] [, …]
 * with request = {amount: "<base units>", currency, recipient?, description?, methodDetails?}.
 * The credential echoes every parameter of the challenge exactly as received (`opaque`, `digest`
 * and parameters Paybound does not know included) and adds a method-specific payload:
 *   Authorization: Payment <base64url JSON {challenge: {…}, payload: {…}}>
 * A challenge is refused before any payment when its `request` does not decode, its `opaque` is
 * not base64url JSON, or its `digest` names an algorithm Paybound cannot check or another body
 * than the one the page will send. Credentials are single use: never cached.
 *
 * A challenge of `intent="subscription"` (the renewal of a plan, docs/plans.md §2) also carries
 * `interval` (day, week, month, year) and `intervalCount` (default 1) in its request, and `amount`
 * is the price of one period. It is read only where the caller asks for that intent: everywhere a
 * charge is expected, a subscription is refused.
 */

import { base64, base64urlnopad, hex } from '@scure/base';
import { stripPadding } from '../text/base64';
import { PLAN_INTERVALS, type PlanInterval } from './plans';
import type { AuthChallenge } from './www-authenticate';

export type MppIntent = 'charge' | 'subscription';

export interface MppSubscription {
  interval: PlanInterval;
  /** Whole intervals per period, 1 when the request does not say. */
  intervalCount: number;
}

export interface MppRequest {
  /** Integer, in the currency's base unit (sats for "sat", cents for "usd"), as a decimal string. */
  amount: string;
  currency: string;
  recipient?: string;
  description?: string;
  methodDetails?: Record<string, unknown>;
}

export interface MppChallenge {
  id: string;
  realm: string;
  /** Lower case, for matching; the credential echoes the id as sent. */
  method: string;
  intent: string;
  /** The base64url request exactly as sent (echoed in the credential). */
  requestEncoded: string;
  request: MppRequest;
  /** The period `request.amount` pays for: only on an `intent="subscription"` challenge. */
  subscription?: MppSubscription;
  /** RFC 3339, as sent. */
  expires?: string;
  /** Unix ms, when `expires` was given. */
  expiresAt?: number;
  /** Paybound's estimate and review terms, as sent (core/challenge/review.ts). */
  paybound?: string;
  /** The server's correlation data (base64url JSON), as sent: returned unchanged. */
  opaque?: string;
  /** The RFC 9530 digest of the request body the credential must travel with, as sent. */
  digest?: string;
  /**
   * Every parameter as received (names lower-cased, values unquoted), in order: what the
   * credential echoes. Absent on records written before Paybound kept them.
   */
  params?: [string, string][];
}

/** A challenge read with `intent="subscription"`: its period is always there. */
export type MppSubscriptionChallenge = MppChallenge & {
  intent: 'subscription';
  subscription: MppSubscription;
};

export interface MppReadOptions {
  /** The intents the caller can pay; any other is refused. Default: only "charge". */
  intents?: readonly MppIntent[];
}

/** Renewal periods beyond this are refused as implausible (no plan is offered past 12 months). */
const MAX_SUBSCRIPTION_COUNT = 366;

export class MppChallengeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MppChallengeError';
  }
}

const textDecoder = new TextDecoder();

function decodeRequest(encoded: string): { request: MppRequest; fields: Record<string, unknown> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(base64urlnopad.decode(stripPadding(encoded))));
  } catch {
    throw new MppChallengeError('the payment request does not decode (base64url JSON expected)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MppChallengeError('the payment request is not a JSON object');
  }
  const r = parsed as Record<string, unknown>;
  if (typeof r.amount !== 'string' || !/^\d{1,18}$/.test(r.amount) || /^0+$/.test(r.amount)) {
    throw new MppChallengeError('the payment request has no positive integer amount');
  }
  if (typeof r.currency !== 'string' || !/^[a-z]{3,8}$/i.test(r.currency)) {
    throw new MppChallengeError('the payment request has no currency');
  }
  const text = (k: string) => (typeof r[k] === 'string' ? { [k]: (r[k] as string).slice(0, 500) } : {});
  const details = r.methodDetails;
  const request: MppRequest = {
    amount: r.amount,
    currency: r.currency.toLowerCase(),
    ...text('recipient'),
    ...text('description'),
    ...(typeof details === 'object' && details !== null && !Array.isArray(details)
      ? { methodDetails: details as Record<string, unknown> }
      : {}),
  };
  return { request, fields: r };
}

function decodeSubscription(r: Record<string, unknown>): MppSubscription {
  if (typeof r.interval !== 'string' || !(PLAN_INTERVALS as readonly string[]).includes(r.interval))
    throw new MppChallengeError('the subscription request has no interval (day, week, month or year)');
  const count =
    r.intervalCount === undefined
      ? 1
      : typeof r.intervalCount === 'string' && /^\d{1,3}$/.test(r.intervalCount)
        ? Number(r.intervalCount)
        : r.intervalCount;
  if (
    typeof count !== 'number' ||
    !Number.isSafeInteger(count) ||
    count < 1 ||
    count > MAX_SUBSCRIPTION_COUNT
  )
    throw new MppChallengeError(
      'the subscription request has an interval count that is not a whole number of periods',
    );
  return { interval: r.interval as PlanInterval, intervalCount: count };
}

/** Method ids are `1*LOWERALPHA`; `paybound-card` is what card services issued before the rename. */
const METHOD_ID = /^[a-z]+$/;
const LEGACY_METHOD_IDS = new Set(['paybound-card']);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** RFC 9530 algorithms: those Paybound checks, and the other registered ones it knows but cannot. */
const DIGEST_CHECKED = 'sha-256';
const DIGEST_KNOWN = new Set(['sha-256', 'sha-512']);

/** `opaque` must be base64url (no padding) of a JSON object of strings. */
function checkOpaque(opaque: string): void {
  let parsed: unknown;
  try {
    if (!BASE64URL.test(opaque)) throw new Error('not base64url');
    parsed = JSON.parse(textDecoder.decode(base64urlnopad.decode(opaque)));
  } catch {
    throw new MppChallengeError('the Payment challenge has an opaque value that is not base64url JSON');
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    !Object.values(parsed).every((v) => typeof v === 'string')
  ) {
    throw new MppChallengeError('the Payment challenge has an opaque value that is not a map of strings');
  }
}

/**
 * The SHA-256 (hex) a `digest` parameter states for the request body. RFC 9530 writes
 * `sha-256=:<base64>:` (a dictionary: several algorithms may be listed); the colons are also
 * accepted without, as some servers send them. Any algorithm outside RFC 9530's is refused.
 */
export function digestSha256(digest: string): string {
  let sha256: string | undefined;
  for (const member of digest.split(',')) {
    const m = /^\s*([a-z0-9-]+)=(:?)([A-Za-z0-9+/]+={0,2})\2\s*$/.exec(member);
    if (!m) throw new MppChallengeError('the Payment challenge has an unreadable digest');
    const [, alg = '', , value = ''] = m;
    if (!DIGEST_KNOWN.has(alg))
      throw new MppChallengeError(`the Payment challenge names an unknown digest algorithm "${alg}"`);
    if (alg !== DIGEST_CHECKED) continue;
    let bytes: Uint8Array;
    try {
      bytes = base64.decode(value.length % 4 ? value + '='.repeat(4 - (value.length % 4)) : value);
    } catch {
      throw new MppChallengeError('the Payment challenge has an unreadable digest');
    }
    if (bytes.length !== 32) throw new MppChallengeError('the Payment challenge has an unreadable digest');
    sha256 = hex.encode(bytes);
  }
  if (sha256 === undefined)
    throw new MppChallengeError('the Payment challenge binds the body with a digest Paybound cannot check');
  return sha256;
}

/**
 * Reads one `Payment` challenge; throws MppChallengeError with the reason when it cannot be used.
 * `bodySha256` is the SHA-256 (hex) of the body the page will retry with, as the page reported it:
 * a challenge with a `digest` is paid only for that body.
 */
export function readMppChallenge(
  c: AuthChallenge,
  nowMs: number,
  bodySha256?: string,
  opts: MppReadOptions = {},
): MppChallenge {
  const get = (k: string) => c.params.get(k);
  const id = get('id');
  const realm = get('realm') ?? '';
  const method = get('method');
  const intent = get('intent');
  const requestEncoded = get('request');
  if (!id || !method || !intent || !requestEncoded) {
    throw new MppChallengeError('the Payment challenge lacks id, method, intent or request');
  }
  // Matched without case, as before; the credential still echoes the id as the server sent it.
  const methodId = method.toLowerCase();
  if (!METHOD_ID.test(methodId) && !LEGACY_METHOD_IDS.has(methodId)) {
    throw new MppChallengeError(`the payment method id "${method.slice(0, 40)}" is not lowercase letters`);
  }
  const intents: readonly string[] = opts.intents ?? ['charge'];
  if (!intents.includes(intent))
    throw new MppChallengeError(`unsupported payment intent "${intent.slice(0, 40)}"`);
  const expires = get('expires');
  const paybound = get('paybound');
  const opaque = get('opaque');
  const digest = get('digest');
  let expiresAt: number | undefined;
  if (expires !== undefined) {
    expiresAt = Date.parse(expires);
    if (!Number.isFinite(expiresAt))
      throw new MppChallengeError('the Payment challenge has an unreadable expiry');
    if (expiresAt <= nowMs) throw new MppChallengeError('the Payment challenge has expired');
  }
  const { request, fields } = decodeRequest(requestEncoded);
  const subscription = intent === 'subscription' ? decodeSubscription(fields) : undefined;
  if (opaque !== undefined) checkOpaque(opaque);
  if (digest !== undefined) {
    const stated = digestSha256(digest);
    if (bodySha256 === undefined)
      throw new MppChallengeError('the payment is bound to a request body that Paybound could not read');
    if (stated !== bodySha256.toLowerCase())
      throw new MppChallengeError('the payment is bound to another request body than the one the page sends');
  }
  return {
    id,
    realm,
    method: methodId,
    intent,
    requestEncoded,
    request,
    ...(subscription ? { subscription } : {}),
    ...(expires !== undefined ? { expires, expiresAt } : {}),
    ...(paybound !== undefined ? { paybound } : {}),
    ...(opaque !== undefined ? { opaque } : {}),
    ...(digest !== undefined ? { digest } : {}),
    params: [...c.params],
  };
}

/** Reads a renewal challenge (docs/plans.md §2); a charge or any other intent is refused. */
export function readMppSubscription(
  c: AuthChallenge,
  nowMs: number,
  bodySha256?: string,
): MppSubscriptionChallenge {
  const read = readMppChallenge(c, nowMs, bodySha256, { intents: ['subscription'] });
  if (read.intent !== 'subscription' || !read.subscription)
    throw new MppChallengeError('the Payment challenge is not a subscription');
  return { ...read, intent: 'subscription', subscription: read.subscription };
}

const textEncoder = new TextEncoder();

/** The draft's order for the echoed challenge; any other parameter follows in the order received. */
const ECHO_ORDER = [
  'id',
  'realm',
  'method',
  'intent',
  'request',
  'description',
  'opaque',
  'digest',
  'expires',
];

/** The challenge object of a credential: every parameter exactly as received. */
export function echoedChallenge(c: MppChallenge): Record<string, string> {
  const params: [string, string][] = c.params ?? [
    // Records from before the parameters were kept: what those versions knew of the challenge.
    ['id', c.id],
    ['realm', c.realm],
    ['method', c.method],
    ['intent', c.intent],
    ['request', c.requestEncoded],
    ...(c.opaque !== undefined ? [['opaque', c.opaque] as [string, string]] : []),
    ...(c.digest !== undefined ? [['digest', c.digest] as [string, string]] : []),
    ...(c.expires !== undefined ? [['expires', c.expires] as [string, string]] : []),
  ];
  const rank = (k: string) => {
    const i = ECHO_ORDER.indexOf(k);
    return i === -1 ? ECHO_ORDER.length : i;
  };
  // A Map keeps names like `__proto__` as plain keys; a stable sort keeps unknown ones in order.
  const ordered = [...params].sort(([a], [b]) => rank(a) - rank(b));
  return Object.fromEntries(ordered);
}

export function mppCredential(c: MppChallenge, payload: Record<string, unknown>): string {
  const challenge = echoedChallenge(c);
  return `Payment ${base64urlnopad.encode(textEncoder.encode(JSON.stringify({ challenge, payload })))}`;
}
