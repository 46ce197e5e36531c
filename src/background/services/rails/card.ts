/**
 * The card rail: the card service (server/card) holds the card and the Stripe key; the extension
 * holds a device token. Paying an approved quote authorizes the approved maximum and returns a
 * receipt the app verifies; a replayed challenge id gets the same authorization, never a second.
 */
import { base64urlnopad } from '@scure/base';
import { type Said, said } from '../../../core/text/said';
import type { RailRecord } from '../../../db/schema';
import { RailError } from './types';

type CardRecord = Extract<RailRecord, { kind: 'card' }>;

export interface CardAuthorization {
  receipt: string;
  paymentIntent: string;
}

interface ServiceError {
  error?: { code?: string; message?: string; decline_code?: string };
}

const TIMEOUT_MS = 30_000;

async function call(
  base: string,
  path: string,
  init: RequestInit & { token?: string },
): Promise<{ status: number; body: Record<string, unknown> & ServiceError }> {
  let res: Response;
  try {
    res = await fetch(`${base.replace(/\/+$/, '')}${path}`, {
      ...init,
      headers: {
        'Content-Type': 'application/json',
        ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'TimeoutError')
      throw new RailError('timeout', said('cardTimeout'));
    throw new RailError('unreachable', said('cardUnreachable'));
  }
  return {
    status: res.status,
    body: (await res.json().catch(() => ({}))) as Record<string, unknown> & ServiceError,
  };
}

export async function authorizeCard(
  record: CardRecord,
  charge: {
    challengeId: string;
    amount: bigint;
    currency: string;
    destination: string;
    description?: string;
    /**
     * The review window (seconds; 0: none) of the challenge's `paybound` terms. The card service
     * holds the app to it: the app must accept the receipt with the same window, and the payer's
     * cancel, partial capture and refund rights follow it. Omitted: the app's word decides.
     */
    reviewWindowSeconds?: number;
  },
): Promise<CardAuthorization> {
  const { status, body } = await call(record.config.serviceUrl, '/api/payments', {
    method: 'POST',
    token: record.config.token,
    body: JSON.stringify({ ...charge, amount: charge.amount.toString() }),
  });
  if ((status === 200 || status === 201) && typeof body.receipt === 'string') {
    const payment = body.payment as { id?: unknown } | undefined;
    return { receipt: body.receipt, paymentIntent: typeof payment?.id === 'string' ? payment.id : '' };
  }
  throw cardRefusal(status, body);
}

export interface CardSubscription {
  /** The card service's subscription (`sub_…`), and its signed receipt for the app. */
  subscription: string;
  receipt: string;
}

/**
 * Subscribes the linked card to a plan (docs/plans.md §4): the card service creates the Stripe
 * subscription paying the app, and the first period is charged then. The same challenge id again
 * answers the same subscription.
 */
export async function subscribeCard(
  record: CardRecord,
  plan: {
    challengeId: string;
    destination: string;
    amount: bigint;
    currency: string;
    interval: string;
    intervalCount: number;
    plan: { id: string; name: string };
    overage?: { unitAmount: bigint; capAmount: bigint };
  },
): Promise<CardSubscription> {
  const { status, body } = await call(record.config.serviceUrl, '/api/subscriptions', {
    method: 'POST',
    token: record.config.token,
    body: JSON.stringify({
      ...plan,
      amount: plan.amount.toString(),
      ...(plan.overage
        ? {
            overage: {
              unitAmount: plan.overage.unitAmount.toString(),
              capAmount: plan.overage.capAmount.toString(),
            },
          }
        : {}),
    }),
  });
  const sub = body.subscription as { id?: unknown } | undefined;
  if (status === 200 && typeof body.receipt === 'string' && typeof sub?.id === 'string') {
    return { subscription: sub.id, receipt: body.receipt };
  }
  throw cardRefusal(status, body);
}

/** Cancels a card plan at the card service, at the end of its period. */
export async function cancelCardSubscription(record: CardRecord, subscription: string): Promise<void> {
  const { status, body } = await call(
    record.config.serviceUrl,
    `/api/subscriptions/${encodeURIComponent(subscription)}/cancel`,
    { method: 'POST', token: record.config.token, body: '{}' },
  );
  if (status !== 200) throw cardRefusal(status, body);
}

/** The device's subscriptions at the card service, each with this period's billed overage. */
export async function cardSubscriptions(
  record: CardRecord,
): Promise<{ id: string; currentPeriodStart: number; overageAmount: bigint }[]> {
  const { status, body } = await call(record.config.serviceUrl, '/api/subscriptions', {
    method: 'GET',
    token: record.config.token,
  });
  if (status !== 200 || !Array.isArray(body.subscriptions)) throw cardRefusal(status, body);
  return body.subscriptions.flatMap((s: unknown) => {
    const o = s as { id?: unknown; currentPeriodStart?: unknown; overageAmount?: unknown };
    const amount = typeof o.overageAmount === 'number' ? o.overageAmount : Number(o.overageAmount);
    return typeof o.id === 'string' &&
      typeof o.currentPeriodStart === 'number' &&
      Number.isSafeInteger(amount) &&
      amount >= 0
      ? [{ id: o.id, currentPeriodStart: o.currentPeriodStart, overageAmount: BigInt(amount) }]
      : [];
  });
}

function cardRefusal(status: number, body: ServiceError): RailError {
  const code = body.error?.code ?? `http_${status}`;
  if (code === 'card_declined') {
    const decline = body.error?.decline_code;
    return new RailError(
      decline === 'insufficient_funds' ? 'insufficient_balance' : 'wallet_error',
      decline ? said('cardDeclinedWhy', decline.replace(/_/g, ' ')) : said('cardDeclined'),
    );
  }
  if (status === 401) return new RailError('wallet_error', said('cardUnlinked'));
  if (code === 'above_device_limit') return new RailError('wallet_error', said('cardAboveLimit'));
  return new RailError('wallet_error', cardAnswer(body.error?.message, status));
}

/** The card service's own words when it gave some (its API speaks English), else its status. */
function cardAnswer(message: string | undefined, status: number): Said {
  return message ? said('cardSaid', message) : said('cardAnswered', String(status));
}

/**
 * Linking a card: the extension keeps `state` and `secret` (32 random bytes each, base64url), opens
 * the tab with `state` and this commitment `v` = base64url(SHA-256(secret)), and presents the secret
 * only in the claim, so whoever sees the tab's URL still cannot claim the card.
 */
export async function linkCommitment(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret));
  return base64urlnopad.encode(new Uint8Array(digest));
}

