import { base64urlnopad } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { REVIEW_WINDOW_CAP_MS, ReviewTermsError, readReviewTerms } from '../../../src/core/challenge/review';

const enc = (v: unknown) => base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(v)));
const URL_ = 'https://app.example/api/draft';

describe('readReviewTerms', () => {
  it('reads an estimate and a review policy', () => {
    const t = readReviewTerms(
      enc({
        v: 1,
        estimate: { min: '1000', max: '3000' },
        review: { window: 600, refund: 'https://app.example/review' },
      }),
      3000n,
      URL_,
    );
    expect(t).toEqual({
      estimate: { min: 1000n, max: 3000n },
      review: { windowMs: 600_000, refundUrl: 'https://app.example/review' },
    });
  });

  it('is absent when the app sent nothing', () => {
    expect(readReviewTerms(undefined, 1n, URL_)).toBeUndefined();
  });

  it('caps the window so card authorizations never expire under review', () => {
    const t = readReviewTerms(
      enc({ v: 1, review: { window: 30 * 86400, refund: 'https://app.example/r' } }),
      1n,
      URL_,
    );
    expect(t?.review?.windowMs).toBe(REVIEW_WINDOW_CAP_MS);
  });

  it.each([
    ['garbage', '%%%'],
    ['not an object', enc([1])],
    ['unknown version', enc({ v: 2 })],
    ['min above max', enc({ v: 1, estimate: { min: '5', max: '3' } })],
    ['max not the charge', enc({ v: 1, estimate: { min: '1', max: '2999' } })],
    ['fractional amount', enc({ v: 1, estimate: { min: '1.5', max: '3000' } })],
    ['numbers not strings', enc({ v: 1, estimate: { min: 1, max: 3000 } })],
    ['zero window', enc({ v: 1, review: { window: 0, refund: 'https://app.example/r' } })],
    ['refund on another site', enc({ v: 1, review: { window: 60, refund: 'https://evil.example/r' } })],
    ['refund not http', enc({ v: 1, review: { window: 60, refund: 'javascript:alert(1)' } })],
    ['refund missing', enc({ v: 1, review: { window: 60 } })],
  ])('refuses %s', (_name, raw) => {
    expect(() => readReviewTerms(raw, 3000n, URL_)).toThrow(ReviewTermsError);
  });
});
