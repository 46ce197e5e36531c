// The "Payment" HTTP authentication scheme (MPP, draft-httpauth-payment) for the server side:
// JSON canonicalization and base64url, challenge formatting, challenge-id binding, and parsing the
// credential.
//
//   challenge  = Payment id="…", realm="…", method="…", intent="charge", expires="<RFC 3339>",
//                request="<base64url(JCS(request JSON))>"
//   credential = Authorization: Payment <base64url(JSON {challenge: {id, realm, method, intent,
//                request, expires}, source?, payload: {…method-specific…}})>
//
// Binding (stateless): id = base64url(nonce[16] || HMAC-SHA256(secret, nonce_b64url "|" realm "|"
// method "|" intent "|" request "|" expires "|" digest "|" opaque)). The draft recommends the HMAC
// without a nonce; the nonce makes every challenge's id unique even when two requests ask the same
// price in the same second, and a wallet keys "never pay twice" on the id.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const PAYMENT_SCHEME = 'Payment';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** RFC 8785 (JCS) for the values this kit emits: strings, safe integers, booleans, null, objects, arrays. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError('only safe integers are canonicalized here');
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  // JCS sorts keys by UTF-16 code units, which is what the default sort compares.
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
}

export function base64urlJson(value: JsonValue): string {
  return Buffer.from(canonicalJson(value), 'utf8').toString('base64url');
}

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** Decodes base64url (padding tolerated) JSON; undefined when either layer is malformed. */
export function decodeBase64urlJson(text: string): unknown {
  if (!B64URL.test(text)) return undefined;
  try {
    return JSON.parse(Buffer.from(text.replace(/=+$/, ''), 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export interface PaymentChallenge {
  id: string;
  realm: string;
  method: string;
  intent: string;
  /** base64url of the canonical request JSON, exactly as sent. */
  request: string;
  /** RFC 3339. */
  expires: string;
}

function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** One WWW-Authenticate value. */
export function formatPaymentChallenge(c: PaymentChallenge): string {
  return `${PAYMENT_SCHEME} id=${quoted(c.id)}, realm=${quoted(c.realm)}, method=${quoted(c.method)}, intent=${quoted(c.intent)}, expires=${quoted(c.expires)}, request=${quoted(c.request)}`;
}

/** RFC 3339 in whole seconds, UTC. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const NONCE_LEN = 16;
const TAG_LEN = 32;

export class ChallengeBinder {
  readonly #secret: Buffer;

  constructor(secret: Uint8Array | string) {
    const key = typeof secret === 'string' ? Buffer.from(secret, 'hex') : Buffer.from(secret);
    if (key.length < 32 || (typeof secret === 'string' && !/^([0-9a-fA-F]{2})+$/.test(secret))) {
      throw new RangeError('the MPP challenge secret must be 32+ bytes (or their hex)');
    }
    this.#secret = key;
  }

  #tag(nonce: Buffer, c: Omit<PaymentChallenge, 'id'>): Buffer {
    const input = [
      nonce.toString('base64url'),
      c.realm,
      c.method,
      c.intent,
      c.request,
      c.expires,
      '',
      '',
    ].join('|');
    return createHmac('sha256', this.#secret).update(input, 'utf8').digest();
  }

  issue(c: Omit<PaymentChallenge, 'id'>): PaymentChallenge {
    const nonce = randomBytes(NONCE_LEN);
    return { id: Buffer.concat([nonce, this.#tag(nonce, c)]).toString('base64url'), ...c };
  }

  /** Whether these echoed parameters are exactly a challenge this binder issued. */
  verify(c: PaymentChallenge): boolean {
    if (!/^[A-Za-z0-9_-]+$/.test(c.id)) return false;
    const raw = Buffer.from(c.id, 'base64url');
    if (raw.length !== NONCE_LEN + TAG_LEN) return false;
    const expected = this.#tag(raw.subarray(0, NONCE_LEN), c);
    return timingSafeEqual(expected, raw.subarray(NONCE_LEN));
  }
}

export type PaymentProblem =
  | 'malformed-credential'
  | 'invalid-challenge'
  | 'payment-expired'
  | 'verification-failed'
  | 'invalid-payload'
  | 'method-unsupported'
  | 'payment-insufficient';

export const PROBLEM_TITLES: Readonly<Record<PaymentProblem, string>> = {
  'malformed-credential': 'Malformed Credential',
  'invalid-challenge': 'Invalid Challenge',
  'payment-expired': 'Payment Expired',
  'verification-failed': 'Verification Failed',
  'invalid-payload': 'Invalid Payload',
  'method-unsupported': 'Method Unsupported',
  'payment-insufficient': 'Payment Insufficient',
};

export type ParsedPaymentCredential =
  | { kind: 'none' }
  | { kind: 'invalid'; code: PaymentProblem; reason: string }
  | { kind: 'credential'; challenge: PaymentChallenge; payload: Record<string, unknown>; source?: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses `Authorization: Payment <base64url JSON>`; anything without the Payment scheme is 'none'. */
export function parsePaymentAuthorization(header: string | undefined): ParsedPaymentCredential {
  if (!header || !/^\s*Payment(\s|$)/i.test(header)) return { kind: 'none' };
  const token = /^\s*Payment\s+([A-Za-z0-9_-]+={0,2})\s*$/i.exec(header)?.[1];
  const malformed = (reason: string) => ({
    kind: 'invalid' as const,
    code: 'malformed-credential' as const,
    reason,
  });
  if (!token) return malformed('malformed Payment credential: expected "Payment <base64url JSON>"');
  if (token.length > 16 * 1024) return malformed('Payment credential too large');
  const json = decodeBase64urlJson(token);
  if (!isObject(json)) return malformed('Payment credential is not base64url JSON');
  const { challenge, payload, source } = json;
  if (!isObject(challenge) || !isObject(payload)) {
    return malformed('Payment credential needs a "challenge" object and a "payload" object');
  }
  const fields = ['id', 'realm', 'method', 'intent', 'request', 'expires'] as const;
  for (const field of fields) {
    if (typeof challenge[field] !== 'string' || challenge[field] === '') {
      return malformed(`the echoed challenge lacks "${field}"`);
    }
  }
  const echoed: PaymentChallenge = {
    id: challenge.id as string,
    realm: challenge.realm as string,
    method: challenge.method as string,
    intent: challenge.intent as string,
    request: challenge.request as string,
    expires: challenge.expires as string,
  };
  return {
    kind: 'credential',
    challenge: echoed,
    payload,
    ...(typeof source === 'string' ? { source } : {}),
  };
}

/** The Payment-Receipt header value for a successful response. */
export function formatPaymentReceipt(r: {
  method: string;
  challengeId: string;
  reference: string;
  timestamp: number;
}): string {
  return base64urlJson({
    method: r.method,
    challengeId: r.challengeId,
    reference: r.reference,
    status: 'success',
    timestamp: rfc3339(r.timestamp),
  });
}
