// The official Stripe SDK, configured once, and how its errors become the card service's answers.
import { createHash, randomBytes } from 'node:crypto';
import Stripe from 'stripe';

/**
 * The Stripe API version this service is written against, pinned. It is the version the pinned SDK
 * (stripe 23.1.0) is typed for, so the compiler flags a mismatch when the SDK is upgraded.
 */
export const STRIPE_API_VERSION: Stripe.LatestApiVersion = '2026-10-28.endive';

export interface StripeConnection {
  host: string;
  port: number;
  protocol: 'http' | 'https';
  secretKey: string;
  /** SDK retries on network errors and 5xx (each POST carries an idempotency key); default 1. */
  maxNetworkRetries?: number;
  /** Per-request timeout; default 20 s. */
  timeoutMs?: number;
}

export function createStripeClient(conn: StripeConnection): Stripe {
  return new Stripe(conn.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    host: conn.host,
    port: conn.port,
    protocol: conn.protocol,
    maxNetworkRetries: conn.maxNetworkRetries ?? 1,
    timeout: conn.timeoutMs ?? 20_000,
    telemetry: false,
    appInfo: { name: 'paybound-card-service', version: '0.1.0' },
  });
}

export interface ServiceError {
  status: number;
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** Maps an SDK error to an answer for the extension or an app; anything else is rethrown. */
export function mapStripeError(err: unknown): ServiceError {
  if (!(err instanceof Stripe.errors.StripeError)) throw err;
  if (err instanceof Stripe.errors.StripeCardError) {
    const details: Record<string, unknown> = {};
    if (err.decline_code) details.decline_code = err.decline_code;
    if (err.payment_intent?.id) details.payment_intent = err.payment_intent.id;
    return {
      status: 402,
      code: err.code ?? 'card_declined',
      message: err.message,
      details,
    };
  }
  if (err instanceof Stripe.errors.StripeConnectionError) {
    return {
      status: 503,
      code: 'stripe_unreachable',
      message: 'The payment processor could not be reached; nothing was charged. Try again later.',
      details: {},
    };
  }
  if (err instanceof Stripe.errors.StripeIdempotencyError) {
    return {
      status: 409,
      code: 'challenge_conflict',
      message: 'This challenge was already paid with different parameters.',
      details: {},
    };
  }
  if (err instanceof Stripe.errors.StripeInvalidRequestError) {
    const details: Record<string, unknown> = { stripe_code: err.code ?? null };
    if (err.param) details.param = err.param;
    return {
      status: err.statusCode === 404 ? 404 : 422,
      code: err.code ?? 'invalid_request',
      message: err.message,
      details,
    };
  }
  if (
    err instanceof Stripe.errors.StripeAuthenticationError ||
    err instanceof Stripe.errors.StripePermissionError
  ) {
    return {
      status: 502,
      code: 'stripe_misconfigured',
      message: 'The card service is misconfigured (Stripe refused its key).',
      details: {},
    };
  }
  if (err instanceof Stripe.errors.StripeRateLimitError) {
    return {
      status: 503,
      code: 'stripe_rate_limited',
      message: 'Stripe is rate limiting; try again shortly.',
      details: {},
    };
  }
  return {
    status: 502,
    code: 'stripe_error',
    message: `Stripe answered an error: ${err.message}`,
    details: {},
  };
}

export function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
