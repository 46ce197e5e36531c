/**
 * Benches pay one charge after another, and each needs a fresh challenge: the token a payment buys
 * must not serve the next request. In Chromium the worker keeps tokens in its database (it answers
 * a new document's 402 with them) and each page keeps the ones it was handed.
 * `clearTokenTable` (test/e2e/harness/flows.ts) empties the first; a request sent with FRESH's
 * own (empty) Authorization keeps the page from attaching a kept one, and the app, seeing no
 * credential, asks to be paid.
 */
export const FRESH: Record<string, string> = { authorization: '' };
