/**
 * Nostr Wallet Connect (NIP-47) rail: `pay_invoice` and `lookup_invoice` sent to the user's wallet
 * service over a Nostr relay with @getalby/sdk's NWCClient, from the worker. The sdk's errors are
 * told apart by `code` (and a few fixed messages): a minified build renames its error classes.
 * Any answer that may follow a payment the wallet went through with is a `timeout`, to reconcile.
 */
import { NWCClient } from '@getalby/sdk/nwc';
import type { SendPaymentResponse } from '@webbtc/webln-types';
import { isNwcUri } from '../../../core/config/rails';
import { said } from '../../../core/text/said';
import type { RailRecord } from '../../../db/schema';
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
const clients = new Map<string, { uri: string; client: NWCClient }>();

function clientFor(railId: string, uri: string): NWCClient {
  const cached = clients.get(railId);
  if (cached?.uri === uri) return cached.client;
  cached?.client.close();
  const invalid = () => new RailError('wallet_error', said('walletBadUri'));
  // The sdk parses the string without checking it (a missing secret fails only at the first
  // request): the wallet key, relay and secret are checked here.
  if (!isNwcUri(uri)) throw invalid();
  let client: NWCClient;
  try {
    client = new NWCClient({ nostrWalletConnectUrl: uri });
  } catch {
    // The sdk's message may quote the URI, and the URI holds the secret.
    throw invalid();
  }
  clients.set(railId, { uri, client });
  return client;
}

function dropClient(railId: string, client: NWCClient): void {
  if (clients.get(railId)?.client !== client) return;
  clients.delete(railId);
  client.close();
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
    const client = clientFor(this.id, this.uri);
    let preimage: unknown;
    try {
      ({ preimage } = await this.bounded(client, client.payInvoice({ invoice }), this.payTimeoutMs));
    } catch (e) {
      throw toRailError(e);
    }
    // Only the shape is checked here; the caller checks it against the payment hash.
    if (typeof preimage === 'string' && HEX32.test(preimage)) return { preimage: preimage.toLowerCase() };
    throw new RailError('timeout', said('walletBadProof'));
  }

  async lookup(paymentHash: string): Promise<PaymentLookup> {
    const client = clientFor(this.id, this.uri);
    let tx: Awaited<ReturnType<NWCClient['lookupInvoice']>>;
    try {
      tx = await this.bounded(
        client,
        client.lookupInvoice({ payment_hash: paymentHash.toLowerCase() }),
        this.lookupTimeoutMs,
      );
    } catch (e) {
      if (errorCode(e) === 'NOT_FOUND') return { status: 'not_found' };
      throw toRailError(e);
    }
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
    const client = clientFor(this.id, this.uri);
    try {
      const tx = await this.bounded(
        client,
        client.makeInvoice({
          amount: Number((amountMsat / 1000n) * 1000n),
          description: memo.slice(0, 200),
          expiry: REFUND_INVOICE_EXPIRY_SECONDS,
        }),
        this.lookupTimeoutMs,
      );
      if (typeof tx.invoice !== 'string' || typeof tx.payment_hash !== 'string')
        throw new RailError('wallet_error', said('walletNoInvoice'));
      return { paymentRequest: tx.invoice, paymentHash: tx.payment_hash.toLowerCase() };
    } catch (e) {
      throw toRailError(e);
    }
  }

  async received(paymentHash: string): Promise<boolean> {
    const client = clientFor(this.id, this.uri);
    try {
      const tx = await this.bounded(
        client,
        client.lookupInvoice({ payment_hash: paymentHash.toLowerCase() }),
        this.lookupTimeoutMs,
      );
      return tx.type === 'incoming' && tx.state === 'settled';
    } catch (e) {
      if (errorCode(e) === 'NOT_FOUND') return false;
      throw toRailError(e);
    }
  }

  async balance(): Promise<bigint> {
    const client = clientFor(this.id, this.uri);
    try {
      const { balance } = await this.bounded(client, client.getBalance(), this.lookupTimeoutMs);
      return BigInt(balance);
    } catch (e) {
      throw toRailError(e);
    }
  }

  /** Our own deadline: the sdk waits 60 s for a silent wallet, and keeps waiting after we give up. */
  private async bounded<T>(client: NWCClient, work: Promise<T>, ms: number): Promise<T> {
    work.catch(() => {}); // a late rejection, after the deadline, is nobody's to handle
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // The connection may be dead without a close: let the next call start afresh.
        dropClient(this.id, client);
        reject(new RailError('timeout', said('walletTimeout')));
      }, ms);
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  return typeof e.code === 'string' ? e.code : undefined;
}

function toRailError(e: unknown): RailError {
  if (e instanceof RailError) return e;
  const message = e instanceof Error ? e.message : String(e);
  switch (errorCode(e)) {
    case 'INSUFFICIENT_BALANCE':
    case 'QUOTA_EXCEEDED':
      return new RailError('insufficient_balance', said('walletRefused', message));
    case 'PAYMENT_FAILED':
      if (/timed? ?out/i.test(message)) return new RailError('timeout', said('walletTimedOut', message));
      if (/route/i.test(message)) return new RailError('route_failure', said('walletNoRoute', message));
      return new RailError('wallet_error', said('walletFailed', message));
    case 'INTERNAL':
      // The sdk's own code for publish and reply timeouts and unreadable answers: the request may
      // have reached the wallet. (A wallet's own INTERNAL lands here too; a lookup settles it.)
      return new RailError('timeout', said('walletUnclear', message));
    case 'OTHER':
      // Nip47NetworkError: no connection to the relay, nothing was sent.
      if (message.startsWith('Failed to connect')) {
        return new RailError('unreachable', said('walletRelayUnreachable'));
      }
      return new RailError('wallet_error', said('walletRefused', message));
    case undefined:
      // Raised before the request went out; the only known one: the relay holds no info event
      // of the wallet (it never published one there).
      if (/info event/i.test(message)) return new RailError('unreachable', said('walletNotOnRelay'));
      return new RailError('wallet_error', said('walletNwcFailed', message));
    default:
      return new RailError('wallet_error', said('walletRefused', message));
  }
}
