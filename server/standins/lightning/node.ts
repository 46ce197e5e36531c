// A Lightning node stand-in: one secp256k1 node key, custodial wallets with msat balances, real
// signed regtest BOLT11 invoices, and payments settled between its own wallets (anything else has
// "no route", as a node without channels would say). Failures can be injected per wallet.
import { createHash, randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { encode, type PaymentRequestObject, sign } from 'bolt11';
import { type DecodedInvoice, decodeInvoice, isExpired } from '../../../src/core/lightning/bolt11';

/** bitcoinjs-style network object for regtest, as the `bolt11` encoder wants it. */
export const REGTEST_NETWORK = {
  bech32: 'bcrt',
  pubKeyHash: 0x6f,
  scriptHash: 0xc4,
  validWitnessVersions: [0, 1],
};

export const DEFAULT_EXPIRY_SECONDS = 3600;
export const DEFAULT_MIN_FINAL_CLTV = 18;
// The spec's limit for a `d` field (1023 five-bit words).
const MAX_DESCRIPTION_BYTES = 639;

export interface Wallet {
  id: string;
  name: string;
  adminKey: string;
  invoiceKey: string;
  balanceMsat: bigint;
}

export type InvoiceState = 'open' | 'settled' | 'cancelled' | 'expired';

export interface Invoice {
  paymentHash: string;
  preimage: string;
  paymentSecret: string;
  bolt11: string;
  walletId: string;
  /** null: amountless invoice. */
  amountMsat: bigint | null;
  memo: string;
  descriptionHash?: string;
  /** Unix seconds. */
  createdAt: number;
  expiresAt: number;
  settledAt?: number;
  paidMsat?: bigint;
  cancelled: boolean;
}

/** LNbits' words for a payment's state. */
export type PaymentStatus = 'pending' | 'success' | 'failed';

export interface Payment {
  checkingId: string;
  paymentHash: string;
  walletId: string;
  /** Signed as LNbits does: positive incoming, negative outgoing. */
  amountMsat: bigint;
  feeMsat: bigint;
  bolt11: string;
  memo: string;
  status: PaymentStatus;
  /** Known to the payer once paid; to the payee once settled. */
  preimage: string | null;
  /** Unix milliseconds. */
  time: number;
  /** Invoice expiry, unix seconds. */
  expiry: number | null;
  incoming: boolean;
}

/**
 * `hold`: the payment waits, in flight, until `releaseHeld()`, then goes through normally; for
 * testing what happens when the payer disappears while its wallet is paying.
 * `late_answer`: the payment goes through at once (a lookup shows it paid), but the answer to the
 * caller waits until `releaseHeld()`: a wallet that pays and answers late.
 */
export type FailureMode =
  | 'insufficient_balance'
  | 'timeout'
  | 'route_failure'
  | 'wrong_preimage'
  | 'hold'
  | 'late_answer';
export const FAILURE_MODES: readonly FailureMode[] = [
  'insufficient_balance',
  'timeout',
  'route_failure',
  'wrong_preimage',
  'hold',
  'late_answer',
];

export interface FailureSpec {
  mode: FailureMode;
  /** How many of the next outgoing payments fail this way; default 1. */
  count?: number;
  /** For `timeout`: how long the payment hangs before failing; default 30 s. */
  delayMs?: number;
}

export type PayErrorCode =
  | 'unknown_wallet'
  | 'invalid_invoice'
  | 'amount_required'
  | 'invalid_amount'
  | 'wrong_network'
  | 'expired'
  | 'already_paid'
  | 'cancelled'
  | 'insufficient_balance'
  | 'unknown_invoice'
  | 'no_route'
  | 'timeout';

/** A refused or failed payment. Messages follow what LNbits (over LND) reports. */
export class PaymentError extends Error {
  override readonly name = 'PaymentError';
  constructor(
    readonly code: PayErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CreateInvoiceOptions {
  /** Omit (or null) for an amountless invoice. */
  amountMsat?: bigint | null;
  memo?: string;
  /** Hex sha256 committed to with an `h` field instead of the memo. */
  descriptionHash?: string;
  expirySeconds?: number;
  minFinalCltvExpiry?: number;
}

export interface LightningNodeOptions {
  /** Clock in unix milliseconds; injectable for expiry tests. */
  now?: () => number;
  /** 32-byte node key (hex); random when omitted. */
  privateKey?: string;
}

interface FailureRule {
  mode: FailureMode;
  remaining: number;
  delayMs: number;
}

const HEX32 = /^[0-9a-f]{64}$/;

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');
const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export class LightningNode {
  readonly pubkey: string;
  readonly network = 'regtest' as const;
  readonly #privateKey: string;
  #now: () => number;
  readonly #wallets = new Map<string, Wallet>();
  readonly #invoices = new Map<string, Invoice>();
  readonly #payments: Payment[] = [];
  readonly #failures = new Map<string, FailureRule[]>();
  readonly #pending = new Set<() => void>();
  readonly #held = new Set<() => void>();

  constructor(options: LightningNodeOptions = {}) {
    const key = options.privateKey ?? Buffer.from(secp256k1.utils.randomSecretKey()).toString('hex');
    if (!HEX32.test(key) || !secp256k1.utils.isValidSecretKey(Buffer.from(key, 'hex'))) {
      throw new Error('privateKey must be a valid 32-byte secp256k1 key in lowercase hex');
    }
    this.#privateKey = key;
    this.pubkey = Buffer.from(secp256k1.getPublicKey(Buffer.from(key, 'hex'), true)).toString('hex');
    this.#now = options.now ?? Date.now;
  }

  /** Current time, unix milliseconds. */
  now(): number {
    return this.#now();
  }

  setClock(now: () => number): void {
    this.#now = now;
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  createWallet(opts: { name: string; balanceMsat?: bigint; adminKey?: string; invoiceKey?: string }): Wallet {
    const balanceMsat = opts.balanceMsat ?? 0n;
    if (balanceMsat < 0n) throw new Error('a wallet balance cannot be negative');
    const wallet: Wallet = {
      id: randomHex(16),
      name: opts.name,
      adminKey: opts.adminKey ?? randomHex(16),
      invoiceKey: opts.invoiceKey ?? randomHex(16),
      balanceMsat,
    };
    for (const other of this.#wallets.values()) {
      const taken = [other.adminKey, other.invoiceKey];
      if (other.name === wallet.name) throw new Error(`a wallet named "${wallet.name}" already exists`);
      if (
        taken.includes(wallet.adminKey) ||
        taken.includes(wallet.invoiceKey) ||
        wallet.adminKey === wallet.invoiceKey
      ) {
        throw new Error('wallet keys must be unique');
      }
    }
    this.#wallets.set(wallet.id, wallet);
    return wallet;
  }

  /** A wallet by id or by name. */
  wallet(idOrName: string): Wallet | undefined {
    const byId = this.#wallets.get(idOrName);
    if (byId) return byId;
    for (const w of this.#wallets.values()) if (w.name === idOrName) return w;
    return undefined;
  }

  wallets(): Wallet[] {
    return [...this.#wallets.values()];
  }

  walletForKey(key: string): { wallet: Wallet; keyType: 'admin' | 'invoice' } | undefined {
    for (const wallet of this.#wallets.values()) {
      if (wallet.adminKey === key) return { wallet, keyType: 'admin' };
      if (wallet.invoiceKey === key) return { wallet, keyType: 'invoice' };
    }
    return undefined;
  }

  /** Adds (or, if negative, removes) funds; the balance never goes below zero. */
  fund(walletId: string, amountMsat: bigint): Wallet {
    const wallet = this.#requireWallet(walletId);
    if (wallet.balanceMsat + amountMsat < 0n) throw new Error('a wallet balance cannot be negative');
    wallet.balanceMsat += amountMsat;
    return wallet;
  }

  createInvoice(walletId: string, opts: CreateInvoiceOptions = {}): Invoice {
    const wallet = this.#requireWallet(walletId);
    const amountMsat = opts.amountMsat ?? null;
    if (amountMsat !== null && amountMsat <= 0n) throw new Error('invoice amount must be positive');
    const memo = opts.memo ?? '';
    if (Buffer.byteLength(memo, 'utf8') > MAX_DESCRIPTION_BYTES) {
      throw new Error(`memo is longer than ${MAX_DESCRIPTION_BYTES} bytes`);
    }
    if (opts.descriptionHash !== undefined && !HEX32.test(opts.descriptionHash)) {
      throw new Error('descriptionHash must be 64 lowercase hex characters');
    }
    const expirySeconds = opts.expirySeconds ?? DEFAULT_EXPIRY_SECONDS;
    const cltv = opts.minFinalCltvExpiry ?? DEFAULT_MIN_FINAL_CLTV;
    if (!Number.isSafeInteger(expirySeconds) || expirySeconds <= 0)
      throw new Error('expiry must be a positive integer');
    if (!Number.isSafeInteger(cltv) || cltv <= 0)
      throw new Error('minFinalCltvExpiry must be a positive integer');

    const preimage = randomBytes(32);
    const paymentHash = sha256Hex(preimage);
    const paymentSecret = randomHex(32);
    const timestamp = this.#nowSeconds();
    const request: PaymentRequestObject = {
      network: REGTEST_NETWORK,
      timestamp,
      tags: [
        { tagName: 'payment_hash', data: paymentHash },
        { tagName: 'payment_secret', data: paymentSecret },
        opts.descriptionHash !== undefined
          ? { tagName: 'purpose_commit_hash', data: opts.descriptionHash }
          : { tagName: 'description', data: memo },
        { tagName: 'expire_time', data: expirySeconds },
        { tagName: 'min_final_cltv_expiry', data: cltv },
        // var_onion_optin and payment_secret, both compulsory, as current nodes write them.
        {
          tagName: 'feature_bits',
          data: { word_length: 3, var_onion_optin: { required: true }, payment_secret: { required: true } },
        },
      ],
    };
    if (amountMsat !== null) request.millisatoshis = amountMsat.toString();
    const signed = sign(encode(request, false), this.#privateKey);
    const bolt11 = signed.paymentRequest;
    if (!bolt11) throw new Error('the bolt11 encoder returned no payment request');
    // Our own invoices must pass the strict decoder the wallet uses.
    const check = decodeInvoice(bolt11);
    if (check.paymentHash !== paymentHash || check.payee !== this.pubkey || check.amountMsat !== amountMsat) {
      throw new Error('the encoded invoice does not decode to what was asked');
    }

    const invoice: Invoice = {
      paymentHash,
      preimage: preimage.toString('hex'),
      paymentSecret,
      bolt11,
      walletId: wallet.id,
      amountMsat,
      memo,
      createdAt: timestamp,
      expiresAt: check.expiresAt,
      cancelled: false,
    };
    if (opts.descriptionHash !== undefined) invoice.descriptionHash = opts.descriptionHash;
    this.#invoices.set(paymentHash, invoice);
    this.#payments.push({
      checkingId: paymentHash,
      paymentHash,
      walletId: wallet.id,
      amountMsat: amountMsat ?? 0n,
      feeMsat: 0n,
      bolt11,
      memo,
      status: 'pending',
      preimage: null,
      time: this.#now(),
      expiry: invoice.expiresAt,
      incoming: true,
    });
    return invoice;
  }

  invoice(paymentHash: string): Invoice | undefined {
    return this.#invoices.get(paymentHash);
  }

  invoiceState(invoice: Invoice): InvoiceState {
    if (invoice.settledAt !== undefined) return 'settled';
    if (invoice.cancelled) return 'cancelled';
    return isExpired(invoice, this.#nowSeconds()) ? 'expired' : 'open';
  }

  cancelInvoice(paymentHash: string): Invoice {
    const invoice = this.#invoices.get(paymentHash);
    if (!invoice) throw new Error('no such invoice');
    if (invoice.settledAt !== undefined) throw new Error('a settled invoice cannot be cancelled');
    invoice.cancelled = true;
    return invoice;
  }

  /**
   * Pays a BOLT11 invoice from a wallet. Invoices of this node settle at once; any other payee is
   * unreachable. Throws PaymentError when the payment is refused or fails.
   */
  async payInvoice(walletId: string, bolt11: string, opts: { amountMsat?: bigint } = {}): Promise<Payment> {
    const wallet = this.#wallets.get(walletId);
    if (!wallet) throw new PaymentError('unknown_wallet', `Could not fetch wallet '${walletId}'.`);
    let decoded: DecodedInvoice;
    try {
      decoded = decodeInvoice(bolt11);
    } catch {
      throw new PaymentError('invalid_invoice', 'Bolt11 decoding failed.');
    }
    if (decoded.network !== this.network) {
      throw new PaymentError(
        'wrong_network',
        `Payment failed: invoice not for current active network '${this.network}'`,
      );
    }
    let amountMsat: bigint;
    if (decoded.amountMsat === null) {
      if (opts.amountMsat === undefined)
        throw new PaymentError('amount_required', 'Amountless invoices not supported.');
      if (opts.amountMsat <= 0n) throw new PaymentError('invalid_amount', 'Payment amount must be positive.');
      amountMsat = opts.amountMsat;
    } else {
      if (opts.amountMsat !== undefined && opts.amountMsat !== decoded.amountMsat) {
        throw new PaymentError(
          'invalid_amount',
          'amount must not be specified when paying a non-zero amount invoice',
        );
      }
      amountMsat = decoded.amountMsat;
    }
    if (isExpired(decoded, this.#nowSeconds()))
      throw new PaymentError('expired', 'Payment failed: invoice expired');

    // An injected failure stands for what the node met while trying to pay.
    const rule = this.#takeFailure(wallet.id);
    if (rule?.mode === 'insufficient_balance')
      throw new PaymentError('insufficient_balance', 'Insufficient balance.');
    if (rule?.mode === 'route_failure') {
      this.#record(wallet, decoded, amountMsat, 'failed', null);
      throw new PaymentError('no_route', 'Payment failed: no route found');
    }
    if (rule?.mode === 'hold') {
      const attempt = this.#record(wallet, decoded, amountMsat, 'pending', null);
      await new Promise<void>((resolve) => this.#held.add(resolve));
      // Settled below like any payment; this pending attempt is superseded by that record.
      attempt.status = 'failed';
    }
    if (rule?.mode === 'timeout') {
      const attempt = this.#record(wallet, decoded, amountMsat, 'pending', null);
      await this.#sleep(rule.delayMs);
      attempt.status = 'failed';
      throw new PaymentError('timeout', 'Payment failed: timeout');
    }

    const known = this.#invoices.get(decoded.paymentHash);
    const ours = decoded.payee === this.pubkey;
    const invoice = ours && known?.bolt11 === bolt11.toLowerCase() ? known : undefined;
    if (invoice) {
      const state = this.invoiceState(invoice);
      if (state === 'settled') throw new PaymentError('already_paid', 'Internal invoice already paid.');
      if (state === 'cancelled') throw new PaymentError('cancelled', 'Payment failed: invoice cancelled');
      if (state === 'expired') throw new PaymentError('expired', 'Payment failed: invoice expired');
    }
    if (wallet.balanceMsat < amountMsat)
      throw new PaymentError('insufficient_balance', 'Insufficient balance.');
    if (!invoice) {
      this.#record(wallet, decoded, amountMsat, 'failed', null);
      if (!ours) throw new PaymentError('no_route', 'Payment failed: no route found');
      throw new PaymentError('unknown_invoice', 'Payment failed: incorrect_or_unknown_payment_details');
    }

    if (rule?.mode === 'wrong_preimage') {
      // A lying wallet: takes the money, claims success, never pays the invoice.
      wallet.balanceMsat -= amountMsat;
      return this.#record(wallet, decoded, amountMsat, 'success', randomHex(32));
    }
    // Settle inside this node. No await from the checks above to here: nothing can interleave.
    const payee = this.#requireWallet(invoice.walletId);
    wallet.balanceMsat -= amountMsat;
    payee.balanceMsat += amountMsat;
    invoice.settledAt = this.#nowSeconds();
    invoice.paidMsat = amountMsat;
    const incoming = this.#payments.find((p) => p.incoming && p.paymentHash === invoice.paymentHash);
    if (incoming) {
      incoming.status = 'success';
      incoming.preimage = invoice.preimage;
      incoming.amountMsat = amountMsat;
    }
    const paid = this.#record(
      wallet,
      decoded,
      amountMsat,
      'success',
      invoice.preimage,
      `internal_${decoded.paymentHash}`,
    );
    if (rule?.mode === 'late_answer') await new Promise<void>((resolve) => this.#held.add(resolve));
    return paid;
  }

  /** A wallet's payments, newest first. Incoming ones show the state of their invoice. */
  payments(walletId: string, page: { limit?: number; offset?: number } = {}): Payment[] {
    const list = this.#payments
      .filter((p) => p.walletId === walletId)
      .map((p) => this.#view(p))
      .reverse();
    const offset = page.offset ?? 0;
    return list.slice(offset, page.limit === undefined ? undefined : offset + page.limit);
  }

  /** The newest payment with this hash, in one wallet or (without walletId) any, incoming first. */
  payment(paymentHash: string, walletId?: string): Payment | undefined {
    const matches = this.#payments.filter(
      (p) => p.paymentHash === paymentHash && (walletId === undefined || p.walletId === walletId),
    );
    const pick =
      walletId === undefined ? (matches.find((p) => p.incoming) ?? matches.at(-1)) : matches.at(-1);
    return pick ? this.#view(pick) : undefined;
  }

  injectFailure(walletId: string, spec: FailureSpec): void {
    const wallet = this.#requireWallet(walletId);
    const count = spec.count ?? 1;
    const delayMs = spec.delayMs ?? 30_000;
    if (!FAILURE_MODES.includes(spec.mode)) throw new Error(`unknown failure mode "${String(spec.mode)}"`);
    if (!Number.isSafeInteger(count) || count < 1) throw new Error('count must be a positive integer');
    if (!Number.isSafeInteger(delayMs) || delayMs < 0)
      throw new Error('delayMs must be a non-negative integer');
    const rules = this.#failures.get(wallet.id) ?? [];
    rules.push({ mode: spec.mode, remaining: count, delayMs });
    this.#failures.set(wallet.id, rules);
  }

  /** Failures still queued for a wallet, in the order they will apply. */
  pendingFailures(walletId: string): FailureSpec[] {
    const rules = this.#failures.get(this.#requireWallet(walletId).id) ?? [];
    return rules.map((r) => ({ mode: r.mode, count: r.remaining, delayMs: r.delayMs }));
  }

  /** Drops injected failures of one wallet, or of all wallets. */
  clearFailures(walletId?: string): void {
    if (walletId === undefined) this.#failures.clear();
    else this.#failures.delete(this.#requireWallet(walletId).id);
  }

  /** Ends payments that are still hanging (timeout injection), so a server can close. */
  shutdown(): void {
    for (const wake of this.#pending) wake();
    this.#pending.clear();
    this.releaseHeld();
  }

  /** Lets every payment held by `hold` go on, and every answer held by `late_answer`. Returns how many. */
  releaseHeld(): number {
    const n = this.#held.size;
    for (const go of this.#held) go();
    this.#held.clear();
    return n;
  }

  #requireWallet(idOrName: string): Wallet {
    const wallet = this.wallet(idOrName);
    if (!wallet) throw new Error(`unknown wallet "${idOrName}"`);
    return wallet;
  }

  #takeFailure(walletId: string): FailureRule | undefined {
    const rules = this.#failures.get(walletId);
    const rule = rules?.[0];
    if (!rules || !rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) rules.shift();
    return rule;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#pending.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#pending.add(wake);
    });
  }

  #record(
    wallet: Wallet,
    decoded: DecodedInvoice,
    amountMsat: bigint,
    status: PaymentStatus,
    preimage: string | null,
    checkingId = decoded.paymentHash,
  ): Payment {
    const payment: Payment = {
      checkingId,
      paymentHash: decoded.paymentHash,
      walletId: wallet.id,
      amountMsat: -amountMsat,
      feeMsat: 0n,
      bolt11: decoded.paymentRequest.toLowerCase(),
      memo: decoded.description ?? '',
      status,
      preimage,
      time: this.#now(),
      expiry: decoded.expiresAt,
      incoming: false,
    };
    this.#payments.push(payment);
    return payment;
  }

  #view(p: Payment): Payment {
    if (!p.incoming || p.status !== 'pending') return { ...p };
    const invoice = this.#invoices.get(p.paymentHash);
    // An invoice that can no longer be paid reads as failed, as LNbits shows a cancelled one.
    const state = invoice ? this.invoiceState(invoice) : 'open';
    return { ...p, status: state === 'expired' || state === 'cancelled' ? 'failed' : 'pending' };
  }
}
