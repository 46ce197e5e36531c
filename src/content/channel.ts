/**
 * The main-world ⇄ bridge channel over `window.postMessage`. Page scripts can read and forge these
 * messages, so the bridge forwards only page-callable requests and the worker trusts none of them.
 */
import type { PageWallet, PageWalletRequest, PageWalletResult, RetryCredential } from '../messages/map';

export const CHANNEL = 'paybound:v1';

/**
 * A 402 as the main world reports it, any 402: the bridge tells whether it asks for a payment,
 * keeps only its payment headers and hashes the retry's body, so that the script in every page
 * stays small.
 */
export interface ChallengePayload {
  url: string;
  method: string;
  status: 402;
  headers: [string, string][];
  /** The body the retry would send (the bridge hands the worker its SHA-256). */
  bytes?: ArrayBuffer | undefined;
  /**
   * The 402's own body (fetch only). The bridge passes it on, as text, only when no payment header
   * was sent and it names `x402Version` (x402 v1 asks in the body).
   */
  body?: ArrayBuffer | undefined;
  /** The page wallets found in the page (EIP-1193 for x402). */
  pageWallets?: PageWallet[] | undefined;
  /** The request carried a credential Paybound handed this page: the 402 refuses it. */
  carried?: true | undefined;
}

/** The page wallet's raw answer (or its error's message), for the worker to check. */
export type PayResultPayload = PageWalletResult;

/** What the paid retry delivered, as the main world reports it: its status, headers and body. */
export interface DeliveredPayload {
  paymentId: string;
  status: number;
  headers: [string, string][];
  bytes: ArrayBuffer;
}

/**
 * main → bridge. `query`: a 402 was seen. `pay-result`: the page's wallet answered what it was
 * asked. `delivered`: the paid retry's response (its status and body hash, for disputes).
 */
export type BridgeQuery =
  | { channel: typeof CHANNEL; kind: 'query'; id: number; payload: ChallengePayload }
  | { channel: typeof CHANNEL; kind: 'pay-result'; id: number; payload: PayResultPayload }
  | { channel: typeof CHANNEL; kind: 'delivered'; id: number; payload: DeliveredPayload };

export interface BridgeAck {
  channel: typeof CHANNEL;
  kind: 'ack';
  id: number;
}

export interface BridgeAnswer {
  channel: typeof CHANNEL;
  kind: 'answer';
  id: number;
  /**
   * The header and value to retry with (the header one of RETRY_HEADERS). Without it (and
   * without `pay`) the page keeps its 402.
   */
  retry?: RetryCredential;
  /** The payment the credential proves, to report what was delivered. */
  paymentId?: string;
  /** Ask the page's own wallet this, then report its answer with a `pay-result` query. */
  pay?: { paymentId: string } & PageWalletRequest;
  /** Send the credential on this document's later requests whose URL starts with this too. */
  keep?: string;
  /** The credential was paid before: a 402 to the retry refuses it (ask again, `carried`). */
  held?: true;
}

/**
 * bridge → main (Chromium): the paid answer to the tab's own page load, to show in place of its
 * 402 page. Written by the main world, so the page's own scripts run under the page's own rules.
 * A page forging one only rewrites itself.
 */
export interface BridgePage {
  channel: typeof CHANNEL;
  kind: 'page';
  id: 0;
  html: string;
}
