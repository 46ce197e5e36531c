/**
 * The credential a paid request is retried with: a header name and its value, named by the
 * protocol that was paid. L402 and MPP answer in `Authorization`; x402 answers in
 * `PAYMENT-SIGNATURE` (version 2) or `X-PAYMENT` (version 1). A plan's subscriber is known by
 * `Paybound-Subscriber` (docs/plans.md §3): a header of its own, so that the `Authorization` of a
 * paid overage call is never overwritten by the subscriber rule.
 *
 * Only these header names are ever set, by the page's retry or by a token rule. Why a closed list:
 * - A protocol module that took the header name from the merchant's 402 would let the merchant
 *   choose what Paybound writes into the user's requests. Token rules are declarativeNetRequest
 *   rules, which may set headers no page script can (`Cookie`, `Origin`, `Host`, proxy headers):
 *   a merchant-chosen name could ride on every later request in scope.
 * - Whatever handles a credential (the token cache, logs that must not show it, the dispute
 *   evidence) knows where payment proofs live only if the places are few and known.
 * - A paid API has to allow the header in its CORS preflight; these are the ones payment-taking
 *   servers allow. Any other name would fail in the browser after the money was spent.
 */

export const RETRY_HEADERS = [
  'Authorization',
  'PAYMENT-SIGNATURE',
  'X-PAYMENT',
  'Paybound-Subscriber',
] as const;
export type RetryHeader = (typeof RETRY_HEADERS)[number];

export interface RetryCredential {
  header: RetryHeader;
  value: string;
}

/** A token rule can carry it to later requests: only `Authorization` (x402 payments are one-shot). */
export type ReusableCredential = RetryCredential & { header: 'Authorization' };

export const isReusable = (c: RetryCredential): c is ReusableCredential => c.header === 'Authorization';

/**
 * Servers refuse request headers beyond 8–16 KB in all; an MPP credential echoes its challenge
 * (up to 8 KB) in base64url, so 16 KB holds every real one.
 */
export const RETRY_VALUE_MAX = 16 * 1024;
// Visible ASCII and spaces, no leading or trailing space: what `Headers.set` and a DNR rule take
// as they are (a CR or LF would be refused at the retry, after the money was spent).
const VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

export class RetryCredentialError extends Error {
  override readonly name = 'RetryCredentialError';
}

/**
 * The credential as it may be handed to the page, its header spelled as in RETRY_HEADERS; throws
 * RetryCredentialError for any other header name or for a value no request could carry.
 */
export function checkRetryCredential(c: { header: unknown; value: unknown }): RetryCredential {
  const name = typeof c.header === 'string' ? c.header.toLowerCase() : undefined;
  const header = RETRY_HEADERS.find((h) => h.toLowerCase() === name);
  if (!header) {
    const shown = typeof c.header === 'string' ? JSON.stringify(c.header.slice(0, 40)) : typeof c.header;
    throw new RetryCredentialError(`the credential names the header ${shown}, which Paybound never sets`);
  }
  if (typeof c.value !== 'string' || c.value.length > RETRY_VALUE_MAX || !VALUE.test(c.value)) {
    throw new RetryCredentialError(`the ${header} value is not one a request can carry`);
  }
  return { header, value: c.value };
}
