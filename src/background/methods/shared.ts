/** Small pieces every payment method uses. */
import type { ReviewTerms } from '../../core/challenge/review';
import { english, type Said } from '../../core/text/said';
import type { PaymentRecord, ReviewPolicy } from '../../db/schema';
import type { QuoteTerms } from './types';

/** An invoice must stay valid this long after the quote is shown, to approve and pay in time. */
export const EXPIRY_MARGIN_SECONDS = 30;

/** A ledger failure: its code, the English for the record, and what the pages say. */
export const failure = (code: string, reason: Said): NonNullable<PaymentRecord['failure']> => ({
  code,
  reason: english(reason),
  said: reason,
});

/** Terms read in the challenge's unit, scaled to the payment's (MPP Lightning: sat → msat). */
export function scaleTerms(
  t: ReviewTerms | undefined,
  scale: bigint,
  chargeId: string,
  unit: ReviewPolicy['unit'],
): QuoteTerms | undefined {
  if (!t) return undefined;
  return {
    ...(t.estimate ? { estimate: { min: t.estimate.min * scale, max: t.estimate.max * scale } } : {}),
    ...(t.review
      ? { review: { windowMs: t.review.windowMs, refundUrl: t.review.refundUrl, chargeId, unit } }
      : {}),
  };
}
