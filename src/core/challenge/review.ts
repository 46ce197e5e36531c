/**
 * Paybound's extension to payment challenges: an estimate range and a review policy, in one
 * auth-param `paybound="<base64url JSON>"` on an L402 or Payment challenge (README, "Estimates and
 * the review window"). Amounts are in the challenge's own unit; `max` must be what is charged.
 */
import { base64urlnopad } from '@scure/base';

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
 * Reads the `paybound` param of a challenge. `charged` is the amount the challenge charges, in its
 * unit; `requestUrl` is the URL that was answered with the 402. Absent param: no terms.
 */
export function readReviewTerms(
  raw: string | undefined,
  charged: bigint,
  requestUrl: string,
): ReviewTerms | undefined {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(base64urlnopad.decode(raw.replace(/=+$/, ''))));
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
    let refund: URL;
    let request: URL;
    try {
      refund = new URL(r.refund);
      request = new URL(requestUrl);
    } catch {
      return fail('the refund URL is not a URL');
    }
    if (refund.protocol !== 'https:' && refund.protocol !== 'http:')
      return fail('the refund URL must be http(s)');
    // The review endpoint gets the proof of payment: only the site that was paid may have it.
    if (refund.origin !== request.origin) return fail('the refund URL is on another site than the charge');
    terms.review = {
      windowMs: Math.min(r.window * 1000, REVIEW_WINDOW_CAP_MS),
      refundUrl: refund.href,
    };
  }
  return terms;
}
