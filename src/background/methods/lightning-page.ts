/**
 * Lightning paid by the page's own wallet (`window.webln`, e.g. Alby): only the page's main world
 * can reach it, so the worker hands the invoice over and checks the proof the page reports.
 */
import { weblnPreimage } from '../../core/payments/page-wallet';
import { said } from '../../core/text/said';
import { cleanMerchantText } from '../../core/text/sanitize';
import { lightningRecord, offersLightning, paidCredential, proofOutcome, quoteLightning } from './lightning';
import { failure } from './shared';
import type { Outcome, PaymentMethod } from './types';

export const lightningPage: PaymentMethod = {
  kind: 'lightning-page',
  rails: ['webln'],
  challenge: 'lightning',
  unit: 'msat',
  // The wallet is the page's: there is nothing of it to unlock here.
  sealed: false,
  offered: offersLightning,
  quote: quoteLightning,

  pageWallet: 'webln',

  async pay(p): Promise<Outcome> {
    return {
      kind: 'handover',
      verdict: {
        action: 'pay-in-page',
        paymentId: p.id,
        wallet: 'webln',
        request: { method: 'sendPayment', params: [lightningRecord(p).lightning.invoice] },
        reason: 'pay with the wallet in this page',
      },
    };
  },

  credential: paidCredential,

  // Nobody but the page could say; the reservation stays and the payment shows as unknown.
  async reconcile(): Promise<Outcome> {
    return { kind: 'pending' };
  },

  fromPage(record, result, deps): Outcome {
    const p = lightningRecord(record);
    // A preimage is checked against the invoice's payment hash: a forged one is a failed proof.
    const preimage = weblnPreimage(result.answer);
    if (preimage !== undefined) return proofOutcome(p, preimage, deps.now());
    // No proof, and the page's word cannot release money: its wallet may have paid all the same.
    // Until the invoice can no longer be paid, the amount stays reserved (then `expire` settles it).
    const why =
      result.error ??
      (result.answer === undefined ? 'no reason given' : 'the wallet answered without a valid preimage');
    const until = new Date(p.expiresAt * 1000).toISOString();
    return {
      kind: 'unknown',
      failure: failure(
        'page_wallet_unconfirmed',
        said('failurePageWalletUnconfirmed', cleanMerchantText(why, 200).text, until),
      ),
      reason: 'the page wallet did not pay; the amount stays reserved until the invoice expires',
      wakeAt: p.expiresAt * 1000,
    };
  },
};
