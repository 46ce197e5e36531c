/**
 * Paybound's extension to payment challenges: an estimate range and a review policy, in one
 * auth-param `paybound="<base64url JSON>"` on an L402 or Payment challenge (README, "Estimates and
 * the review window"), and the plans an app offers beside its per-call price (docs/plans.md).
 * Amounts are in the challenge's own unit; `max` must be what is charged.
 */

import {
  PLAN_ID,
  type PlanOffer,
  PlanOfferError,
  type PlanRail,
  type PlanUnit,
  readPlanOffers,
} from './plans';
import { appUrlProblem, decodeTermsParam, isObject } from './terms-param';

export interface ReviewTerms {
  /** The range the app expects the actual amount to fall in, in the challenge's unit. */
  estimate?: { min: bigint; max: bigint };
  review?: {
    /** How long the user may reject what was delivered, capped at REVIEW_WINDOW_CAP_MS. */
    windowMs: number;
    /** The app's review endpoint (accept, reject, status), on the charged request's origin. */
    refundUrl: string;
  };
  /** The plans offered beside the charge, when the caller asked for them (`PlanContext`). */
  plans?: PlanOffer[];
  /** Why the plans were dropped: the charge itself is still quoted, never paid differently. */
  plansRefused?: string;
  /** This charge is overage of a plan the site says the user holds (docs/plans.md §3). */
  overage?: { plan: string };
  /** Why an `overage` marker was dropped: the charge is then asked for as any other. */
  overageRefused?: string;
}

/** The rail and unit of the challenge the terms ride on: plans are read only when given. */
export interface PlanContext {
  rail: PlanRail;
  unit: PlanUnit;
}

/** Card authorizations expire after 5 to 7 days: every review ends well before. */
export const REVIEW_WINDOW_CAP_MS = 4 * 24 * 3600 * 1000;

export class ReviewTermsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReviewTermsError';
  }
}

const DIGITS = /^\d{1,20}$/;

const fail = (why: string): never => {
  throw new ReviewTermsError(`the app's estimate or review terms are unusable: ${why}`);
};

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
  return appUrlProblem(refundUrl, requestUrl, pageOrigin, 'the refund URL');
}

/**
 * Reads the `paybound` param of a challenge. `charged` is the amount the challenge charges, in its
 * unit; `requestUrl` is the URL that was answered with the 402; `pageOrigin` is the origin the
 * browser reported for the page that asked. Absent param: no terms. With `plans` (the challenge's
 * rail and unit), the offered plans are read too; a bad plan drops the plans, not the terms.
 */
export function readReviewTerms(
  raw: string | undefined,
  charged: bigint,
  requestUrl: string,
  pageOrigin: string = requestUrl,
  plans?: PlanContext,
): ReviewTerms | undefined {
  if (raw === undefined) return undefined;
  const decoded = decodeTermsParam(raw);
  if (!decoded.ok) return fail(decoded.why);
  const parsed = decoded.value;
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

  if (plans && parsed.plans !== undefined) {
    try {
      const offers = readPlanOffers(parsed, charged, plans.unit, requestUrl, pageOrigin, plans.rail);
      if (offers.length > 0) terms.plans = offers;
    } catch (e) {
      if (!(e instanceof PlanOfferError)) throw e;
      terms.plansRefused = e.message;
    }
  }

  if (parsed.overage !== undefined) {
    const o = parsed.overage;
    if (isObject(o) && typeof o.plan === 'string' && PLAN_ID.test(o.plan)) terms.overage = { plan: o.plan };
    else terms.overageRefused = 'the overage marker does not name a plan id';
  }
  return terms;
}
