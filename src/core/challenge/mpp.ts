/**
 * The "Payment" HTTP authentication scheme (MPP, draft-httpauth-payment):
 *   WWW-Authenticate: Payment id="…", realm="…", method="…", intent="charge",
 *                     expires="<RFC 3339>", request="<base64url JSON>"
 * with request = {amount: "<base units>", currency, recipient?, description?, methodDetails?}.
 * The credential echoes the challenge's parameters as sent and adds a method-specific payload:
 *   Authorization: Payment <base64url JSON {challenge: {…}, payload: {…}}>
 * Credentials are single use: never cached.
 */

import { base64urlnopad } from '@scure/base';
import { stripPadding } from '../text/base64';
import type { AuthChallenge } from './www-authenticate';

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
  method: string;
  intent: string;
  /** The base64url request exactly as sent (echoed in the credential). */
  requestEncoded: string;
  request: MppRequest;
  /** RFC 3339, as sent. */
  expires?: string;
  /** Unix ms, when `expires` was given. */
  expiresAt?: number;
  /** Paybound's estimate and review terms, as sent (core/challenge/review.ts). */
  paybound?: string;
}

export class MppChallengeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MppChallengeError';
  }
}

const textDecoder = new TextDecoder();

function decodeRequest(encoded: string): MppRequest {
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
  return {
    amount: r.amount,
    currency: r.currency.toLowerCase(),
    ...text('recipient'),
    ...text('description'),
    ...(typeof details === 'object' && details !== null && !Array.isArray(details)
      ? { methodDetails: details as Record<string, unknown> }
      : {}),
  };
}

/** Reads one `Payment` challenge; throws MppChallengeError with the reason when it cannot be used. */
export function readMppChallenge(c: AuthChallenge, nowMs: number): MppChallenge {
  const get = (k: string) => c.params.get(k);
  const id = get('id');
  const realm = get('realm') ?? '';
  const method = get('method');
  const intent = get('intent');
  const requestEncoded = get('request');
  if (!id || !method || !intent || !requestEncoded) {
    throw new MppChallengeError('the Payment challenge lacks id, method, intent or request');
  }
  if (intent !== 'charge') throw new MppChallengeError(`unsupported payment intent "${intent}"`);
  const expires = get('expires');
  const paybound = get('paybound');
  let expiresAt: number | undefined;
  if (expires !== undefined) {
    expiresAt = Date.parse(expires);
    if (!Number.isFinite(expiresAt))
      throw new MppChallengeError('the Payment challenge has an unreadable expiry');
    if (expiresAt <= nowMs) throw new MppChallengeError('the Payment challenge has expired');
  }
  return {
    id,
    realm,
    method: method.toLowerCase(),
    intent,
    requestEncoded,
    request: decodeRequest(requestEncoded),
    ...(expires !== undefined ? { expires, expiresAt } : {}),
    ...(paybound !== undefined ? { paybound } : {}),
  };
}

const textEncoder = new TextEncoder();

export function mppCredential(c: MppChallenge, payload: Record<string, unknown>): string {
  const challenge = {
    id: c.id,
    realm: c.realm,
    method: c.method,
    intent: c.intent,
    request: c.requestEncoded,
    ...(c.expires !== undefined ? { expires: c.expires } : {}),
  };
  return `Payment ${base64urlnopad.encode(textEncoder.encode(JSON.stringify({ challenge, payload })))}`;
}
