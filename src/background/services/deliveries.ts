/**
 * What the first use of a paid credential delivered: the page's report for a fetch or XHR, the
 * browser's own view for a page load. Kept as dispute evidence; a refusal (401/402/403 to a valid
 * proof) means the user paid for nothing: the payment is marked so, its token dropped, a dispute
 * opened and the user told. Nothing here moves money.
 */
import { readPaymentReceipt, readProblem } from '../../core/payments/delivery';
import { isRefusedStatus, refusalHeaders } from '../../core/payments/refusal';
import {
  readSettlement,
  X402AuthorizationError,
  type X402Settlement,
} from '../../core/payments/x402-authorization';
import { siteOf } from '../../core/site/site';
import { type Said, said } from '../../core/text/said';
import { cleanMerchantText } from '../../core/text/sanitize';
import type { Delivery, PaymentRecord, X402Payment } from '../../db/schema';
import { countRefunded } from '../../db/transitions';
import type { MessageInput } from '../../messages/map';
import type { SenderContext } from '../sender';
import type { PageLoadAnswer, PaymentDeps } from './payments';

export class Deliveries {
  constructor(
    private readonly deps: Pick<PaymentDeps, 'db' | 'tokens' | 'openDispute' | 'notify'>,
    private readonly now: () => number,
  ) {}

  /**
   * The page reports what its paid retry delivered: kept as evidence for a dispute. Only the tab
   * and origin that were paid for may report, once per payment, for a payment of its fetch or XHR
   * or, in Chromium and from the tab's top frame, of its page load (which the page fetched paid;
   * in Firefox the browser reports page loads). The page could lie, so its word is recorded as the
   * page's: a refusal it reports opens a dispute marked so, tells the user and drops the token of
   * that payment, but never moves money (docs/threat-model.md, "What the page's word may do").
   */
  async fromPage(
    input: MessageInput<'payment.delivered'>,
    sender: SenderContext,
  ): Promise<{ recorded: boolean }> {
    const p = await this.recordDelivery(
      input.paymentId,
      (p) =>
        (p.via === 'fetch' || (__PAYBOUND_TARGET__ === 'chrome' && sender.frameId === 0)) &&
        p.tabId === sender.tabId &&
        p.origin === sender.origin,
      { status: input.status, sha256: input.sha256, by: 'page' },
      input.headers ?? [],
      input.problem,
    );
    if (p?.delivery?.refused) await this.deliveredNothing(p);
    else if (p?.kind === 'x402') await this.settledOnChain(p, input.headers ?? []);
    return { recorded: p !== undefined };
  }

  /**
   * A top-level page load was answered. When it carried a page-load token whose payment has no
   * delivery yet, this was that token's first use, and its answer is the payment's delivery, as
   * the browser saw it. True when the app refused the paid token: the caller then does not pay
   * the refusing answer's own challenge (that would reload, be refused and pay again, round and
   * round); the user is told instead.
   */
  async pageLoadAnswered(load: PageLoadAnswer): Promise<boolean> {
    const site = siteOf(load.origin) ?? load.origin;
    const token = await this.deps.tokens.matching(
      { site, resource: 'navigation', tabId: load.tabId },
      load.url,
    );
    if (!token) return false;
    const p = await this.recordDelivery(
      token.paymentId,
      (p) => p.via === 'navigation' && p.tabId === load.tabId && p.site === site,
      { status: load.status, by: 'browser' },
      load.headers,
    );
    if (!p?.delivery?.refused) return false;
    await this.deliveredNothing(p);
    return true;
  }