/** Polls a link the user is finishing in a tab: the device token and the card, once. */
export async function claimCard(
  serviceUrl: string,
  state: string,
  secret: string,
): Promise<
  | { status: 'linked'; token: string; brand: string; last4: string }
  | { status: 'pending' }
  /** The service has no link for this state yet: the tab that starts it has not loaded /link. */
  | { status: 'unknown' }
  | { status: 'failed'; reason: string }
> {
  const { status, body } = await call(serviceUrl, '/api/devices/claim', {
    method: 'POST',
    body: JSON.stringify({ state, secret }),
  });
  if (status === 202) return { status: 'pending' };
  if (status === 404 && body.error?.code === 'unknown_state') return { status: 'unknown' };
  const card = body.card as { brand?: unknown; last4?: unknown } | undefined;
  if (status === 200 && typeof body.deviceToken === 'string') {
    return {
      status: 'linked',
      token: body.deviceToken,
      brand: typeof card?.brand === 'string' ? card.brand : 'card',
      last4: typeof card?.last4 === 'string' ? card.last4 : '????',
    };
  }
  return { status: 'failed', reason: body.error?.message ?? `the card service answered ${status}` };
}

/** What this card may pay, as the card service enforces it: per charge and per day (null: no limit). */
export interface CardLimits {
  perChargeMinor: string | null;
  perDayMinor: string | null;
  /** A raise waits a day at the card service (a stolen token cannot lift the limits). */
  pending: { perChargeMinor: string | null; perDayMinor: string | null; from: string } | null;
}

const limitOut = (v: unknown): string | null => (typeof v === 'number' ? String(v) : null);

/**
 * Sets the card's limits at the card service: a second fence behind Paybound's own rules, which
 * holds even for someone who took the device token. Lowering applies at once, a raise after a day.
 */
export async function setCardLimits(
  record: CardRecord,
  limits: { perChargeMinor: string | null; perDayMinor: string | null },
): Promise<CardLimits> {
  const num = (v: string | null) => (v === null ? null : Number(v));
  const { status, body } = await call(record.config.serviceUrl, '/api/device/limits', {
    method: 'POST',
    token: record.config.token,
    body: JSON.stringify({
      perChargeMinor: num(limits.perChargeMinor),
      perDayMinor: num(limits.perDayMinor),
    }),
  });
  if (status !== 200) throw new RailError('wallet_error', cardAnswer(body.error?.message, status));
  const got = body.limits as Record<string, unknown> | undefined;
  const pending = got?.pending as Record<string, unknown> | null | undefined;
  return {
    perChargeMinor: limitOut(got?.perChargeMinor),
    perDayMinor: limitOut(got?.perDayMinor),
    pending: pending
      ? {
          perChargeMinor: limitOut(pending.perChargeMinor),
          perDayMinor: limitOut(pending.perDayMinor),
          from: String(pending.from),
        }
      : null,
  };
}

/**
 * Unlinking: the card service revokes the device token and cancels its plans at their periods'
 * ends (best effort: the local record goes anyway). Says whether the service confirmed the plans
 * cancelled; false when it could not be reached or did not say so.
 */
export async function revokeCard(record: CardRecord): Promise<{ plansCanceled: boolean }> {
  const res = await call(record.config.serviceUrl, '/api/device', {
    method: 'DELETE',
    token: record.config.token,
  }).catch(() => undefined);
  return { plansCanceled: res?.status === 200 && res.body.plansCanceled === true };
}

