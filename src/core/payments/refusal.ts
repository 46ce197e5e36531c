/**
 * A paid credential the app refused: the first request that carried a valid proof of payment was
 * answered 401, 402 or 403. The user paid and got nothing; what is kept of that response is its
 * status and a few headers that say why (the new challenge, the receipt, the kind of body),
 * bounded, so that a hostile app or page cannot fill the ledger through them.
 */

/** The answers that mean "your credential does not get you in". */
const REFUSED_STATUSES: ReadonlySet<number> = new Set([401, 402, 403]);

export const isRefusedStatus = (status: number): boolean => REFUSED_STATUSES.has(status);

/** The headers kept as evidence of a refusal (lower case). Cookies and the like never are. */
export const REFUSAL_HEADERS = [
  'www-authenticate',
  'payment-required',
  'payment-receipt',
  'payment-response',
  'x-payment-response',
  'content-type',
] as const;

/** How many headers are kept, and how much of each value (a doubled L402 challenge or an MPP one fits). */
export const REFUSAL_HEADER_COUNT_MAX = 8;
export const REFUSAL_HEADER_VALUE_MAX = 4096;

const KEPT: ReadonlySet<string> = new Set(REFUSAL_HEADERS);

/**
 * The evidence subset of a response's headers: only REFUSAL_HEADERS, names in lower case,
 * control characters taken out, each value cut to REFUSAL_HEADER_VALUE_MAX and at most
 * REFUSAL_HEADER_COUNT_MAX of them, in the order given.
 */
export function refusalHeaders(headers: Iterable<readonly [string, string]>): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (!KEPT.has(key)) continue;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    out.push([key, value.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, REFUSAL_HEADER_VALUE_MAX)]);
    if (out.length >= REFUSAL_HEADER_COUNT_MAX) break;
  }
  return out;
}
