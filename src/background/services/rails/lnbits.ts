/**
 * LNbits REST from the worker: `POST /api/v1/payments {out: true, bolt11}` with the admin key, and
 * `GET /api/v1/payments/{hash}` to read the outcome. LNbits answers wallet failures with 520 and a
 * `detail` text; only a clear "did not pay" becomes a definite failure, anything ambiguous is a
 * timeout to be reconciled.
 */
import type { SendPaymentResponse } from '@webbtc/webln-types';
import { said } from '../../../core/text/said';
import type { RailRecord } from '../../../db/schema';
import { mark } from '../../trace';
import { type LightningRail, type PaymentLookup, RailError, REFUND_INVOICE_EXPIRY_SECONDS } from './types';

const PAY_TIMEOUT_MS = 30_000;
const LOOKUP_TIMEOUT_MS = 10_000;

interface LnbitsPayment {
  payment_hash?: string;
  preimage?: string | null;
  paid?: boolean;
  status?: string;
  detail?: unknown;
}

const HEX32 = /^[0-9a-f]{64}$/i;

export class LnbitsRail implements LightningRail {
  readonly id: string;
  readonly network: RailRecord['network'];
  private readonly base: string;
  private readonly key: string;

  constructor(record: Extract<RailRecord, { kind: 'lnbits' }>) {
    this.id = record.id;
    this.network = record.network;
    this.base = record.config.url.replace(/\/+$/, '');
    this.key = record.config.adminKey;
  }

  private async call(
    path: string,
    init: RequestInit,
    timeoutMs: number,
  ): Promise<{ status: number; body: LnbitsPayment }> {
    let res: Response;
    mark(`wallet asked ${path}`);
    try {
      res = await fetch(`${this.base}${path}`, {
        ...init,
        headers: { 'X-Api-Key': this.key, 'Content-Type': 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'TimeoutError') {
        throw new RailError('timeout', said('walletTimeout'));
      }
      throw new RailError('unreachable', said('walletUnreachable'));
    }
    const body = (await res.json().catch(() => ({}))) as LnbitsPayment;
    mark(`wallet read ${path}`);
    return { status: res.status, body };
  }

  async sendPayment(invoice: string): Promise<SendPaymentResponse> {
    const { status, body } = await this.call(
      '/api/v1/payments',
      { method: 'POST', body: JSON.stringify({ out: true, bolt11: invoice }) },
      PAY_TIMEOUT_MS,
    );
    if (status === 200 || status === 201) {
      if (body.preimage && HEX32.test(body.preimage)) return { preimage: body.preimage.toLowerCase() };
      // Older LNbits answer without the preimage: read it back.
      if (body.payment_hash) {
        const found = await this.lookup(body.payment_hash);
        if (found.status === 'paid') return { preimage: found.preimage };
      }
      throw new RailError('timeout', said('walletNoProofYet'));
    }
    const detail = typeof body.detail === 'string' ? body.detail : `HTTP ${status}`;
    if (status === 401 || status === 403 || status === 404)
      throw new RailError('wallet_error', said('walletKeyRefused', detail));
    if (/insufficient/i.test(detail)) throw new RailError('insufficient_balance', said('walletNoFunds'));
    if (/no route|route/i.test(detail)) throw new RailError('route_failure', said('walletNoRoute', detail));
    if (/timeout|timed out/i.test(detail)) throw new RailError('timeout', said('walletTimedOut', detail));
    throw new RailError('wallet_error', said('walletRefused', detail));
  }

  async balance(): Promise<bigint> {
    const { status, body } = await this.call('/api/v1/wallet', { method: 'GET' }, LOOKUP_TIMEOUT_MS);
    const balance = (body as { balance?: unknown }).balance;
    if (status !== 200 || typeof balance !== 'number' || !Number.isSafeInteger(balance)) {
      throw new RailError(
        'wallet_error',
        said('walletRefused', typeof body.detail === 'string' ? body.detail : `HTTP ${status}`),
      );
    }
    return BigInt(balance);
  }

  async makeInvoice(
    amountMsat: bigint,
    memo: string,
  ): Promise<{ paymentRequest: string; paymentHash: string }> {
    const { status, body } = await this.call(
      '/api/v1/payments',
      {
        method: 'POST',
        body: JSON.stringify({
          out: false,
          amount: Number(amountMsat / 1000n),
          memo: memo.slice(0, 200),
          expiry: REFUND_INVOICE_EXPIRY_SECONDS,
        }),
      },
      LOOKUP_TIMEOUT_MS,
    );
    const request = (body as { payment_request?: unknown; bolt11?: unknown }).payment_request;
    if ((status === 200 || status === 201) && typeof request === 'string' && body.payment_hash) {
      return { paymentRequest: request, paymentHash: body.payment_hash.toLowerCase() };
    }
    throw new RailError(
      'wallet_error',
      said('walletNoInvoiceWhy', typeof body.detail === 'string' ? body.detail : `HTTP ${status}`),
    );
  }

  async received(paymentHash: string): Promise<boolean> {
    const { status, body } = await this.call(
      `/api/v1/payments/${paymentHash}`,
      { method: 'GET' },
      LOOKUP_TIMEOUT_MS,
    );
    if (status === 404) return false;
    if (status !== 200)
      throw new RailError('wallet_error', said('walletInvoiceLookupFailed', String(status)));
    return body.paid === true;
  }

  async lookup(paymentHash: string): Promise<PaymentLookup> {
    const { status, body } = await this.call(
      `/api/v1/payments/${paymentHash}`,
      { method: 'GET' },
      LOOKUP_TIMEOUT_MS,
    );
    if (status === 404) return { status: 'not_found' };
    if (status !== 200) throw new RailError('wallet_error', said('walletLookupFailed', String(status)));
    if (body.paid && body.preimage && HEX32.test(body.preimage))
      return { status: 'paid', preimage: body.preimage.toLowerCase() };
    if (body.status === 'failed') return { status: 'failed' };
    return { status: 'pending' };
  }
}
