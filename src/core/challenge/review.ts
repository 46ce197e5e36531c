/**
 * Paybound's extension to payment challenges: an estimate range and a review policy, in one
 * auth-param `paybound="<base64url JSON>"` on an L402 or Payment challenge (README, "Estimates and
 * the review window"). Amounts are in the challenge's own unit; `max` must be what is charged.
 */

import { base64urlnopad } from '@scure/base';
import { isLoopbackHost, isPrivateHost, sameSite } from '../site/site';
import { stripPadding } from '../text/base64';

export interface ReviewTerms {
  /** The range the app expects the actual amount to fall in, in the challenge's unit. */
  estimate?: { min: bigint; max: bigint };
  review?: {
    /** How long the user may reject what was delivered, capped at REVIEW_WINDOW_CAP_MS. */
    windowMs: number;
    /** The app's review endpoint (accept, reject, status), on the charged request's origin. */
    refundUrl: string;
  };
}

/** Card authorizations expire after 5 to 7 days: every review ends well before. */
export const REVIEW_WINDOW_CAP_MS = 4 * 24 * 3600 * 1000;

export class ReviewTermsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReviewTermsError';
  }
}

const textDecoder = new TextDecoder();
const DIGITS = /^\d{1,20}$/;

const fail = (why: string): never => {
  throw new ReviewTermsError(`the app's estimate or review terms are unusable: ${why}`);
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Where the wallet may send review calls (accept, reject, status) for a charge: only a place the
 * paying page could have sent the same request itself. https (http only on loopback), the same
 * origin as the charged request, the same site as the page that asked, and no private-network
 * address unless the charged request itself went to one. Returns why not, or undefined when fine.
 */
export function reviewUrlProblem(
  refundUrl: string,
  requestUrl: string,
  pageOrigin: string,
): string | undefined {
  let refund: URL;
  let request: URL;
  try {
    refund = new URL(refundUrl);
    request = new URL(requestUrl);
  } catch {
    return 'the refund URL is not a URL';
  }
  const host = refund.hostname;
  if (refund.protocol !== 'https:' && !(refund.protocol === 'http:' && isLoopbackHost(host)))
    return 'the refund URL must use https';
  if (refund.username || refund.password) return 'the refund URL must not carry a user name or password';
  // The review endpoint gets the proof of payment: only the site that was paid may have it.
  if (refund.origin !== request.origin) return 'the refund URL is on another site than the charge';
  if (!sameSite(refund.href, pageOrigin)) return 'the refund URL is on another site than the page that paid';
  if (isPrivateHost(host) && !isPrivateHost(request.hostname))
    return 'the refund URL is a private network address';
  return undefined;
}

/**
 * Reads the `paybound` param of a challenge. `charged` is the amount the challenge charges, in its
 * unit; `requestUrl` is the URL that was answered with the 402; `pageOrigin` is the origin the
 * browser reported for the page that asked. Absent param: no terms.
 */
export function readReviewTerms(
  raw: string | undefined,
  charged: bigint,
  requestUrl: string,
  pageOrigin: string = requestUrl,
): ReviewTerms | undefined {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(base64urlnopad.decode(stripPadding(raw))));
  } catch {
    return fail('not base64url JSON');
  }
  if (!isObject(parsed)) return fail('not a JSON object');
  if (parsed.v !== 1) return fail('unknown version');
  const terms: ReviewTerms = {};

  if (parsed.estimate !== undefined) {
    const e = parsed.estimate;
    if (!isObject(e) || typeof e.min !== 'string' || typeof e.max !== 'string')
      return fail('the estimate needs "min" and "max" as integer strings');
    if (!DIGITS.test(e.min) || !DIGITS.test(e.max)) return fail('estimate amounts must be whole numbers');
    const min = BigInt(e.min);
    const max = BigInt(e.max);
    if (min > max) return fail('the estimate minimum is above its maximum');
    // The user authorizes the maximum: a charge of anything else would be a different quote.
    if (max !== charged) return fail(`the estimate maximum is not the amount charged (${charged})`);
    terms.estimate = { min, max };
  }

  if (parsed.review !== undefined) {
    const r = parsed.review;
    if (!isObject(r)) return fail('review must be an object');
    if (typeof r.window !== 'number' || !Number.isSafeInteger(r.window) || r.window < 1)
      return fail('the review window must be a whole number of seconds');
    if (typeof r.refund !== 'string') return fail('the review needs a refund URL');
    if (r.refund.length > 2048) return fail('the refund URL is too long');
    const problem = reviewUrlProblem(r.refund, requestUrl, pageOrigin);
    if (problem) return fail(problem);
    const refund = new URL(r.refund);
    terms.review = {
      windowMs: Math.min(r.window * 1000, REVIEW_WINDOW_CAP_MS),
      refundUrl: refund.href,
    };
  }
  return terms;
}
