/**
 * A Lightning rail: something that pays BOLT11 invoices, behind the WebLN `sendPayment` shape.
 */

import type { SendPaymentResponse } from '@webbtc/webln-types';
import type { BitcoinNetwork } from '../../../core/lightning/bolt11';
import { type Said, SaidError } from '../../../core/text/said';

export type RailErrorCode =
  /** The wallet said no before paying: nothing left the wallet. */
  | 'insufficient_balance'
  | 'route_failure'
  | 'wallet_error'
  | 'unreachable'
  /** No answer in time: the payment may or may not have happened; ask the wallet later. */
  | 'timeout'
  /** The wallet's secret is sealed and Paybound is locked. */
  | 'locked';

/** A wallet's failure: a code for the flow, and a Said for the person (the English is its message). */
export class RailError extends SaidError {
  constructor(
    readonly code: RailErrorCode,
    said: Said,
  ) {
    // A locked Paybound is a matter of the user's password; anything else, of the wallet.
    super(said, code === 'locked' ? 'auth' : 'bad_message');
    this.name = 'RailError';
  }
}

/** Refund invoices stay payable for a week: an app may queue a refund for a person to review. */
export const REFUND_INVOICE_EXPIRY_SECONDS = 7 * 24 * 3600;

export type PaymentLookup =
  | { status: 'paid'; preimage: string }
  | { status: 'pending' }
  | { status: 'failed' }
  | { status: 'not_found' };

export interface LightningRail {
  readonly id: string;
  readonly network: BitcoinNetwork;
  sendPayment(invoice: string): Promise<SendPaymentResponse>;
  /** What the wallet knows of a payment, to settle one whose outcome was lost. */
  lookup(paymentHash: string): Promise<PaymentLookup>;
  /** The wallet's balance in msat ("test connection" on the settings page). */
  balance(): Promise<bigint>;
  /**
   * An invoice the wallet will be paid to (a refund); whole sats, as every wallet takes them, and
   * payable for REFUND_INVOICE_EXPIRY_SECONDS.
   */
  makeInvoice(amountMsat: bigint, memo: string): Promise<{ paymentRequest: string; paymentHash: string }>;
  /** Whether an invoice this wallet made has been paid. */
  received(paymentHash: string): Promise<boolean>;
}
