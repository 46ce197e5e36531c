// The NWC (NIP-47) face of the Lightning stand-in: one wallet of a LightningNode served over a
// relay with @getalby/sdk's NWCWalletService, for one client connection. Failures injected into the
// node (injectFailure) show up here as the wallet errors a real NWC wallet would send.

import type {
  Nip47SingleMethod,
  Nip47Transaction,
  NWCWalletService,
  NWCWalletServiceRequestHandler,
  NWCWalletServiceRequestHandlerError,
} from '@getalby/sdk/nwc';
import { bytesToHex } from '@noble/hashes/utils.js';
import { generateSecretKey, getPublicKey } from 'nostr-tools';
import { WebSocket as WsWebSocket } from 'ws';
import { decodeInvoice } from '../../../src/core/lightning/bolt11';
import { type LightningNode, type PayErrorCode, type Payment, PaymentError } from '../lightning/node';

export interface NwcWalletServiceOptions {
  relayUrl: string;
  node: LightningNode;
  /** The node wallet this connection spends from. */
  walletId: string;
}

export interface NwcWalletService {
  /** nostr+walletconnect://<wallet pubkey>?relay=<url>&secret=<client secret>: what a user pastes. */
  connectionUri: string;
  walletPubkey: string;
  close(): Promise<void>;
}

const METHODS: Nip47SingleMethod[] = [
  'pay_invoice',
  'get_balance',
  'get_info',
  'lookup_invoice',
  'make_invoice',
];

type Reply<T> = Promise<{ result: T | undefined; error: NWCWalletServiceRequestHandlerError }>;

const ok = <T>(result: T) => ({ result, error: undefined });
const fail = (code: string, message: string) => ({ result: undefined, error: { code, message } });

/** NIP-47 error code for a refused or failed payment. */
const NIP47_CODE: Record<PayErrorCode, string> = {
  insufficient_balance: 'INSUFFICIENT_BALANCE',
  no_route: 'PAYMENT_FAILED',
  timeout: 'PAYMENT_FAILED',
  expired: 'PAYMENT_FAILED',
  already_paid: 'PAYMENT_FAILED',
  cancelled: 'PAYMENT_FAILED',
  unknown_invoice: 'PAYMENT_FAILED',
  invalid_invoice: 'OTHER',
  amount_required: 'OTHER',
  invalid_amount: 'OTHER',
  wrong_network: 'OTHER',
  unknown_wallet: 'INTERNAL',
};

export async function startNwcWalletService(opts: NwcWalletServiceOptions): Promise<NwcWalletService> {
  const { node, relayUrl } = opts;
  const wallet = node.wallet(opts.walletId);
  if (!wallet) throw new Error(`unknown wallet "${opts.walletId}"`);
  const walletId = wallet.id;

  // nostr-tools (inside the sdk) reads the global WebSocket, which Node 20 lacks; the sdk is loaded
  // only once it is set.
  if (typeof globalThis.WebSocket === 'undefined') Object.assign(globalThis, { WebSocket: WsWebSocket });
  const { NWCWalletService, NWCWalletServiceKeyPair } = await import('@getalby/sdk/nwc');

  const walletSecret = bytesToHex(generateSecretKey());
  const clientKey = generateSecretKey();
  const keypair = new NWCWalletServiceKeyPair(walletSecret, getPublicKey(clientKey));
  const service = new NWCWalletService({ relayUrl });

  const handlers = walletHandlers(node, walletId);
  let unsubscribe: (() => void) | undefined;
  try {
    // subscribe() connects from a loop of its own that retries a failed connection every second
    // and only logs the failure: connecting first makes a relay that is not there an error here.
    await service.relay.connect();
    unsubscribe = await service.subscribe(keypair, handlers);
    // subscribe() resolves before its REQ is sent (that loop subscribes in a later turn). The REQ
    // goes out as the subscription is registered on the connection, and frames on one connection
    // arrive in order: when the relay accepts the info event published after it, it has the
    // subscription. Clients read the info event before their first request, so none can come
    // before the wallet listens.
    const listening = () =>
      [...service.relay.openSubs.values()].some((s) =>
        s.filters.some((f) => f.kinds?.includes(23194) && f['#p']?.includes(keypair.walletPubkey)),
      );
    for (let turn = 0; !listening(); turn++) {
      if (turn > 1000) throw new Error('the NWC wallet service did not subscribe on the relay');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await service.publishWalletServiceInfoEvent(walletSecret, METHODS, []);
  } catch (e) {
    stop(service, unsubscribe);
    throw e;
  }

  const connectionUri = `nostr+walletconnect://${keypair.walletPubkey}?relay=${encodeURIComponent(relayUrl)}&secret=${bytesToHex(clientKey)}`;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stop(service, unsubscribe);
  };
  return { connectionUri, walletPubkey: keypair.walletPubkey, close };
}

/** Ends the subscription and closes the connection. */
function stop(service: NWCWalletService, unsubscribe: (() => void) | undefined): void {
  unsubscribe?.();
  // The subscribe loop still watches the connection until its next turn, and would log this close
  // as a lost relay.
  service.relay.onclose = null;
  service.close();
}

