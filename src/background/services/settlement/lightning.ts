/**
 * Settling Lightning charges: a Lightning payment cannot be taken back, so whatever comes back is
 * paid by the app to an invoice of the user's own wallet (the difference after an accept, or a
 * refund it grants), and counted only once that wallet says it arrived. Amounts are msat.
 */
import { decodeInvoice, isExpired } from '../../../core/lightning/bolt11';
import { said } from '../../../core/text/said';
import type {
  DisputeRecord,
  LightningPayment,
  RailRecord,
  Settlement,
  WorkerRailRecord,
} from '../../../db/schema';
import { countRefunded, transition } from '../../../db/transitions';
import { type AppAnswer, askApp, lightningProof, toWire } from './review-endpoint';
import { note, overReported, type SettleContext } from './shared';

const errorText = (e: unknown) => (e instanceof Error ? e.message : 'no answer');

/** A wallet the worker holds the keys to can make the invoices refunds are paid to; the page's cannot. */
function receiving(rail: RailRecord | undefined): WorkerRailRecord | undefined {
  return rail?.kind === 'lnbits' || rail?.kind === 'nwc' ? rail : undefined;
}

export class LightningSettlement {
  constructor(private readonly ctx: SettleContext) {}

  /** Accepted: the app settles its actual; the difference comes back to the user's wallet. */
  async accept(p: LightningPayment, rail: RailRecord | undefined, s: Settlement): Promise<void> {
    const max = p.amount.value;
    let answer: AppAnswer;
    try {
      answer = await askApp(p, { action: 'status', proof: lightningProof(p) });
    } catch (e) {
      note(s, said('noteReviewNoAnswer', errorText(e)));
      return;
    }
    let back = 0n;
    if (answer.actual !== undefined && answer.actual > max) {
      await overReported(this.ctx, p, s, answer.actual, max);
      s.actual = max;
    } else if (answer.actual !== undefined) {
      s.actual = answer.actual;
      back = ((max - answer.actual - s.refunded) / 1000n) * 1000n;
    }
    const own = receiving(rail);
    if (back > 0n && !own) note(s, said('notePageWalletNoRefund'));
    if (back <= 0n || !own) {
      await askApp(p, { action: 'accept', proof: lightningProof(p) }).catch(() => undefined);
      return;
    }
    const wallet = await this.ctx.railFor(own);
    // An earlier attempt (a worker stopped mid-accept) may have handed over an invoice already:
    // reuse it rather than ask for the difference twice.
    const earlier = s.pendingRefund;
    if (earlier && (await wallet.received(earlier.paymentHash).catch(() => false))) {
      s.refunded += earlier.amount;
      delete s.pendingRefund;
      note(s, said('noteDifferenceBack'));
      return;
    }
    const now = this.ctx.now();
    const reusable = earlier && !isExpired(decodeInvoice(earlier.invoice), Math.floor(now / 1000), 60);
    const invoice = reusable
      ? { paymentRequest: earlier.invoice, paymentHash: earlier.paymentHash }
      : await wallet.makeInvoice(back, `Paybound: the unused part of a charge from ${p.origin}`);
    s.pendingRefund = {
      invoice: invoice.paymentRequest,
      paymentHash: invoice.paymentHash,
      amount: reusable ? earlier.amount : back,
      requestedAt: now,
    };
    // Written down before the app is asked: whatever happens next, this invoice is known.
    await this.ctx.db.payments.update(p.id, { settlement: { ...s }, updatedAt: now });
    try {
      await askApp(p, { action: 'accept', proof: lightningProof(p), invoice: invoice.paymentRequest });
    } catch (e) {
      note(s, said('noteDifferenceNotYet', errorText(e)));
    }
    if (await wallet.received(invoice.paymentHash).catch(() => false)) {
      s.refunded += s.pendingRefund.amount;
      delete s.pendingRefund;
      note(s, said('noteDifferenceBack'));
    }
  }

  /**
   * Asks the app to pay `amountMsat` back to an invoice of the user's wallet: a reject in the
   * window (the app's refund policy applies) or a late request (at its discretion).
   */
  async requestRefund(
    p: LightningPayment,
    rail: RailRecord | undefined,
    dispute: DisputeRecord,
    amountMsat: bigint,
    reason: string,
    kind: 'reject' | 'late',
  ): Promise<void> {
    const { db, disputes } = this.ctx;
    const s: Settlement = { ...(p.settlement ?? { refunded: 0n }) };
    const whole = (amountMsat / 1000n) * 1000n;
    const own = receiving(rail);
    if (!own) {
      await disputes.move(dispute, 'open', said('notePageWalletDispute'));
      return;
    }
    if (whole <= 0n) {
      await disputes.move(dispute, 'denied', said('noteNothingToRefund'));
      return;
    }
    let invoice: { paymentRequest: string; paymentHash: string };
    try {
      invoice = await (await this.ctx.railFor(own)).makeInvoice(whole, `Paybound: refund from ${p.origin}`);
    } catch (e) {
      await disputes.move(dispute, 'open', said('noteNoRefundInvoice', errorText(e)));
      return;
    }
    const now = this.ctx.now();
    s.pendingRefund = {
      invoice: invoice.paymentRequest,
      paymentHash: invoice.paymentHash,
      amount: whole,
      requestedAt: now,
      disputeId: dispute.id,
    };
    s.decidedAt = now;
    s.decidedBy = 'user';
    await transition(db, p.id, ['paid', 'accepted', 'rejected'], 'refund_requested', {
      settlement: s,
      updatedAt: now,
    });
    let answer: AppAnswer;
    try {
      answer = await askApp(p, {
        action: 'reject',
        proof: lightningProof(p),
        amount: toWire(p, whole).toString(),
        reason,
        invoice: invoice.paymentRequest,
      });
    } catch (e) {
      await disputes.move(dispute, 'open', said('noteRefundUrlFailed', errorText(e)));
      return;
    }
    await disputes.answered(dispute.id, answer.status, answer.note);
    if (answer.status === 'refund_denied') {
      const { pendingRefund: _gone, ...rest } = s;
      await transition(db, p.id, 'refund_requested', 'refund_denied', {
        settlement: rest,
        updatedAt: this.ctx.now(),
      });
      await disputes.move(
        dispute,
        'denied',
        answer.note ? said('noteRefundDeniedWhy', answer.note) : said('noteRefundDenied'),
      );
      return;
    }
    if (!(await this.checkPendingRefund(p.id))) {
      const fresh = (await db.disputes.get(dispute.id)) ?? dispute;
      await disputes.move(
        fresh,
        'open',
        answer.status === 'refund_queued'
          ? said(kind === 'late' ? 'noteRefundQueuedLate' : 'noteRefundQueued')
          : said('noteRefundUnpaid'),
      );
    }
  }

