/** Nostr Wallet Connect (NIP-47) rail: placeholder until the NWC rail is written. */
import type { SendPaymentResponse } from '@webbtc/webln-types';
import type { RailRecord } from '../../../db/schema';
import { type LightningRail, type PaymentLookup, RailError } from './types';

export class NwcRail implements LightningRail {
  readonly id: string;
  readonly network: RailRecord['network'];

  constructor(record: Extract<RailRecord, { kind: 'nwc' }>) {
    this.id = record.id;
    this.network = record.network;
  }

  async sendPayment(_invoice: string): Promise<SendPaymentResponse> {
    throw new RailError('wallet_error', 'NWC is not available yet');
  }

  async lookup(_paymentHash: string): Promise<PaymentLookup> {
    return { status: 'not_found' };
  }
}
