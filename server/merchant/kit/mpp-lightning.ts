// The MPP `lightning` method, charge intent (draft-lightning-charge): the challenge carries a fresh
// BOLT11 invoice; the credential carries its preimage.
//
//   request = {amount: "<sats>", currency: "sat", description,
//              methodDetails: {invoice, paymentHash, network?}}
//   payload = {preimage: "<64 lowercase hex>"}
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { InvoiceBackend } from './lnbits-client';
import { MSAT_PER_SAT, toMsat } from './money';
import type { MppMethod, MppVerdict } from './mpp-method';

export const LIGHTNING_METHOD = 'lightning';

export interface LightningMethodOptions<B> {
  wallet: InvoiceBackend;
  /** The price in msat (whole sats: LNbits invoices whole sats); 0: not offered. */
  priceMsat(req: IncomingMessage, body: B): bigint | number;
}

function networkOf(invoice: string): string | undefined {
  const prefix = /^ln(bcrt|tbs|tb|bc)/i.exec(invoice)?.[1]?.toLowerCase();
  return prefix === 'bcrt'
    ? 'regtest'
    : prefix === 'tbs'
      ? 'signet'
      : prefix === 'bc'
        ? 'mainnet'
        : undefined;
}

export function lightningMethod<B>(options: LightningMethodOptions<B>): MppMethod<B> {
  return {
    name: LIGHTNING_METHOD,
    // An estimate in msat becomes whole sats, rounded down (the price is whole sats already).
    review: { proof: 'lightning', minimumFromMsat: (msat) => msat / MSAT_PER_SAT },
    async offer({ req, body, description, lifetimeSeconds }) {
      const msat = toMsat(options.priceMsat(req, body), 'price');
      if (msat === 0n || msat % MSAT_PER_SAT !== 0n) return null;
      // The invoice must outlive the challenge (the draft: expires ≤ the invoice's expiry).
      const invoice = await options.wallet.createInvoice({
        amountMsat: msat,
        memo: description.slice(0, 200),
        expirySeconds: lifetimeSeconds + 60,
      });
      const network = networkOf(invoice.paymentRequest);
      return {
        amount: (msat / MSAT_PER_SAT).toString(),
        currency: 'sat',
        description,
        methodDetails: {
          invoice: invoice.paymentRequest,
          paymentHash: invoice.paymentHash,
          ...(network ? { network } : {}),
        },
      };
    },
    async verify({ request, payload, req, body }): Promise<MppVerdict> {
      const preimage = payload.preimage;
      if (typeof preimage !== 'string' || !/^[0-9a-f]{64}$/.test(preimage)) {
        return { ok: false, code: 'invalid-payload', reason: 'preimage must be 64 lowercase hex characters' };
      }
      const details = request.methodDetails;
      const hash =
        typeof details === 'object' && details !== null
          ? (details as Record<string, unknown>).paymentHash
          : undefined;
      if (typeof hash !== 'string' || typeof request.amount !== 'string' || !/^\d+$/.test(request.amount)) {
        return { ok: false, code: 'invalid-challenge', reason: 'the challenge carries no payment hash' };
      }
      if (createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') !== hash) {
        return { ok: false, code: 'verification-failed', reason: 'sha256(preimage) is not the payment hash' };
      }
      // The preimage proves payment; asking the wallet as well catches a leaked preimage (LnbitsError
      // propagates: the paywall answers 503).
      const status = await options.wallet.getPayment(hash);
      if (!status.paid)
        return { ok: false, code: 'verification-failed', reason: 'the invoice is not settled' };
      const paid = BigInt(request.amount);
      const due = toMsat(options.priceMsat(req, body), 'price') / MSAT_PER_SAT;
      if (due > paid) {
        return {
          ok: false,
          code: 'payment-insufficient',
          reason: `this request costs ${due} sat, ${paid} were paid`,
        };
      }
      return { ok: true, amount: paid, due, currency: 'sat', reference: hash, chargeId: hash };
    },
  };
}
