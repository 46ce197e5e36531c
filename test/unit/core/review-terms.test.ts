import { base64urlnopad } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  REVIEW_WINDOW_CAP_MS,
  ReviewTermsError,
  readReviewTerms,
  reviewUrlProblem,
} from '../../../src/core/challenge/review';

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

describe('reviewUrlProblem: review calls go only where the paying page could send them itself', () => {
  it.each([
    ['https://app.example/review', 'https://app.example/api/x', 'https://app.example', undefined],
    // A page on a subdomain of the same site paying its API.
    ['https://api.example.com/r', 'https://api.example.com/gen', 'https://www.example.com', undefined],
    // Loopback may be plain http (local development and the demo).
    ['http://127.0.0.1:8402/r', 'http://127.0.0.1:8402/api', 'http://127.0.0.1:8402', undefined],
    ['http://localhost:3000/r', 'http://localhost:3000/api', 'http://localhost:3000', undefined],
    // A private address the charged request itself went to (an app on the user's network).
    ['https://192.168.1.20/r', 'https://192.168.1.20/api', 'https://192.168.1.20', undefined],
    ['http://app.example/r', 'http://app.example/api', 'http://app.example', /https/],
    [
      'https://evil.example/r',
      'https://app.example/api',
      'https://app.example',
      /another site than the charge/,
    ],
    // The page names another site's API and that site's review endpoint: not the page's to call.
    ['https://victim.example/r', 'https://victim.example/api', 'https://evil.example', /page that paid/],
    ['https://alice.github.io/r', 'https://alice.github.io/api', 'https://bob.github.io', /page that paid/],
    ['https://user:pw@app.example/r', 'https://app.example/api', 'https://app.example', /user name/],
    ['ftp://app.example/r', 'https://app.example/api', 'https://app.example', /https/],
    ['not a url', 'https://app.example/api', 'https://app.example', /not a URL/],
  ])('%s for %s asked by %s', (refund, request, page, problem) => {
    const got = reviewUrlProblem(refund, request, page);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(problem);
  });

  it('readReviewTerms refuses terms naming a review endpoint the page could not call', () => {
    const raw = enc({ v: 1, review: { window: 60, refund: 'https://victim.example/r' } });
    expect(() => readReviewTerms(raw, 1n, 'https://victim.example/api', 'https://evil.example')).toThrow(
      /page that paid/,
    );
  });
});
