/**
 * The main-world ⇄ bridge channel over `window.postMessage`. Page scripts can read and forge these
 * messages, so the bridge forwards only page-callable requests and the worker trusts none of them.
 */
import type { PageWallet, PageWalletRequest, PageWalletResult, RetryCredential } from '../messages/map';

export const CHANNEL = 'paybound:v1';

export interface ChallengePayload {
  url: string;
  method: string;
  status: 402;
  headers: [string, string][];
  /** SHA-256 (hex) of the body the retry would send. */
  bodySha256?: string | undefined;
  /** The 402's body, when it names `x402Version` and no payment header was sent (x402 v1). */
  body?: string | undefined;
  /** The page wallets found in the page (EIP-1193 for x402). */
  pageWallets?: PageWallet[] | undefined;
}

/** The page wallet's raw answer (or its error's message), for the worker to check. */
export type PayResultPayload = PageWalletResult;

export interface DeliveredPayload {
  paymentId: string;
  status: number;
  sha256: string;
  /** The response's evidence headers (payment ones, receipt, content type). */
  headers: [string, string][];
  /** The body of a Problem Details (`application/problem+json`) response, cut short. */
  problem?: string;
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
}
