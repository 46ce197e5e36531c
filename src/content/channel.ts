/**
 * The main-world ⇄ bridge channel over `window.postMessage`. Page scripts can read and forge these
 * messages, so the bridge forwards only page-callable requests and the worker trusts none of them.
 */
export const CHANNEL = 'paybound:v1';

export interface ChallengePayload {
  url: string;
  method: string;
  status: 402;
  headers: [string, string][];
}

export interface WeblnResultPayload {
  paymentId: string;
  preimage?: string;
  error?: string;
}

export interface DeliveredPayload {
  paymentId: string;
  status: number;
  sha256: string;
}

/**
 * main → bridge. `query`: a 402 was seen. `webln-result`: the page's wallet paid what it was
 * handed. `delivered`: the paid retry's response (its status and body hash, for disputes).
 */
export type BridgeQuery =
  | { channel: typeof CHANNEL; kind: 'query'; id: number; payload: ChallengePayload }
  | { channel: typeof CHANNEL; kind: 'webln-result'; id: number; payload: WeblnResultPayload }
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
  /** An `Authorization` value to retry with. Without it (and without `webln`) the page keeps its 402. */
  authorization?: string;
  /** The payment the authorization proves, to report what was delivered. */
  paymentId?: string;
  /** Pay this invoice with the page's window.webln, then report with a `webln-result` query. */
  webln?: { paymentId: string; invoice: string };
}
