/** Ledger records as the UI sees them: bigints become decimal strings (messages are JSON). */

import { X402_ASSETS } from '../../core/challenge/x402-assets';
import { msatToMinor } from '../../core/money/rates';
import { problemReason } from '../../core/payments/delivery';
import { cleanMerchantText } from '../../core/text/sanitize';
import type { ChallengeRecord, Delivery, DisputeRecord, PaymentRecord } from '../../db/schema';
import { x402Minor } from '../../db/transitions';
import type { ChallengeRecordView, DisputeView, PaymentView, QuoteView, X402View } from '../../messages/map';

/** An x402 charge's token, chain and payee, as the pages show them. */
function x402View(p: PaymentRecord): { x402?: X402View } {
  if (p.kind !== 'x402') return {};
  const asset = X402_ASSETS.find((a) => a.network === p.x402.network);
  return {
    x402: {
      scheme: p.x402.scheme,
      amount: p.amount.value.toString(),
      decimals: p.amount.decimals,
      symbol: p.amount.symbol,
      usdMinor: p.x402.usdMinor.toString(),
      networkName: asset?.networkName ?? p.x402.network,
      testnet: asset?.testnet ?? true,
      payTo: p.x402.payTo,
      ...(p.x402.payer ? { payer: p.x402.payer } : {}),
      ...(p.x402.settlement ? { transaction: p.x402.settlement.transaction } : {}),
    },
  };
}

/** An amount in the payment's own unit (msat, or minor units for a card) in the user's currency. */
function minorOf(p: PaymentRecord, native: bigint): bigint | undefined {
  if (p.kind === 'card') return native; // already minor units
  if (p.kind === 'x402') return x402Minor(p, native);
  return p.rate ? msatToMinor(native, p.rate) : undefined;
}

/** The view's sats: a card charge has none. */
const msatOf = (p: PaymentRecord): bigint => (p.kind === 'lightning' ? p.amount.value : 0n);

function estimateMinor(p: PaymentRecord): { estimateMinor?: { min: string; max: string } } {
  if (!p.estimate) return {};
  const min = minorOf(p, p.estimate.min);
  const max = p.amountMinor ?? minorOf(p, p.estimate.max);
  return min !== undefined && max !== undefined
    ? { estimateMinor: { min: min.toString(), max: max.toString() } }
    : {};
}

/** The app's words as a person may read them: cleaned, cut, and said when they were altered. */
function merchantText(raw: string | undefined): { description?: string; descriptionAltered?: boolean } {
  if (raw === undefined) return {};
  const clean = cleanMerchantText(raw);
  return { description: clean.text, ...(clean.altered ? { descriptionAltered: true } : {}) };
}

export function quoteView(
  p: PaymentRecord,
  now: number,
  currency: string,
  railKind: string,
  rails: QuoteView['rails'],
  consent: Pick<QuoteView, 'site' | 'topSite' | 'lookalike' | 'firstPayment' | 'payee' | 'autoOffer'>,
): QuoteView {
  return {
    id: p.id,
    origin: p.origin,
    ...consent,
    url: p.url,
    method: p.method,
    ...merchantText(p.description),
    kind: p.kind,
    amountMsat: msatOf(p).toString(),
    ...(p.amountMinor !== undefined ? { amountMinor: p.amountMinor.toString() } : {}),
    currency: p.rate?.currency ?? currency,
    ...x402View(p),
    ...(p.rate && p.kind === 'lightning'
      ? {
          rate: {
            minorPerBtc: p.rate.minorPerBtc.toString(),
            source: p.rate.source,
            ageMs: Math.max(0, now - p.rate.asOf),
            stale: now - p.rate.asOf > 6 * 60 * 60 * 1000,
          },
        }
      : {}),
    expiresAt: p.expiresAt,
    createdAt: p.createdAt,
    tier: p.tier === 'strong' || p.tier === 'overage' ? p.tier : 'confirm',
    ...estimateMinor(p),
    ...(p.review ? { reviewWindowMs: p.review.windowMs } : {}),
    railKind,
    railId: p.railId,
    rails,
    reasons: p.reasons,
    ...(p.reasonsSaid ? { reasonsSaid: p.reasonsSaid } : {}),
    budgets: p.budgetEffects.map((b) => ({
      label: b.label,
      limitMinor: b.limitMinor.toString(),
      afterMinor: b.afterMinor.toString(),
      overMinor: b.overMinor.toString(),
    })),
  };
}