  /**
   * Keeps the first use's answer on a paid payment that has none yet (once: a second report, or
   * a 200 after a refusal, changes nothing). The updated payment, or nothing when not recorded.
   */
  private recordDelivery(
    paymentId: string,
    from: (p: PaymentRecord) => boolean,
    seen: Pick<Delivery, 'status' | 'sha256' | 'by'>,
    headers: ReadonlyArray<readonly [string, string]>,
    problemBody?: string,
  ): Promise<PaymentRecord | undefined> {
    const { db } = this.deps;
    const kept = refusalHeaders(headers);
    // MPP's receipt travels as a header; a refusal's reason as a Problem Details body.
    const receiptHeader = headers.find(([k]) => k.toLowerCase() === 'payment-receipt')?.[1];
    const receipt = receiptHeader !== undefined ? readPaymentReceipt(receiptHeader) : undefined;
    const problem = problemBody !== undefined ? readProblem(problemBody) : undefined;
    const delivery: Delivery = {
      ...seen,
      at: this.now(),
      ...(isRefusedStatus(seen.status) ? { refused: true as const } : {}),
      ...(kept.length ? { headers: kept } : {}),
      ...(receipt ? { receipt } : {}),
      ...(problem ? { problem } : {}),
    };
    return db.transaction('rw', db.payments, async () => {
      const p = await db.payments.get(paymentId);
      if (!p || p.delivery || p.paidAt === undefined || !from(p)) return undefined;
      await db.payments.update(p.id, { delivery });
      return { ...p, delivery };
    });
  }

  /**
   * An x402 retry was answered: the app's facilitator says whether the transfer settled
   * (`PAYMENT-RESPONSE`, v1 `X-PAYMENT-RESPONSE`). Settled: the transaction is the proof. Said it
   * failed, or said nothing: a dispute, since the signed authorization may still be used until it
   * runs out. The page reports this, so it is evidence, not a release: the charge stays counted.
   */
  private async settledOnChain(
    p: X402Payment,
    headers: ReadonlyArray<readonly [string, string]>,
  ): Promise<void> {
    const name = p.challenge.version === 2 ? 'payment-response' : 'x-payment-response';
    const raw = headers.find(([k]) => k.toLowerCase() === name)?.[1];
    let s: X402Settlement | undefined;
    try {
      s = raw !== undefined ? readSettlement(raw) : undefined;
    } catch (e) {
      // A response that is not one is the same as none.
      if (!(e instanceof X402AuthorizationError)) throw e;
    }
    let why: Said | undefined;
    if (s?.success) {
      const settlement = {
        transaction: s.transaction,
        network: s.network,
        ...(s.payer ? { payer: s.payer } : {}),
        ...(s.amount !== undefined ? { amount: s.amount } : {}),
        at: this.now(),
      };
      const over = s.amount !== undefined && s.amount > p.amount.value;
      // `upto`: the app settled what the work cost; the rest of the maximum never left the wallet.
      const actual = p.x402.scheme === 'upto' && s.amount !== undefined && !over ? s.amount : undefined;
      await this.deps.db.payments
        .where('id')
        .equals(p.id)
        .modify((r) => {
          if (r.kind !== 'x402') return;
          r.x402.settlement = settlement;
          if (actual !== undefined)
            r.settlement = {
              actual,
              refunded: p.amount.value - actual,
              decidedAt: this.now(),
              decidedBy: 'window',
            };
        });
      if (actual !== undefined) await countRefunded(this.deps.db, p.id);
      if (over) why = said('disputeX402OverSettled');
    } else if (s) {
      why = said('disputeX402SettleFailed', cleanMerchantText(s.errorReason ?? 'no reason given', 120).text);
    } else {
      const until = Number(p.x402.authorization?.validBefore ?? p.expiresAt) * 1000;
      why = said('disputeX402NotSettled', String(p.delivery?.status ?? ''), new Date(until).toISOString());
    }
    if (!why) return;
    await this.deps
      .openDispute?.(p, why, 'app')
      .catch((e: unknown) => console.error('paybound: x402 dispute not opened', p.id, e));
  }

  /**
   * The app refused a valid proof: the user paid and got nothing. The payment stays paid (the
   * money moved; the dispute is how it may come back), its token goes (worthless, and the browser
   * would attach it to every request in scope), a dispute opens with the evidence, and the user is
   * told at once. Runs once per payment: only the first delivery is ever recorded.
   */
  private async deliveredNothing(p: PaymentRecord): Promise<void> {
    const status = String(p.delivery?.status ?? '');
    await this.deps.tokens
      .dropPayment(p.id)
      .catch((e: unknown) => console.error('paybound: refused token not dropped', p.id, e));
    const why = said(
      p.delivery?.by === 'browser' ? 'disputeRefusedByBrowser' : 'disputeRefusedByPage',
      status,
    );
    await this.deps
      .openDispute?.(p, why, 'refused')
      .catch((e: unknown) => console.error('paybound: refused dispute not opened', p.id, e));
    await this.deps.notify?.refused?.(p).catch(() => {});
  }
}
