// A small typed client for the app's own LNbits wallet (REST API, invoice key). It speaks only the
// public LNbits HTTP API, so it works the same against the local stand-in and a real LNbits.
import { MSAT_PER_SAT, toMsat } from './money';

export type LnbitsErrorCode =
  | 'network' // could not reach LNbits (refused, DNS, reset)
  | 'timeout'
  | 'unauthorized' // 401/403: wrong or missing key
  | 'not_found' // 404: e.g. no payment with that hash in this wallet
  | 'http' // any other non-2xx answer
  | 'bad_response' // 2xx but not the JSON shape LNbits documents
  | 'invalid_request' // refused before sending (e.g. sub-sat amount)
  | 'payment_failed'; // 520: LNbits tried to pay and could not (no route, insufficient balance, ...)

export class LnbitsError extends Error {
  override readonly name = 'LnbitsError';
  constructor(
    readonly code: LnbitsErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface LnbitsClientOptions {
  /** Base URL of the LNbits instance, e.g. http://127.0.0.1:5000 (a path prefix is kept). */
  url: string;
  /** The wallet's invoice/read key: enough to create invoices and check them. */
  invoiceKey: string;
  /** The wallet's admin key: only needed to pay invoices (refunds). */
  adminKey?: string;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

export type CreateInvoiceRequest = ({ amountMsat: bigint | number } | { amountSat: bigint | number }) & {
  memo: string;
  /** Invoice expiry in seconds; LNbits' default applies when omitted. */
  expirySeconds?: number;
};

export interface CreatedInvoice {
  paymentHash: string;
  paymentRequest: string;
  checkingId: string;
  amountMsat: bigint;
}

export interface PaymentStatus {
  paid: boolean;
  /** Hex preimage once paid; null while unpaid. */
  preimage: string | null;
}

export interface WalletInfo {
  name: string;
  balanceMsat: bigint;
}

/** An outgoing payment LNbits accepted. */
export interface SentPayment {
  paymentHash: string;
  /** 'pending' while LNbits still waits for the route to settle: the money has left the wallet. */
  status: 'success' | 'pending';
  preimage: string | null;
}

/**
 * An outgoing payment as the wallet knows it now. `failed` includes a hash the wallet has no payment
 * for: it never left (LNbits forgets failed outgoing payments, or never took this one).
 */
export interface OutgoingPayment {
  status: 'success' | 'pending' | 'failed';
  preimage: string | null;
}

/**
 * What paying refunds needs from a wallet; LnbitsClient with an admin key is one implementation.
 * `outgoingPayment` settles what a timed-out or pending `payInvoice` left unknown.
 */
export interface InvoicePayer {
  payInvoice(bolt11: string): Promise<SentPayment>;
  outgoingPayment(paymentHash: string): Promise<OutgoingPayment>;
}

/** What the L402 gate needs from a wallet; LnbitsClient is one implementation. */
export interface InvoiceBackend {
  createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice>;
  getPayment(paymentHash: string): Promise<PaymentStatus>;
}

const HEX32 = /^[0-9a-f]{64}$/;

export class LnbitsClient implements InvoiceBackend, InvoicePayer {
  readonly #base: string;
  readonly #key: string;
  readonly #adminKey: string | undefined;
  readonly #timeoutMs: number;

  constructor(options: LnbitsClientOptions) {
    if (!options.invoiceKey) {
      throw new LnbitsError('invalid_request', 'an LNbits invoice key is required');
    }
    this.#base = new URL(options.url).toString().replace(/\/+$/, '');
    this.#key = options.invoiceKey;
    this.#adminKey = options.adminKey || undefined;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async createInvoice(request: CreateInvoiceRequest): Promise<CreatedInvoice> {
    const amountMsat =
      'amountMsat' in request ? toMsat(request.amountMsat) : toMsat(request.amountSat) * MSAT_PER_SAT;
    // The LNbits API takes whole sats; rounding would make the invoice differ from the quote.
    if (amountMsat % MSAT_PER_SAT !== 0n || amountMsat === 0n) {
      throw new LnbitsError(
        'invalid_request',
        `LNbits invoices need a positive whole-sat amount, got ${amountMsat} msat`,
      );
    }
    const amountSat = amountMsat / MSAT_PER_SAT;
    if (amountSat > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new LnbitsError('invalid_request', 'amount too large');
    }
    const body: Record<string, unknown> = { out: false, amount: Number(amountSat), memo: request.memo };
    if (request.expirySeconds !== undefined) {
      if (!Number.isSafeInteger(request.expirySeconds) || request.expirySeconds <= 0) {
        throw new LnbitsError('invalid_request', 'expirySeconds must be a positive integer');
      }
      body.expiry = request.expirySeconds;
    }
    const json = await this.#request('POST', '/api/v1/payments', body);
    const paymentHash = stringField(json, 'payment_hash');
    // Newer LNbits versions name the invoice `bolt11`; the documented field is `payment_request`.
    const paymentRequest = optionalString(json, 'payment_request') ?? stringField(json, 'bolt11');
    if (!HEX32.test(paymentHash)) {
      throw new LnbitsError('bad_response', 'LNbits returned a malformed payment_hash');
    }
    return {
      paymentHash,
      paymentRequest,
      checkingId: optionalString(json, 'checking_id') ?? paymentHash,
      amountMsat,
    };
  }

  async getPayment(paymentHash: string): Promise<PaymentStatus> {
    if (!HEX32.test(paymentHash)) {
      throw new LnbitsError('invalid_request', 'payment hash must be 64 lowercase hex characters');
    }
    const json = await this.#request('GET', `/api/v1/payments/${paymentHash}`);
    const paid = json.paid;
    if (typeof paid !== 'boolean') {
      throw new LnbitsError('bad_response', 'LNbits payment status has no boolean "paid"');
    }
    const preimage = optionalString(json, 'preimage');
    return { paid, preimage: paid && preimage && HEX32.test(preimage) ? preimage : null };
  }

  /**
   * Pays a BOLT11 invoice from this wallet (`POST /api/v1/payments {out: true, bolt11}` with the
   * admin key). A payment LNbits refuses or cannot route is an LnbitsError with code
   * `payment_failed`; a timeout leaves it unknown whether the payment went out.
   */
  async payInvoice(bolt11: string): Promise<SentPayment> {
    if (!this.#adminKey) {
      throw new LnbitsError('invalid_request', 'paying an invoice needs the wallet admin key');
    }
    if (!/^ln[a-z0-9]+$/i.test(bolt11.trim())) {
      throw new LnbitsError('invalid_request', 'not a BOLT11 invoice');
    }
    const json = await this.#request(
      'POST',
      '/api/v1/payments',
      { out: true, bolt11: bolt11.trim() },
      this.#adminKey,
    );
    const paymentHash = stringField(json, 'payment_hash');
    const status = optionalString(json, 'status');
    if (status === 'failed') {
      throw new LnbitsError('payment_failed', 'LNbits reports the payment failed');
    }
    const preimage = optionalString(json, 'preimage');
    return {
      paymentHash,
      status: status === 'pending' ? 'pending' : 'success',
      preimage: preimage && HEX32.test(preimage) && !/^0+$/.test(preimage) ? preimage : null,
    };
  }

  /**
   * Looks up an outgoing payment of this wallet by its payment hash (`GET /api/v1/payments/{hash}`
   * with the wallet's key): `success`, `pending` (still in flight), or `failed` (also when LNbits
   * has no payment with this hash). Errors (timeout, network) leave it unknown: they throw.
   */
  async outgoingPayment(paymentHash: string): Promise<OutgoingPayment> {
    if (!HEX32.test(paymentHash)) {
      throw new LnbitsError('invalid_request', 'payment hash must be 64 lowercase hex characters');
    }
    let json: Record<string, unknown>;
    try {
      json = await this.#request('GET', `/api/v1/payments/${paymentHash}`, undefined, this.#adminKey);
    } catch (err) {
      if (err instanceof LnbitsError && err.code === 'not_found') return { status: 'failed', preimage: null };
      throw err;
    }
    const paid = json.paid;
    if (typeof paid !== 'boolean') {
      throw new LnbitsError('bad_response', 'LNbits payment status has no boolean "paid"');
    }
    const raw = optionalString(json, 'status');
    // Without a status field only `paid` is known: unpaid may still be in flight.
    const status = paid || raw === 'success' ? 'success' : raw === 'failed' ? 'failed' : 'pending';
    const preimage = optionalString(json, 'preimage');
    return { status, preimage: status === 'success' && preimage && HEX32.test(preimage) ? preimage : null };
  }

  async walletInfo(): Promise<WalletInfo> {
    const json = await this.#request('GET', '/api/v1/wallet');
    const balance = json.balance;
    if (typeof balance !== 'number' || !Number.isSafeInteger(balance)) {
      throw new LnbitsError('bad_response', 'LNbits wallet balance is not an integer msat amount');
    }
    return { name: stringField(json, 'name'), balanceMsat: BigInt(balance) };
  }

  async #request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    key: string = this.#key,
  ): Promise<Record<string, unknown>> {
    const init: RequestInit = {
      method,
      headers: { 'X-Api-Key': key, accept: 'application/json', 'content-type': 'application/json' },
      signal: AbortSignal.timeout(this.#timeoutMs),
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await fetch(this.#base + path, init);
    } catch (err) {
      const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
      throw new LnbitsError(
        timedOut ? 'timeout' : 'network',
        `LNbits ${method} ${path} failed: ${timedOut ? 'timed out' : describe(err)}`,
      );
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      const why = detail(text);
      const message = `LNbits ${method} ${path} answered ${res.status}: ${why}`;
      throw new LnbitsError(errorCode(res.status, why), message, res.status);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new LnbitsError('bad_response', `LNbits ${method} ${path} answered non-JSON`, res.status);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new LnbitsError('bad_response', `LNbits ${method} ${path} answered a non-object`, res.status);
    }
    return json as Record<string, unknown>;
  }
}

function stringField(json: Record<string, unknown>, key: string): string {
  const value = json[key];
  if (typeof value !== 'string' || value === '') {
    throw new LnbitsError('bad_response', `LNbits response lacks a string "${key}"`);
  }
  return value;
}

function optionalString(json: Record<string, unknown>, key: string): string | undefined {
  const value = json[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function errorCode(status: number, why: string): LnbitsErrorCode {
  // LNbits answers an unknown key with 404 "Wallet not found.", not 401.
  if (status === 401 || status === 403 || (status === 404 && /wallet not found/i.test(why))) {
    return 'unauthorized';
  }
  if (status === 520) return 'payment_failed';
  return status === 404 ? 'not_found' : 'http';
}

/** LNbits errors look like {"detail": "..."}; keep the message short either way. */
function detail(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'detail' in parsed) {
      return String((parsed as { detail: unknown }).detail).slice(0, 200);
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200) || '(empty body)';
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