export function paymentView(p: PaymentRecord, now: number = Date.now()): PaymentView {
  const s = p.settlement;
  const actualMinor = s?.actual !== undefined ? minorOf(p, s.actual) : undefined;
  // What came back, in the user's currency: what was charged less what is still spent.
  const refundedMinor =
    s && s.refunded > 0n && p.amountMinor !== undefined
      ? p.amountMinor - (minorOf(p, p.amount.value - s.refunded) ?? p.amountMinor)
      : undefined;
  return {
    id: p.id,
    ...(p.tabId !== undefined ? { tabId: p.tabId } : {}),
    ...(p.description !== undefined ? { description: cleanMerchantText(p.description).text } : {}),
    railId: p.railId,
    origin: p.origin,
    url: p.url,
    via: p.via,
    state: p.state,
    approval: p.approval,
    kind: p.kind,
    amountMsat: msatOf(p).toString(),
    ...x402View(p),
    ...(p.amountMinor !== undefined ? { amountMinor: p.amountMinor.toString() } : {}),
    ...(p.rate
      ? {
          currency: p.rate.currency,
          rate: { minorPerBtc: p.rate.minorPerBtc.toString(), source: p.rate.source, asOf: p.rate.asOf },
        }
      : p.kind === 'card'
        ? { currency: p.amount.currency }
        : p.kind === 'x402'
          ? { currency: 'usd' }
          : {}),
    paymentHash: p.kind === 'lightning' ? p.lightning.paymentHash : '',
    ...(p.failure ? { failure: p.failure } : {}),
    createdAt: p.createdAt,
    ...(p.paidAt !== undefined ? { paidAt: p.paidAt } : {}),
    ...estimateMinor(p),
    ...(p.review?.endsAt !== undefined ? { reviewEndsAt: p.review.endsAt } : {}),
    provisional: p.state === 'paid' && p.review?.endsAt !== undefined && now < p.review.endsAt,
    ...(actualMinor !== undefined ? { actualMinor: actualMinor.toString() } : {}),
    ...(refundedMinor !== undefined ? { refundedMinor: refundedMinor.toString() } : {}),
    ...(s?.pendingRefund ? { refundPending: true } : {}),
    ...(s?.note ? { settlementNote: s.note } : {}),
    ...(s?.noteSaid ? { settlementNoteSaid: s.noteSaid } : {}),
    ...(p.delivery?.refused
      ? { deliveredNothing: { status: p.delivery.status, by: p.delivery.by ?? 'page' } }
      : {}),
  };
}

export function challengeView(r: ChallengeRecord): ChallengeRecordView {
  return { ...r, id: r.id ?? 0 };
}

/** What a reviewer reads of the paid retry's response: who saw it, what it said of the payment. */
function deliveredView(x: Delivery): NonNullable<DisputeView['evidence']['delivered']> {
  const receipt = x.receipt?.reference ?? x.receipt?.raw;
  return {
    status: x.status,
    ...(x.sha256 !== undefined ? { sha256: x.sha256 } : {}),
    by: x.by ?? 'page',
    ...(x.refused ? { refused: true as const } : {}),
    ...(x.headers?.length ? { headers: x.headers } : {}),
    ...(receipt ? { receipt } : {}),
    ...(x.problem ? { problem: cleanMerchantText(problemReason(x.problem)).text } : {}),
  };
}

export function disputeView(d: DisputeRecord): DisputeView {
  return {
    id: d.id,
    paymentId: d.paymentId,
    origin: d.origin,
    reason: d.reason,
    ...(d.reasonSaid ? { reasonSaid: d.reasonSaid } : {}),
    ...(d.requestedMinor !== undefined ? { requestedMinor: d.requestedMinor.toString() } : {}),
    ...(d.evidence.amountMinor !== undefined ? { amountMinor: d.evidence.amountMinor.toString() } : {}),
    ...(d.evidence.currency !== undefined ? { currency: d.evidence.currency } : {}),
    status: d.status,
    timeline: d.timeline,
    openedAt: d.openedAt,
    ...(d.source ? { source: d.source } : {}),
    ...(d.answer ? { answer: d.answer } : {}),
    evidence: {
      url: d.evidence.url,
      ...(d.evidence.paidAt !== undefined ? { paidAt: d.evidence.paidAt } : {}),
      ...(d.evidence.proof?.preimage || d.evidence.proof?.receipt
        ? { proof: d.evidence.proof.preimage ?? d.evidence.proof.receipt }
        : {}),
      ...(d.evidence.delivery ? { delivered: deliveredView(d.evidence.delivery) } : {}),
    },
  };
}
