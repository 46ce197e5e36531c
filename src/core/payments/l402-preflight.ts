/**
 * Checks an L402 challenge before anything is paid: the invoice decodes and is signed, carries an
 * amount, is for the rail's network, has not expired (with a margin for the time the user takes),
 * and is the invoice the macaroon unlocks. Any failure means: refuse, say why, charge nothing.
 */
import type { L402Challenge } from '../challenge/l402';
import {
  type BitcoinNetwork,
  type DecodedInvoice,
  decodeInvoice,
  InvoiceError,
  isExpired,
} from '../lightning/bolt11';
import { MacaroonError, macaroonIdentifier, parseL402Identifier } from '../macaroon/identifier';

export type PreflightCode =
  | 'bad_invoice'
  | 'no_amount'
  | 'wrong_network'
  | 'expired'
  | 'bad_macaroon'
  | 'hash_mismatch'
  | 'amount_mismatch';

export interface PreflightFailure {
  ok: false;
  code: PreflightCode;
  reason: string;
}

export interface L402Quote {
  ok: true;
  kind: 'l402';
  challenge: L402Challenge;
  invoice: DecodedInvoice;
  amountMsat: bigint;
  paymentHash: string;
  /** The L402 token id: with the payment hash, what makes this challenge unique. */
  tokenId: string;
}

export interface PreflightOptions {
  /** The network of the rail that would pay. */
  network: BitcoinNetwork;
  nowSeconds: number;
  /** The invoice must stay valid at least this long (time to approve and pay). */
  marginSeconds: number;
  /** When the app stated a price elsewhere (MPP `request.amount`), the invoice must match it. */
  expectedAmountMsat?: bigint;
}

const failure = (code: PreflightCode, reason: string): PreflightFailure => ({ ok: false, code, reason });

export function preflightL402(
  challenge: L402Challenge,
  opts: PreflightOptions,
): L402Quote | PreflightFailure {
  let invoice: DecodedInvoice;
  try {
    invoice = decodeInvoice(challenge.invoice);
  } catch (e) {
    if (e instanceof InvoiceError) return failure('bad_invoice', `the invoice is invalid: ${e.message}`);
    throw e;
  }
  if (invoice.amountMsat === null)
    return failure('no_amount', 'the invoice has no amount, so there is nothing to quote');
  if (invoice.network !== opts.network) {
    return failure(
      'wrong_network',
      `the invoice is for ${invoice.network}, the wallet pays on ${opts.network}`,
    );
  }
  if (isExpired(invoice, opts.nowSeconds, opts.marginSeconds)) {
    return failure('expired', 'the invoice has expired or expires too soon to approve and pay');
  }
  if (opts.expectedAmountMsat !== undefined && opts.expectedAmountMsat !== invoice.amountMsat) {
    return failure('amount_mismatch', 'the invoice amount differs from the price the app stated');
  }
  let id: ReturnType<typeof parseL402Identifier>;
  try {
    id = parseL402Identifier(macaroonIdentifier(challenge.macaroon));
  } catch (e) {
    if (e instanceof MacaroonError)
      return failure('bad_macaroon', `the macaroon is unreadable: ${e.message}`);
    throw e;
  }
  if (id.paymentHash !== invoice.paymentHash) {
    return failure('hash_mismatch', 'the macaroon is for a different payment than the invoice');
  }
  return {
    ok: true,
    kind: 'l402',
    challenge,
    invoice,
    amountMsat: invoice.amountMsat,
    paymentHash: invoice.paymentHash,
    tokenId: id.tokenId,
  };
}
