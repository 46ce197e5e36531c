/**
 * The main-world ⇄ bridge channel over `window.postMessage`. Page scripts can read and forge these
 * messages, so the bridge forwards only page-callable requests and the worker trusts none of them.
 */
export const CHANNEL = 'paybound:v1';

export interface ChallengeQuery {
  channel: typeof CHANNEL;
  kind: 'query';
  id: number;
  payload: { url: string; method: string; status: 402; headers: [string, string][] };
}

export interface BridgeAck {
  channel: typeof CHANNEL;
  kind: 'ack';
  id: number;
}

export interface BridgeAnswer {
  channel: typeof CHANNEL;
  kind: 'answer';
  id: number;
  /** An `Authorization` value to retry with, or nothing: the page keeps its 402. */
  authorization?: string;
}
