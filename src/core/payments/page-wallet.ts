/**
 * Wallets that live in the page (an extension's provider object, reachable only from the page's
 * own JavaScript world): the worker names what to ask the wallet, the main-world script asks it
 * and brings back its raw answer, and the worker decides what that answer proves. The page is
 * untrusted, so nothing here believes the answer until it is checked per wallet kind.
 */

/** The page-wallet kinds, closed: the main-world script refuses any kind it has no caller for. */
export const PAGE_WALLETS = ['webln', 'eip1193'] as const;
export type PageWallet = (typeof PAGE_WALLETS)[number];

/** What the worker asks each kind of wallet. */
export interface PageWalletRequests {
  /** WebLN (`window.webln`): enable, then pay the BOLT11 invoice. */
  webln: { method: 'sendPayment'; params: [invoice: string] };
  /** EIP-1193 (`window.ethereum.request`). Typed for x402; the main-world script has no caller for it yet. */
  eip1193: { method: string; params: unknown[] };
}

/** One request to one page wallet. */
export type PageWalletRequest = {
  [K in PageWallet]: { wallet: K; request: PageWalletRequests[K] };
}[PageWallet];

/**
 * What the page reports: the wallet's raw answer, or the error it threw (its message). Neither
 * is believed: a page can report anything.
 */
export interface PageWalletResult {
  paymentId: string;
  wallet: PageWallet;
  answer?: unknown;
  error?: string;
}

/** A raw answer larger than this is no wallet's answer (a WebLN one is a preimage and a few fields). */
export const PAGE_ANSWER_MAX_CHARS = 4096;

/** The raw answer fits in PAGE_ANSWER_MAX_CHARS as JSON (what crossed to the worker was JSON). */
export function answerFits(answer: unknown): boolean {
  try {
    const json = JSON.stringify(answer);
    return json === undefined || json.length <= PAGE_ANSWER_MAX_CHARS;
  } catch {
    return false;
  }
}

const HEX32 = /^[0-9a-f]{64}$/i;

/**
 * The preimage in a WebLN `sendPayment` answer (`{ preimage }`), lower case, when it is 32 bytes
 * of hex; whether it pays the invoice is the caller's check.
 */
export function weblnPreimage(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const preimage: unknown = (answer as { preimage?: unknown }).preimage;
  return typeof preimage === 'string' && HEX32.test(preimage) ? preimage.toLowerCase() : undefined;
}