/** The NIP-47 methods, answered from the node. Handlers never throw: a throw leaves the client waiting. */
function walletHandlers(node: LightningNode, walletId: string): NWCWalletServiceRequestHandler {
  const guard = async <T>(work: () => Reply<T>): Reply<T> => {
    try {
      return await work();
    } catch (e) {
      if (e instanceof PaymentError) return fail(NIP47_CODE[e.code], e.message);
      return fail('INTERNAL', e instanceof Error ? e.message : String(e));
    }
  };

  return {
    getInfo: () =>
      guard(async () =>
        ok({
          alias: 'Paybound stand-in',
          color: '#f7931a',
          pubkey: node.pubkey,
          network: node.network,
          block_height: 0,
          block_hash: '00'.repeat(32),
          methods: METHODS,
          notifications: [],
        }),
      ),

    getBalance: () =>
      guard(async () => ok({ balance: msatNumber(requireWallet(node, walletId).balanceMsat) })),

    payInvoice: (request) =>
      guard(async () => {
        const params = request as Partial<typeof request> | undefined;
        if (typeof params?.invoice !== 'string') return fail('OTHER', 'pay_invoice needs an invoice');
        let amountMsat: bigint | undefined;
        if (params.amount !== undefined) {
          if (!Number.isSafeInteger(params.amount) || params.amount <= 0) {
            return fail('OTHER', 'amount must be a positive integer (msat)');
          }
          amountMsat = BigInt(params.amount);
        }
        const payment = await node.payInvoice(
          walletId,
          params.invoice,
          amountMsat === undefined ? {} : { amountMsat },
        );
        if (!payment.preimage) return fail('INTERNAL', 'the node settled without a preimage');
        return ok({ preimage: payment.preimage, fees_paid: msatNumber(payment.feeMsat) });
      }),

    lookupInvoice: (request) =>
      guard(async () => {
        const params = request as Partial<typeof request> | undefined;
        let hash = params?.payment_hash;
        if (hash === undefined && typeof params?.invoice === 'string') {
          try {
            hash = decodeInvoice(params.invoice).paymentHash;
          } catch {
            return fail('OTHER', 'invoice could not be decoded');
          }
        }
        if (typeof hash !== 'string') return fail('OTHER', 'lookup_invoice needs payment_hash or invoice');
        const wanted = hash.toLowerCase();
        // Newest first; a success outranks later failed attempts (e.g. paying an already paid invoice).
        const mine = node.payments(walletId).filter((p) => p.paymentHash === wanted);
        const payment = mine.find((p) => p.status === 'success') ?? mine[0];
        if (!payment) return fail('NOT_FOUND', 'invoice not found');
        return ok(toTransaction(node, payment));
      }),

    makeInvoice: (request) =>
      guard(async () => {
        const params = request as Partial<typeof request> | undefined;
        const amount = params?.amount ?? 0;
        if (!Number.isSafeInteger(amount) || amount < 0)
          return fail('OTHER', 'amount must be an integer (msat)');
        const expiry = params?.expiry;
        if (expiry !== undefined && (!Number.isSafeInteger(expiry) || expiry <= 0)) {
          return fail('OTHER', 'expiry must be a positive integer (seconds)');
        }
        const invoice = node.createInvoice(walletId, {
          amountMsat: amount === 0 ? null : BigInt(amount),
          ...(typeof params?.description === 'string' ? { memo: params.description } : {}),
          ...(typeof params?.description_hash === 'string'
            ? { descriptionHash: params.description_hash }
            : {}),
          ...(expiry !== undefined ? { expirySeconds: expiry } : {}),
        });
        const payment = node.payment(invoice.paymentHash, walletId);
        if (!payment) return fail('INTERNAL', 'the node lost the invoice it made');
        return ok(toTransaction(node, payment));
      }),
  };
}

function requireWallet(node: LightningNode, walletId: string) {
  const wallet = node.wallet(walletId);
  if (!wallet) throw new PaymentError('unknown_wallet', `Could not fetch wallet '${walletId}'.`);
  return wallet;
}

/** NIP-47 amounts are msat JSON numbers; refuse to round. */
function msatNumber(msat: bigint): number {
  const n = Number(msat < 0n ? -msat : msat);
  if (!Number.isSafeInteger(n)) throw new Error('amount does not fit a JSON number');
  return n;
}

function toTransaction(node: LightningNode, p: Payment): Nip47Transaction {
  const invoice = node.invoice(p.paymentHash);
  const settled = p.status === 'success';
  const state = p.status === 'success' ? 'settled' : p.status;
  const settledAt = p.incoming ? invoice?.settledAt : Math.floor(p.time / 1000);
  return {
    type: p.incoming ? 'incoming' : 'outgoing',
    state,
    invoice: p.bolt11,
    description: p.memo,
    description_hash: invoice?.descriptionHash ?? '',
    preimage: p.preimage ?? '',
    payment_hash: p.paymentHash,
    amount: msatNumber(p.amountMsat),
    fees_paid: msatNumber(p.feeMsat),
    created_at: Math.floor(p.time / 1000),
    expires_at: p.expiry ?? 0,
    settled_at: settled ? (settledAt ?? 0) : 0,
  };
}
