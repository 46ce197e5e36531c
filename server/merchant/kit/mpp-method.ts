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
      /** Settles `actual` (≤ amount) once the response is served; absent: already final. */
      settle?(actual: bigint): Promise<void>;
      /** Gives the payment back when the app could not serve the request. */
      release?(): Promise<void>;
    }
  | { ok: false; code: PaymentProblem; reason: string };

export interface MppMethod<B> {
  /** The method identifier in the challenge. */
  readonly name: string;
  /** The challenge's request object, or null when this method is not offered for this request. */
  offer(
    ctx: MppOfferContext<B>,
  ): Promise<{ [key: string]: JsonValue } | null> | { [key: string]: JsonValue } | null;
  verify(ctx: MppVerifyContext<B>): Promise<MppVerdict>;
}