  /** True once the refund invoice is paid in the user's own wallet; settles payment and dispute. */
  async checkPendingRefund(paymentId: string): Promise<boolean> {
    const { db } = this.ctx;
    const p = await db.payments.get(paymentId);
    const pending = p?.settlement?.pendingRefund;
    const own = p ? receiving(await db.rails.get(p.railId)) : undefined;
    if (p?.kind !== 'lightning' || !pending || !own) return false;
    const paid = await (await this.ctx.railFor(own)).received(pending.paymentHash).catch(() => false);
    if (!paid) {
      if (isExpired(decodeInvoice(pending.invoice), Math.floor(this.ctx.now() / 1000), 0)) {
        await this.renewRefundInvoice(p, own, pending);
      } else if (p.state === 'refund_requested') await this.askAboutQueuedRefund(p);
      return false;
    }
    const { pendingRefund: _done, ...rest } = p.settlement ?? { refunded: 0n };
    const settlement: Settlement = { ...rest, refunded: rest.refunded + pending.amount };
    const full = settlement.refunded >= p.amount.value - 999n;
    const wasReject = p.state === 'refund_requested';
    if (wasReject) {
      await transition(db, p.id, 'refund_requested', full ? 'refunded' : 'partially_refunded', {
        settlement,
        updatedAt: this.ctx.now(),
      });
    } else {
      // The difference after an accept: the state stays, what came back stops counting.
      await db.payments.update(p.id, { settlement, updatedAt: this.ctx.now() });
      await countRefunded(db, p.id);
    }
    await this.ctx
      .notify?.(
        `refund-${p.id}`,
        said('noticeRefundReceived'),
        said('noticeRefundCameBack', new URL(p.origin).host, `${pending.amount / 1000n} sat`),
      )
      .catch(() => {});
    const dispute = pending.disputeId ? await db.disputes.get(pending.disputeId) : undefined;
    if (dispute && wasReject) {
      await this.ctx.disputes.move(
        dispute,
        full ? 'refunded' : 'partially_refunded',
        said('noteRefundArrived', `${pending.amount / 1000n} sat`),
      );
    }
    return true;
  }

  /**
   * The refund invoice expired unpaid (a refund queued for longer than it lives): the wallet makes
   * a fresh one for the same amount and hands it to the app again.
   */
  private async renewRefundInvoice(
    p: LightningPayment,
    rail: WorkerRailRecord,
    pending: NonNullable<Settlement['pendingRefund']>,
  ): Promise<void> {
    const { db } = this.ctx;
    const invoice = await (await this.ctx.railFor(rail)).makeInvoice(
      pending.amount,
      `Paybound: refund from ${p.origin}`,
    );
    const settlement: Settlement = {
      ...(p.settlement ?? { refunded: 0n }),
      pendingRefund: { ...pending, invoice: invoice.paymentRequest, paymentHash: invoice.paymentHash },
    };
    await db.payments.update(p.id, { settlement, updatedAt: this.ctx.now() });
    const dispute = pending.disputeId ? await db.disputes.get(pending.disputeId) : undefined;
    await askApp(
      p,
      p.state === 'refund_requested'
        ? {
            action: 'reject',
            proof: lightningProof(p),
            amount: toWire(p, pending.amount).toString(),
            reason: dispute?.reason ?? 'refund requested',
            invoice: invoice.paymentRequest,
          }
        : { action: 'accept', proof: lightningProof(p), invoice: invoice.paymentRequest },
    ).catch(() => undefined);
  }

  /** A queued refund the app's operator may have denied since: the app's status says. */
  private async askAboutQueuedRefund(p: LightningPayment): Promise<void> {
    const answer = await askApp(p, { action: 'status', proof: lightningProof(p) }).catch(() => undefined);
    if (answer?.status !== 'refund_denied') return;
    const { db, disputes } = this.ctx;
    const { pendingRefund: _gone, ...rest } = p.settlement ?? { refunded: 0n };
    await transition(db, p.id, 'refund_requested', 'refund_denied', {
      settlement: rest,
      updatedAt: this.ctx.now(),
    });
    const disputeId = p.settlement?.pendingRefund?.disputeId;
    const dispute = disputeId ? await db.disputes.get(disputeId) : undefined;
    if (dispute) {
      await disputes.answered(dispute.id, answer.status, answer.note);
      await disputes.move(
        dispute,
        'denied',
        answer.note ? said('noteRefundDeniedWhy', answer.note) : said('noteRefundDenied'),
      );
    }
  }
}
