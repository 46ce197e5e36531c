/**
 * What both Lightning methods share (the worker's wallet or the page's): the challenge (L402
 * first, its token serving later requests; else MPP's Lightning method), its preflight, the
 * record, the proof check and the credential.
 */
import { L402ChallengeError, l402Credential, readL402Challenge } from '../../core/challenge/l402';
import { MppChallengeError, mppCredential, readMppChallenge } from '../../core/challenge/mpp';
import { ReviewTermsError, readReviewTerms } from '../../core/challenge/review';
import { verifyPreimage } from '../../core/lightning/bolt11';
import { msatToMinor } from '../../core/money/rates';
import { type L402Quote, type PreflightCode, preflightL402 } from '../../core/payments/l402-preflight';
import { type MppLightningQuote, preflightMppLightning } from '../../core/payments/mpp-preflight';
import type { RetryCredential } from '../../core/payments/retry-credential';
import { type SaidKey, said } from '../../core/text/said';
import type { LightningPayment, PaymentRecord, RailRecord } from '../../db/schema';
import { EXPIRY_MARGIN_SECONDS, failure, scaleTerms } from './shared';
import type { ChallengeContext, Detected, Outcome, Quote, QuoteRefusal } from './types';

/** What a person reads for a refusal before any quote: the precise English stays in the record. */
const PREFLIGHT_SAID: Record<PreflightCode, SaidKey> = {
  bad_invoice: 'refusedBadInvoice',
  no_amount: 'refusedNoAmount',
  wrong_network: 'refusedWrongNetwork',
  expired: 'refusedExpired',
  bad_macaroon: 'refusedBadMacaroon',
  hash_mismatch: 'refusedHashMismatch',
  amount_mismatch: 'refusedAmountMismatch',
};

const mppLightningOf = (detected: Detected) =>
  detected.filter(
    (d) => d.protocol === 'mpp' && d.challenge?.params.get('method')?.toLowerCase() === 'lightning',
  );

/** The record, as a Lightning charge (a method is only handed the records it wrote). */
export function lightningRecord(p: PaymentRecord): LightningPayment {
  if (p.kind === 'lightning') return p;
  throw new Error(`not a Lightning charge: ${p.kind}`);
}

export const offersLightning = (detected: Detected): boolean =>
  detected.some((d) => d.protocol === 'l402') || mppLightningOf(detected).length > 0;

export async function quoteLightning(ctx: ChallengeContext, rail: RailRecord): Promise<Quote | QuoteRefusal> {
  const { detected, protocols } = ctx;
  const mppLightning = mppLightningOf(detected);
  const opts = {
    network: rail.network,
    nowSeconds: Math.floor(ctx.nowMs / 1000),
    marginSeconds: EXPIRY_MARGIN_SECONDS,
  };
  let quote: L402Quote | MppLightningQuote;
  try {
    if (!protocols.includes('l402') && mppLightning.length === 0) {
      return { error: said('refusedNoLightning'), reason: said('refusedNoLightning') };
    }
    // A plan's period is only ever paid through MPP's `subscription` intent, never as a charge.
    const checked =
      protocols.includes('l402') && !ctx.subscription
        ? preflightL402(readL402Challenge(detected.flatMap((d) => (d.challenge ? [d.challenge] : []))), opts)
        : preflightMppLightning(
            readMppChallenge(
              mppLightning[0]!.challenge!,
              ctx.nowMs,
              ctx.bodySha256,
              ctx.subscription ? { intents: ['subscription'] } : {},
            ),
            opts,
          );
    if (!checked.ok) {
      return { error: checked.reason, shown: said(PREFLIGHT_SAID[checked.code]), reason: checked.reason };
    }
    quote = checked;
  } catch (e) {
    if (!(e instanceof L402ChallengeError) && !(e instanceof MppChallengeError)) throw e;
    return {
      error: e.message,
      shown: said('refusedChallenge', e.message),
      reason: said('refusedChallenge', e.message),
    };
  }
  let terms: Quote['terms'];
  let read: ReturnType<typeof readReviewTerms>;
  try {
    read =
      quote.kind === 'l402'
        ? readReviewTerms(quote.challenge.paybound, quote.amountMsat, ctx.url, ctx.origin, {
            rail: 'lightning',
            unit: { unit: 'msat' },
          })
        : readReviewTerms(quote.mpp.paybound, BigInt(quote.mpp.request.amount), ctx.url, ctx.origin, {
            rail: 'lightning',
            unit: { unit: 'sat' },
          });
    terms =
      quote.kind === 'l402'
        ? scaleTerms(read, 1n, quote.paymentHash, 'msat')
        : scaleTerms(read, 1000n, quote.paymentHash, 'sat');
  } catch (e) {
    if (!(e instanceof ReviewTermsError)) throw e;
    return { error: e.message, shown: said('refusedReviewTerms'), reason: e.message };
  }
  const q = quote;
  return {
    key: `ln:${q.paymentHash}`,
    payee: { kind: 'node', id: q.invoice.payee },
    ...(terms ? { terms } : {}),
    ...(read?.plans?.length && !ctx.subscription ? { plans: read.plans } : {}),
    ...(read?.overage ? { overage: read.overage } : {}),
    ...(read?.plansRefused && !ctx.subscription ? { plansRefused: read.plansRefused } : {}),
    part: (rate) => ({
      kind: 'lightning',
      amount: { unit: 'msat', value: q.amountMsat },
      challenge:
        q.kind === 'mpp'
          ? { protocol: 'mpp', mpp: q.mpp }
          : { protocol: 'l402', macaroon: q.challenge.macaroon, scheme: q.challenge.scheme },
      amountMinor: msatToMinor(q.amountMsat, rate),
      rate,
      ...(q.invoice.description !== undefined ? { description: q.invoice.description } : {}),
      expiresAt: q.invoice.expiresAt,
      lightning: { invoice: q.invoice.paymentRequest, paymentHash: q.paymentHash },
    }),
  };
}

/** The credential that proves this payment, in the protocol it was asked in (both use Authorization). */
export function lightningCredential(p: LightningPayment, preimage: string): RetryCredential {
  const c = p.challenge;
  return {
    header: 'Authorization',
    value:
      c.protocol === 'mpp'
        ? mppCredential(c.mpp, { preimage })
        : l402Credential(c.scheme, c.macaroon, preimage),
  };
}

/** A wallet's claim of payment: paid when the preimage matches the invoice, else a failed proof. */
export function proofOutcome(p: LightningPayment, preimage: string, nowMs: number): Outcome {
  const lightning = { ...p.lightning, preimage };
  if (!verifyPreimage(preimage, p.lightning.paymentHash)) {
    return {
      kind: 'proof_failed',
      patch: { lightning, failure: failure('bad_preimage', said('failureBadProof')) },
      dispute: 'the wallet returned a proof that does not match the invoice',
      reason: 'the wallet returned a wrong proof of payment; kept for a dispute',
    };
  }
  return {
    kind: 'paid',
    patch: { lightning, paidAt: nowMs },
    credential: lightningCredential(p, preimage),
    reason: 'paid',
  };
}

export function paidCredential(
  p: PaymentRecord,
): { credential: RetryCredential; reason: string } | undefined {
  return p.kind === 'lightning' && p.lightning.preimage
    ? { credential: lightningCredential(p, p.lightning.preimage), reason: 'already paid' }
    : undefined;
}
