/**
 * Nostr Wallet Connect (NIP-47) rail: `pay_invoice`, `lookup_invoice`, `make_invoice` and
 * `get_balance` sent to the user's wallet service over a Nostr relay (`nwc-client.ts`), from the
 * worker. Any answer that may follow a payment the wallet went through with is a `timeout`, to
 * reconcile.
 */
import type { SendPaymentResponse } from '@webbtc/webln-types';
import { isNwcUri } from '../../../core/config/rails';
import { said } from '../../../core/text/said';
import type { RailRecord } from '../../../db/schema';
import { NwcClient, NwcError, parseNwcUri } from './nwc-client';
import { type LightningRail, type PaymentLookup, RailError, REFUND_INVOICE_EXPIRY_SECONDS } from './types';

const PAY_TIMEOUT_MS = 30_000;
const LOOKUP_TIMEOUT_MS = 10_000;

const HEX32 = /^[0-9a-f]{64}$/i;

export interface NwcRailOptions {
  /** How long a payment may take before its outcome counts as unknown. Default 30 s. */
  payTimeoutMs?: number;
  lookupTimeoutMs?: number;
}

// One client per connection while the worker lives: each new one reconnects and re-reads the
// wallet's info event. A restarted worker starts with an empty cache.
const clients = new Map<string, { uri: string; client: NwcClient }>();

function clientFor(railId: string, uri: string): NwcClient {
  const cached = clients.get(railId);
  if (cached?.uri === uri) return cached.client;
  cached?.client.close();
  // The wallet key, relay and secret are checked before anything connects; the message never
  // quotes the string, which holds the secret.
  if (!isNwcUri(uri)) throw new RailError('wallet_error', said('walletBadUri'));
  const client = new NwcClient(parseNwcUri(uri));
  clients.set(railId, { uri, client });
  return client;
}

/** Closes every cached NWC client (tests; a rail being unlinked). */
export function closeNwcClients(): void {
  for (const { client } of clients.values()) client.close();
  clients.clear();
}

export class NwcRail implements LightningRail {
  readonly id: string;
  readonly network: RailRecord['network'];
  private readonly uri: string;
  private readonly payTimeoutMs: number;
  private readonly lookupTimeoutMs: number;

  constructor(record: Extract<RailRecord, { kind: 'nwc' }>, options: NwcRailOptions = {}) {
    this.id = record.id;
    this.network = record.network;
    this.uri = record.config.uri;
    this.payTimeoutMs = options.payTimeoutMs ?? PAY_TIMEOUT_MS;
    this.lookupTimeoutMs = options.lookupTimeoutMs ?? LOOKUP_TIMEOUT_MS;
  }

  async sendPayment(invoice: string): Promise<SendPaymentResponse> {
    const { preimage } = await this.call('pay_invoice', { invoice }, this.payTimeoutMs);
    // Only the shape is checked here; the caller checks it against the payment hash.
    if (typeof preimage === 'string' && HEX32.test(preimage)) return { preimage: preimage.toLowerCase() };
    throw new RailError('timeout', said('walletBadProof'));
  }

  async lookup(paymentHash: string): Promise<PaymentLookup> {
    const tx = await this.lookupInvoice(paymentHash);
    if (!tx) return { status: 'not_found' };
    // An invoice of the user's own wallet being paid is not a payment the user made.
    if (tx.type === 'incoming') return { status: 'not_found' };
    if (typeof tx.payment_hash === 'string' && tx.payment_hash.toLowerCase() !== paymentHash.toLowerCase()) {
      throw new RailError('wallet_error', said('walletOtherPayment'));
    }
    if (tx.state === 'settled' && typeof tx.preimage === 'string' && HEX32.test(tx.preimage)) {
      return { status: 'paid', preimage: tx.preimage.toLowerCase() };
    }
    if (tx.state === 'failed') return { status: 'failed' };
    return { status: 'pending' };
  }

  async makeInvoice(
    amountMsat: bigint,
    memo: string,
  ): Promise<{ paymentRequest: string; paymentHash: string }> {
    const tx = await this.call(
      'make_invoice',
      {
        amount: Number((amountMsat / 1000n) * 1000n),
        description: memo.slice(0, 200),
        expiry: REFUND_INVOICE_EXPIRY_SECONDS,
      },
      this.lookupTimeoutMs,
    );
    if (typeof tx.invoice !== 'string' || typeof tx.payment_hash !== 'string')
      throw new RailError('wallet_error', said('walletNoInvoice'));
    return { paymentRequest: tx.invoice, paymentHash: tx.payment_hash.toLowerCase() };
  }

  async received(paymentHash: string): Promise<boolean> {
    const tx = await this.lookupInvoice(paymentHash);
    return tx?.type === 'incoming' && tx.state === 'settled';
  }

  async balance(): Promise<bigint> {
    const { balance } = await this.call('get_balance', {}, this.lookupTimeoutMs);
    if (typeof balance !== 'number' || !Number.isSafeInteger(balance) || balance < 0)
      throw new RailError('wallet_error', said('walletNwcFailed', 'no balance in the answer'));
    return BigInt(balance);
  }

  /** The wallet's record of one invoice, or `undefined` when it knows none. */
  private async lookupInvoice(paymentHash: string): Promise<Record<string, unknown> | undefined> {
    const params = { payment_hash: paymentHash.toLowerCase() };
    try {
      return await clientFor(this.id, this.uri).request('lookup_invoice', params, this.lookupTimeoutMs);
    } catch (e) {
      if (e instanceof NwcError && e.code === 'NOT_FOUND') return undefined;
      throw toRailError(e);
    }
  }

  private async call(
    method: string,
    params: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    try {
      return await clientFor(this.id, this.uri).request(method, params, timeoutMs);
    } catch (e) {
      throw toRailError(e);
    }
  }
}

function toRailError(e: unknown): RailError {
  if (e instanceof RailError) return e;
  if (!(e instanceof NwcError)) {
    return new RailError('wallet_error', said('walletNwcFailed', e instanceof Error ? e.message : String(e)));
  }
  const { message } = e;
  switch (e.failure) {
    case 'unreachable':
      return new RailError('unreachable', said('walletRelayUnreachable'));
    case 'not_on_relay':
      return new RailError('unreachable', said('walletNotOnRelay'));
    case 'unclear':
      // The request may have reached the wallet: a lookup settles it.
      return message === 'the wallet did not answer in time'
        ? new RailError('timeout', said('walletTimeout'))
        : new RailError('timeout', said('walletUnclear', message));
  }
  switch (e.code) {
    case 'INSUFFICIENT_BALANCE':
    case 'QUOTA_EXCEEDED':
      return new RailError('insufficient_balance', said('walletRefused', message));
    case 'PAYMENT_FAILED':
      if (/timed? ?out/i.test(message)) return new RailError('timeout', said('walletTimedOut', message));
      if (/route/i.test(message)) return new RailError('route_failure', said('walletNoRoute', message));
      return new RailError('wallet_error', said('walletFailed', message));
    case 'INTERNAL':
      // The wallet's own trouble, which may come after it went through with a payment.
      return new RailError('timeout', said('walletUnclear', message));
    default:
      return new RailError('wallet_error', said('walletRefused', message));
  }
}
