/**
 * The client of an app's review endpoint (README, "Estimates and the review window"): one POST
 * per question, JSON in and out, amounts as decimal strings in the unit the terms name.
 */
import { mppCredential } from '../../../core/challenge/mpp';
import { reviewUrlProblem } from '../../../core/challenge/review';
import type { LightningPayment, PaymentRecord } from '../../../db/schema';

/** The app's answer, amounts scaled to the payment's own unit. */
export interface AppAnswer {
  status: string;
  max?: bigint;
  actual?: bigint;
  refunded?: bigint;
  queued?: bigint;
  note?: string;
}

const REVIEW_TIMEOUT_MS = 15_000;

const wireAmount = (v: unknown): bigint | undefined =>
  typeof v === 'string' && /^\d{1,24}$/.test(v) ? BigInt(v) : undefined;

/**
 * What proves a Lightning charge at the app's review endpoint: the whole credential it was paid
 * with (the L402 macaroon with the preimage, or the MPP credential). The preimage alone is known to
 * every routing node on the payment's path, so the app takes it from no one.
 */
export function lightningProof(p: LightningPayment): string {
  const preimage = p.lightning.preimage;
  if (!preimage) return '';
  const c = p.challenge;
  return c.protocol === 'mpp' ? mppCredential(c.mpp, { preimage }) : `${c.macaroon}:${preimage}`;
}

/** An amount in the payment's own unit as the endpoint writes it (MPP Lightning speaks sats). */
export function toWire(p: PaymentRecord, native: bigint): bigint {
  return p.review?.unit === 'sat' ? native / 1000n : native;
}

/** One call to the app's review endpoint. Throws with the app's message on anything but 200. */
export async function askApp(p: PaymentRecord, body: Record<string, string>): Promise<AppAnswer> {
  const review = p.review;
  if (!review) throw new Error('no review endpoint');
  // Checked again at the door (the terms were checked when quoted; a backup or an older record
  // may not have been): only where the paying page could have sent this itself.
  const problem = reviewUrlProblem(review.refundUrl, p.url, p.origin);
  if (problem) throw new Error(`not sent: ${problem}`);
  let res: Response;
  try {
    res = await fetch(review.refundUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ v: 1, charge: review.chargeId, ...body }),
      credentials: 'omit',
      // A redirect could lead anywhere, this extension's fetch skipping CORS: refused.
      redirect: 'error',
      referrerPolicy: 'no-referrer',
      signal: AbortSignal.timeout(REVIEW_TIMEOUT_MS),
    });
  } catch {
    throw new Error('the review endpoint could not be reached');
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status !== 200) {
    const err = json.error as { message?: unknown } | undefined;
    throw new Error(typeof err?.message === 'string' ? err.message : `HTTP ${res.status}`);
  }
  const scale = review.unit === 'sat' ? 1000n : 1n;
  const amount = (k: string) => {
    const v = wireAmount(json[k]);
    return v === undefined ? {} : { [k]: v * scale };
  };
  return {
    status: typeof json.status === 'string' ? json.status : 'unknown',
    ...amount('max'),
    ...amount('actual'),
    ...amount('refunded'),
    ...amount('queued'),
    ...(typeof json.note === 'string' ? { note: json.note.slice(0, 500) } : {}),
  };
}
