/**
 * Checks an MPP challenge of the Lightning method before anything is paid: the request is in sats,
 * its invoice (methodDetails.invoice) decodes strictly, is for exactly the stated amount, for the
 * rail's network, and stays valid long enough — and so does the challenge itself.
 */
import type { MppChallenge } from '../challenge/mpp';
import { decodeInvoice, InvoiceError, isExpired } from '../lightning/bolt11';
import type { PreflightFailure, PreflightOptions } from './l402-preflight';

export interface MppLightningQuote {
  ok: true;
  kind: 'mpp';
  mpp: MppChallenge;
  invoice: ReturnType<typeof decodeInvoice>;
  amountMsat: bigint;
  paymentHash: string;
}

const failure = (code: PreflightFailure['code'], reason: string): PreflightFailure => ({
  ok: false,
  code,
  reason,
});

export function preflightMppLightning(
  c: MppChallenge,
  opts: PreflightOptions,
): MppLightningQuote | PreflightFailure {
  if (c.request.currency !== 'sat')
    return failure('amount_mismatch', `a Lightning charge must be in sats, not ${c.request.currency}`);
  const raw = c.request.methodDetails?.invoice;
  if (typeof raw !== 'string')
    return failure('bad_invoice', 'the Lightning payment request carries no invoice');
  let invoice: ReturnType<typeof decodeInvoice>;
  try {
    invoice = decodeInvoice(raw);
  } catch (e) {
    if (e instanceof InvoiceError) return failure('bad_invoice', `the invoice is invalid: ${e.message}`);
    throw e;
  }
  // The server checks the preimage against the hash it stated: a request stating another
  // invoice's hash would be paid and then refused.
  const stated = c.request.methodDetails?.paymentHash;
  if (stated !== undefined && (typeof stated !== 'string' || stated.toLowerCase() !== invoice.paymentHash))
    return failure('hash_mismatch', 'the payment request names a different payment than its invoice');
  if (invoice.amountMsat === null)
    return failure('no_amount', 'the invoice has no amount, so there is nothing to quote');
  if (invoice.amountMsat !== BigInt(c.request.amount) * 1000n) {
    return failure('amount_mismatch', 'the invoice amount differs from the price the app stated');
  }
  if (invoice.network !== opts.network) {
    return failure(
      'wrong_network',
      `the invoice is for ${invoice.network}, the wallet pays on ${opts.network}`,
    );
  }
  const nowMs = opts.nowSeconds * 1000;
  if (
    isExpired(invoice, opts.nowSeconds, opts.marginSeconds) ||
    (c.expiresAt !== undefined && c.expiresAt <= nowMs + opts.marginSeconds * 1000)
  ) {
    return failure('expired', 'the payment request has expired or expires too soon to approve and pay');
  }
  return {
    ok: true,
    kind: 'mpp',
    mpp: c,
    invoice,
    amountMsat: invoice.amountMsat,
    paymentHash: invoice.paymentHash,
  };
}
