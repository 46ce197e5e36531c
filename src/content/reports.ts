/**
 * What the bridge makes of the main world's reports before they go to the worker: only the
 * payment headers of a 402, the SHA-256 of bodies rather than bodies, and of a paid answer only
 * its evidence (status, receipt and payment headers, content type, a Problem Details body). It
 * also tells a challenge from any other 402: the main world hands over every 402. Done here, not
 * in the page: the script in every page stays small.
 */
import type { MessageInput } from '../messages/map';
import type { ChallengePayload, DeliveredPayload } from './channel';

const PAYMENT = /^(?:www-authenticate|payment-required)$/i;
const KNOWN = /(?:^|[\s,])(?:l402|lsat|payment)(?:\s|$)/i;
const EVIDENCE = /^(?:www-authenticate|(?:x-)?payment-(?:required|receipt|response)|content-type)$/i;
const PROBLEM_LIMIT = 4096;

/** Only the headers a challenge is read from. */
export const paymentHeaders = (headers: Iterable<[string, string]>): [string, string][] =>
  [...headers].filter((h) => Array.isArray(h) && PAYMENT.test(String(h[0])));

export async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

const isBuffer = (b: unknown): b is ArrayBuffer => b instanceof ArrayBuffer;

/**
 * Whether a 402's headers ask for a payment Paybound knows. Firefox's fetch() drops WWW-Authenticate
 * when a response repeats it (it joins the copies with a newline, which its Headers refuse): there a
 * 402 without a payment header may hide a challenge that only the worker, through webRequest, can
 * read. Chrome shows every header, so there such a 402 is no challenge.
 */
function asksToPay(headers: [string, string][]): boolean {
  const auth = headers.filter(([k]) => /^www-authenticate$/i.test(k));
  const required = headers.some(([k]) => /^payment-required$/i.test(k));
  if (required || auth.some(([, value]) => KNOWN.test(value))) return true;
  return __PAYBOUND_TARGET__ === 'firefox' && auth.length === 0;
}

/**
 * A 402 report as the worker takes it (`challenge.seen`), or nothing when the 402 asks for no
 * payment Paybound knows: then the worker is not asked at all. Fields are the worker's to check.
 */
export async function challengeInput(
  p: ChallengePayload,
): Promise<MessageInput<'challenge.seen'> | undefined> {
  // Field by field: a page's query never says `navigation` (only page-load.ts reports page loads).
  const { url, method, status, bytes, headers, body, pageWallets, carried } = p;
  const kept = Array.isArray(headers) ? paymentHeaders(headers) : [];
  // x402 v1 asks in the body of a 402 that carries no payment header.
  const text = kept.length === 0 && isBuffer(body) ? new TextDecoder().decode(body) : '';
  const x402Body = /"x402Version"/.test(text) ? text : undefined;
  if (!x402Body && !asksToPay(kept)) return undefined;
  return {
    url,
    method,
    status,
    ...(pageWallets !== undefined ? { pageWallets } : {}),
    ...(carried !== undefined ? { carried } : {}),
    headers: kept,
    ...(x402Body ? { body: x402Body } : {}),
    ...(isBuffer(bytes) ? { bodySha256: await sha256Hex(bytes) } : {}),
  };
}

/** A paid answer's report as the worker takes it (`payment.delivered`). */
export async function deliveredInput(p: DeliveredPayload): Promise<MessageInput<'payment.delivered'>> {
  const bytes = isBuffer(p.bytes) ? p.bytes : new ArrayBuffer(0);
  const kept = (Array.isArray(p.headers) ? p.headers : []).filter(
    (h) => Array.isArray(h) && EVIDENCE.test(String(h[0])),
  );
  return {
    paymentId: p.paymentId,
    status: p.status,
    sha256: await sha256Hex(bytes),
    headers: kept,
    // Only content-type values can name problem+json among the kept headers.
    ...(/problem\+json/i.test(kept.join())
      ? { problem: new TextDecoder().decode(bytes).slice(0, PROBLEM_LIMIT) }
      : {}),
  };
}