/**
 * Gives a card charge back: a hold not yet captured is cancelled (nothing is charged); a captured
 * charge is refunded (`amount` in minor units, or all), the app's share reversed.
 */
export async function refundCard(
  record: CardRecord,
  paymentIntent: string,
  amount?: bigint,
): Promise<'cancelled' | 'refunded'> {
  const path = `/api/payments/${encodeURIComponent(paymentIntent)}`;
  if (amount === undefined) {
    const cancel = await call(record.config.serviceUrl, `${path}/cancel`, {
      method: 'POST',
      token: record.config.token,
      body: '{}',
    });
    if (cancel.status === 200) return 'cancelled';
  }
  const refund = await call(record.config.serviceUrl, `${path}/refund`, {
    method: 'POST',
    token: record.config.token,
    body: JSON.stringify({
      ...(amount !== undefined ? { amount: amount.toString() } : {}),
      reason: 'requested_by_customer',
    }),
  });
  if (refund.status === 200 || refund.status === 201) return 'refunded';
  throw new RailError('wallet_error', cardAnswer(refund.body.error?.message, refund.status));
}

/** The card service's view of one payment (amounts in minor units). */
export interface CardPaymentState {
  status: string;
  amount: bigint;
  amountCaptured: bigint;
  amountRefunded: bigint;
  /** The actual the app reported, not yet captured. */
  amountReported?: bigint;
  /** An actual the app tried to report above the authorization (refused by the service). */
  overReported?: bigint;
}

const big = (v: unknown): bigint | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
    ? BigInt(v)
    : typeof v === 'string' && /^\d{1,18}$/.test(v)
      ? BigInt(v)
      : undefined;

function paymentState(body: Record<string, unknown>): CardPaymentState {
  const p = (body.payment ?? body) as Record<string, unknown>;
  const amountReported = big(p.amountReported);
  const overReported = big(p.overReported);
  return {
    status: typeof p.status === 'string' ? p.status : 'unknown',
    amount: big(p.amount) ?? 0n,
    amountCaptured: big(p.amountCaptured) ?? 0n,
    amountRefunded: big(p.amountRefunded) ?? 0n,
    ...(amountReported !== undefined ? { amountReported } : {}),
    ...(overReported !== undefined ? { overReported } : {}),
  };
}

function serviceError(status: number, body: ServiceError): RailError {
  return new RailError('wallet_error', cardAnswer(body.error?.message, status));
}

export async function cardPayment(record: CardRecord, paymentIntent: string): Promise<CardPaymentState> {
  const r = await call(record.config.serviceUrl, `/api/payments/${encodeURIComponent(paymentIntent)}`, {
    method: 'GET',
    token: record.config.token,
  });
  if (r.status !== 200) throw serviceError(r.status, r.body);
  return paymentState(r.body);
}

/**
 * Captures a held authorization: `amount` (≤ authorized), or without it what the app reported
 * (else all). A charge someone else captured first is read back, not captured twice.
 */
export async function captureCard(
  record: CardRecord,
  paymentIntent: string,
  amount?: bigint,
): Promise<CardPaymentState> {
  const r = await call(
    record.config.serviceUrl,
    `/api/payments/${encodeURIComponent(paymentIntent)}/capture`,
    {
      method: 'POST',
      token: record.config.token,
      body: JSON.stringify(amount !== undefined ? { amount: amount.toString() } : {}),
    },
  );
  if (r.status === 200 || r.status === 201) return paymentState(r.body);
  if (r.status === 409) return cardPayment(record, paymentIntent);
  throw serviceError(r.status, r.body);
}

/** Releases a held authorization: nothing is charged. */
export async function cancelCard(record: CardRecord, paymentIntent: string): Promise<CardPaymentState> {
  const r = await call(
    record.config.serviceUrl,
    `/api/payments/${encodeURIComponent(paymentIntent)}/cancel`,
    { method: 'POST', token: record.config.token, body: '{}' },
  );
  if (r.status === 200 || r.status === 201) return paymentState(r.body);
  if (r.status === 409) return cardPayment(record, paymentIntent);
  throw serviceError(r.status, r.body);
}

export interface CardChargeback {
  id: string;
  paymentIntent: string;
  reason: string;
  status: string;
  amount: bigint;
}

/** Chargebacks the card network opened on this card's payments. */
export async function cardChargebacks(record: CardRecord): Promise<CardChargeback[]> {
  const r = await call(record.config.serviceUrl, '/api/disputes', {
    method: 'GET',
    token: record.config.token,
  });
  if (r.status !== 200 || !Array.isArray(r.body.disputes)) throw serviceError(r.status, r.body);
  return (r.body.disputes as Record<string, unknown>[]).flatMap((d) =>
    typeof d.id === 'string' && typeof d.paymentIntent === 'string'
      ? [
          {
            id: d.id,
            paymentIntent: d.paymentIntent,
            reason: typeof d.reason === 'string' ? d.reason : 'unknown',
            status: typeof d.status === 'string' ? d.status : 'unknown',
            amount: big(d.amount) ?? 0n,
          },
        ]
      : [],
  );
}
