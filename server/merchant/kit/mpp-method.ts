// What a payment method plugs into the MPP paywall: the request it offers in a challenge, and how
// it verifies and settles a credential.
import type { IncomingMessage } from 'node:http';
import type { JsonValue, PaymentProblem } from './mpp';

export interface MppOfferContext<B> {
  req: IncomingMessage;
  body: B;
  description: string;
  /** How long the challenge is valid. */
  lifetimeSeconds: number;
}

export interface MppVerifyContext<B> {
  req: IncomingMessage;
  body: B;
  challengeId: string;
  /** The decoded request of the echoed (and authenticated) challenge. */
  request: Record<string, unknown>;
  payload: Record<string, unknown>;
  now: number;
}

export type MppVerdict =
  | {
      ok: true;
      /** What the credential pays (or authorizes), in the method's base unit. */
      amount: bigint;
      /** What this request costs now (≤ amount). */
      due: bigint;
      currency: string;
      /** Method reference for the Payment-Receipt header (payment hash, PaymentIntent id). */
      reference: string;
      /** The charge id a payer names at the review endpoint; default: the challenge id. */
      chargeId?: string;
      /**
       * Called once the credential is consumed, before serving: binds the payment to this route's
       * review terms at the method's backend and confirms it still holds. Absent: nothing to confirm.
       */
      accept?(terms: {
        reviewWindowSeconds: number | null;
      }): Promise<{ ok: true } | { ok: false; code: PaymentProblem; reason: string }>;
      /** Settles `actual` (≤ amount) once the response is served; absent: already final. */
      settle?(actual: bigint): Promise<void>;
      /**
       * On routes with a review window: tells the method's backend the actual amount without
       * settling it (the payer settles after its review). Absent: nothing to tell.
       */
      report?(actual: bigint): Promise<void>;
      /** Gives the payment back when the app could not serve the request. */
      release?(): Promise<void>;
    }
  | { ok: false; code: PaymentProblem; reason: string };

/** How a method's payments take part in estimates and the review window (server/merchant/README.md). */
export interface MppReviewSupport {
  /** What the payer shows the review endpoint: a Lightning preimage, or the card service's receipt. */
  proof: 'lightning' | 'card';
  /**
   * Converts the estimate's minimum (msat) into this method's unit, never above what the same
   * conversion gives for the price. Absent: this method's challenges carry no estimate.
   */
  minimumFromMsat?(msat: bigint): bigint;
}

export interface MppMethod<B> {
  /** The method identifier in the challenge. */
  readonly name: string;
  /** Present when payments of this method can be reviewed; a route's `review` then applies to it. */
  readonly review?: MppReviewSupport;
  /** The challenge's request object, or null when this method is not offered for this request. */
  offer(
    ctx: MppOfferContext<B>,
  ): Promise<{ [key: string]: JsonValue } | null> | { [key: string]: JsonValue } | null;
  verify(ctx: MppVerifyContext<B>): Promise<MppVerdict>;
}
