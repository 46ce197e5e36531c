/**
 * Quality gates: a charge whose app gave a review policy is provisional until the window ends.
 *
 *   paid (provisional) ─ accept / end of window ─▶ accepted   (card: capture the actual;
 *                                                              Lightning: the difference paid back)
 *                      ─ reject ─▶ refunded | partially_refunded   (card: cancel, or capture part)
 *                                  refund_requested ─▶ refunded | partially_refunded | refund_denied
 *                                  (Lightning: a refund invoice the app pays, or queues)
 *   after the window: reject is refused; a refund request goes to the card service (card) or to
 *   the app, at its discretion (Lightning).
 *
 * Money that comes back is counted from the user's own wallet (or the card service), never from
 * the app's word, and only then stops counting against the budgets.
 */
import { mppCredential } from '../../core/challenge/mpp';
import { reviewUrlProblem } from '../../core/challenge/review';
import { decodeInvoice, isExpired } from '../../core/lightning/bolt11';
import { formatMinor, formatMsatAsSats } from '../../core/money/rates';
import { english, type Said, SaidError, said } from '../../core/text/said';
import type {
  DisputeRecord,
  PayboundDb,
  PaymentRecord,
  PaymentState,
  RailRecord,
  Settlement,
  WorkerRailRecord,
} from '../../db/schema';
import { countRefunded, transition } from '../../db/transitions';
import { unitOf } from '../methods';
import type { DisputeService } from './disputes';
import {
  type CardPaymentState,
  cancelCard,
  captureCard,
  cardChargebacks,
  cardPayment,
  refundCard,
} from './rails/card';
import type { LightningRail } from './rails/types';

type CardRecord = Extract<RailRecord, { kind: 'card' }>;

/** What a settlement says now: the record's English and the Said the pages show. */
function note(s: Settlement, what: Said): void {
  s.note = english(what);
  s.noteSaid = what;
}

export class ReviewError extends SaidError {
  constructor(
    readonly code: 'not_found' | 'not_provisional' | 'window_closed' | 'already_decided' | 'bad_amount',
    reason: Said,
  ) {
    super(reason);
    this.name = 'ReviewError';
  }
}

export interface ReviewDeps {
  db: PayboundDb;
  disputes: DisputeService;
  openRail<T extends RailRecord>(r: T): Promise<T>;
  railFor(record: WorkerRailRecord): Promise<LightningRail>;
  /** Sets a wake-up (chrome.alarms) for the end of a review window. */
  wakeAt(paymentId: string, when: number): Promise<void>;
  /** A quiet notice (a window that ended by itself, a refund that arrived). Optional. */
  notify?(id: string, title: Said, message: Said): Promise<void>;
  now?: () => number;
}

/** The app's answer from its review endpoint (README, "Estimates and the review window"). */
interface AppAnswer {
  status: string;
  max?: bigint;
  actual?: bigint;
  refunded?: bigint;
  queued?: bigint;
  note?: string;
}

const REVIEW_TIMEOUT_MS = 15_000;
const DECIDED: PaymentState[] = [
  'accepted',
  'rejected',
  'refund_requested',
  'refunded',
  'partially_refunded',
  'refund_denied',
];

/**
 * What proves a Lightning charge at the app's review endpoint: the whole credential it was paid
 * with (the L402 macaroon with the preimage, or the MPP credential). The preimage alone is known to
 * every routing node on the payment's path, so the app takes it from no one.
 */
function lightningProof(p: PaymentRecord): string {
  if (!p.preimage) return '';
  if (p.protocol === 'mpp' && p.mpp) return mppCredential(p.mpp, { preimage: p.preimage });
  return `${p.macaroon}:${p.preimage}`;
}

const wireAmount = (v: unknown): bigint | undefined =>
  typeof v === 'string' && /^\d{1,24}$/.test(v) ? BigInt(v) : undefined;

export class ReviewService {
  private readonly now: () => number;
  /** One decision at a time per payment: a double click or the alarm racing the user decides once. */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: ReviewDeps) {
    this.now = deps.now ?? Date.now;
  }

  static provisional(p: PaymentRecord, now: number): boolean {
    return p.state === 'paid' && p.review?.endsAt !== undefined && now < p.review.endsAt;
  }

  /** A payment was just paid: its review window starts now. */
  async started(paymentId: string): Promise<void> {
    const { db } = this.deps;
    const p = await db.payments.get(paymentId);
    if (!p?.review || p.review.endsAt !== undefined || p.state !== 'paid') return;
    const endsAt = (p.paidAt ?? this.now()) + p.review.windowMs;
    await db.payments.update(p.id, { review: { ...p.review, endsAt } });
    await this.deps.wakeAt(p.id, endsAt);
  }

  private once<T>(paymentId: string, work: () => Promise<T>): Promise<T> {
    const prev = this.busy.get(paymentId) ?? Promise.resolve();
    const next = prev.then(work);
    // The queue's tail never rejects: the caller gets the error, nobody else has to handle it.
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.busy.set(paymentId, tail);
    void tail.then(() => {
      if (this.busy.get(paymentId) === tail) this.busy.delete(paymentId);
    });
    return next;
  }

  private async load(paymentId: string): Promise<{ p: PaymentRecord; rail: RailRecord | undefined }> {
    const p = await this.deps.db.payments.get(paymentId);
    if (!p) throw new ReviewError('not_found', said('reviewNotFound'));
    return { p, rail: await this.deps.db.rails.get(p.railId) };
  }

  /** Accepts a provisional charge: by the user, or at the end of its window. Twice is once. */
  accept(paymentId: string, by: 'user' | 'window'): Promise<PaymentRecord> {
    return this.once(paymentId, async () => {
      const { p, rail } = await this.load(paymentId);
      if (p.state === 'accepted') return p;
      if (p.state !== 'paid' || !p.review) {
        throw new ReviewError(
          DECIDED.includes(p.state) ? 'already_decided' : 'not_provisional',
          DECIDED.includes(p.state)
            ? said('reviewAlreadyState', p.state.replace(/_/g, ' '))
            : said('reviewOnlyUnderReview'),
        );
      }
      const settlement: Settlement = { ...(p.settlement ?? { refunded: 0n }) };
      if (rail?.kind === 'card' && p.paymentIntent) {
        await this.acceptCard(p, await this.deps.openRail(rail), settlement);
      } else {
        await this.acceptLightning(p, rail, settlement);
      }
      settlement.decidedAt = this.now();
      settlement.decidedBy = by;
      await transition(this.deps.db, p.id, 'paid', 'accepted', { settlement, updatedAt: this.now() });
      if (by === 'window') {
        await this.deps
          .notify?.(
            `review-${p.id}`,
            said('noticeChargeAccepted'),
            said(
              settlement.refunded > 0n ? 'noticeWindowEndedBack' : 'noticeWindowEnded',
              new URL(p.origin).host,
            ),
          )
          .catch(() => {});
      }
      return (await this.deps.db.payments.get(p.id)) ?? p;
    });
  }

  /**
   * Rejects a provisional charge (all of it, or `amountMinor` of it, in the user's currency).
   * After the window it is refused: the user can still ask for a refund.
   */
  reject(paymentId: string, reason: string, amountMinor?: bigint): Promise<DisputeRecord> {
    return this.once(paymentId, async () => {
      const { p, rail } = await this.load(paymentId);
      const existing = await this.deps.disputes.of(p.id, 'user');
      if (existing && p.state !== 'paid' && p.state !== 'accepted') return existing; // twice is once
      if (!p.review) return this.deps.disputes.reject(p.id, reason, amountMinor);
      if (p.state === 'accepted') {
        throw new ReviewError('already_decided', said('reviewAcceptedAskRefund'));
      }
      if (!ReviewService.provisional(p, this.now())) {
        throw new ReviewError(
          p.state === 'paid' ? 'window_closed' : 'not_provisional',
          p.state === 'paid'
            ? said('reviewWindowClosed', new Date(p.review.endsAt ?? 0).toISOString())
            : said('reviewOnlyPaid'),
        );
      }
      const refundNative = this.nativeOf(p, amountMinor);
      const dispute = await this.deps.disputes.open(p, reason, amountMinor, 'user');
      await transition(this.deps.db, p.id, 'paid', 'rejected', { updatedAt: this.now() });
      if (rail?.kind === 'card' && p.paymentIntent) {
        await this.rejectCard(p, await this.deps.openRail(rail), dispute, refundNative, reason);
      } else {
        await this.requestLightningRefund(p, rail, dispute, refundNative, reason, 'reject');
      }
      return (await this.deps.db.disputes.get(dispute.id)) ?? dispute;
    });
  }

  /**
   * After the window (or once accepted): a card charge is refunded through the card service; a
   * Lightning charge can only be refunded by the app, so the request goes to it.
   */
  requestRefund(paymentId: string, reason: string, amountMinor?: bigint): Promise<DisputeRecord> {
    return this.once(paymentId, async () => {
      const { p, rail } = await this.load(paymentId);
      if (ReviewService.provisional(p, this.now()))
        throw new ReviewError('not_provisional', said('reviewStillUnderReview'));
      if (!p.review) return this.deps.disputes.reject(p.id, reason, amountMinor);
      if (p.state !== 'paid' && p.state !== 'accepted')
        throw new ReviewError('already_decided', said('reviewAlreadyState', p.state.replace(/_/g, ' ')));
      const refundNative = this.nativeOf(p, amountMinor);
      const dispute = await this.deps.disputes.open(p, reason, amountMinor, 'user');
      if (rail?.kind === 'card' && p.paymentIntent) {
        await this.refundCapturedCard(p, await this.deps.openRail(rail), dispute, amountMinor);
      } else {
        await this.requestLightningRefund(p, rail, dispute, refundNative, reason, 'late');
      }
      return (await this.deps.db.disputes.get(dispute.id)) ?? dispute;
    });
  }

  /**
   * Everything that waits on time or on someone else: windows that ended (accepted), refunds the
   * app may have paid since (checked in the user's wallet), chargebacks at the card service.
   */
  async sweep(): Promise<void> {
    const { db } = this.deps;
    const now = this.now();
    const paid = await db.payments.where('state').anyOf('paid', 'refund_requested', 'accepted').toArray();
    for (const p of paid) {
      try {
        if (p.state === 'paid' && p.review?.endsAt !== undefined && p.review.endsAt <= now) {
          await this.accept(p.id, 'window');
        } else if (p.state === 'paid' && p.review && p.review.endsAt === undefined) {
          await this.started(p.id);
        } else if (p.settlement?.pendingRefund) {
          await this.once(p.id, () => this.checkPendingRefund(p.id));
        }
      } catch (e) {
        console.error('paybound: review', p.id, e);
      }
    }
    for (const rail of await db.rails.where('kind').equals('card').toArray()) {
      await this.syncChargebacks(rail as CardRecord).catch((e: unknown) =>
        console.error('paybound: chargebacks', e),
      );
    }
  }

  // ---- card ----

  private async acceptCard(p: PaymentRecord, card: CardRecord, s: Settlement): Promise<void> {
    const max = p.amountMinor ?? 0n;
    let state: CardPaymentState = await cardPayment(card, p.paymentIntent ?? '');
    if (state.overReported !== undefined) await this.overReported(p, s, state.overReported, max);
    if (state.status === 'requires_capture') {
      // The app reports its actual to the card service just after serving; a decision that comes
      // sooner asks the app itself, so it never captures the whole hold for want of a report.
      let amount: bigint | undefined;
      if (state.amountReported === undefined) {
        const answer = await this.tellApp(p, { action: 'status', proof: p.receipt ?? '' }).catch(
          () => undefined,
        );
        if (answer?.actual !== undefined && answer.actual > max)
          await this.overReported(p, s, answer.actual, max);
        else if (answer?.actual !== undefined) amount = answer.actual;
      }
      // Without an amount the service captures what the app reported (never above the authorization).
      state = await captureCard(card, p.paymentIntent ?? '', amount);
    }
    s.actual = state.amountCaptured;
    s.refunded = max - state.amountCaptured + state.amountRefunded;
    await this.tellApp(p, { action: 'accept', proof: p.receipt ?? '' }).catch(() => undefined);
  }

  private async rejectCard(
    p: PaymentRecord,
    card: CardRecord,
    dispute: DisputeRecord,
    refundMinor: bigint,
    reason: string,
  ): Promise<void> {
    const max = p.amountMinor ?? 0n;
    const s: Settlement = { ...(p.settlement ?? { refunded: 0n }) };
    try {
      const before = await cardPayment(card, p.paymentIntent ?? '');
      if (before.overReported !== undefined) await this.overReported(p, s, before.overReported, max);
      const owed = before.amountReported ?? max;
      const keep = owed > refundMinor ? owed - refundMinor : 0n;
      const after =
        keep === 0n
          ? await cancelCard(card, p.paymentIntent ?? '')
          : await captureCard(card, p.paymentIntent ?? '', keep);
      s.actual = after.amountCaptured;
      s.refunded = max - after.amountCaptured;
      s.decidedAt = this.now();
      s.decidedBy = 'user';
      const full = after.amountCaptured === 0n;
      await this.refunded(
        p,
        dispute,
        s,
        full,
        full
          ? said('noteCardCancelled')
          : said('noteCardPartly', this.money(p, after.amountCaptured), this.money(p, max)),
      );
      await this.tellApp(p, {
        action: 'reject',
        proof: p.receipt ?? '',
        amount: refundMinor.toString(),
        reason,
      }).catch(() => undefined);
    } catch (e) {
      await this.deps.disputes.move(
        dispute,
        'escalated',
        said('noteCardNotSettled', e instanceof Error ? e.message : 'no answer'),
      );
    }
  }

  /** After the window: the captured charge is refunded (all that is left, or `amountMinor`). */
  private async refundCapturedCard(
    p: PaymentRecord,
    card: CardRecord,
    dispute: DisputeRecord,
    amountMinor: bigint | undefined,
  ): Promise<void> {
    const max = p.amountMinor ?? 0n;
    try {
      await refundCard(card, p.paymentIntent ?? '', amountMinor);
      const after = await cardPayment(card, p.paymentIntent ?? '');
      const s: Settlement = {
        ...(p.settlement ?? { refunded: 0n }),
        refunded: max - after.amountCaptured + after.amountRefunded,
      };
      await this.refunded(
        p,
        dispute,
        s,
        after.amountRefunded >= after.amountCaptured,
        amountMinor !== undefined
          ? said('noteCardRefunded', this.money(p, amountMinor))
          : said('noteCardRefundedAll'),
      );
    } catch (e) {
      await this.deps.disputes.move(
        dispute,
        'escalated',
        said('noteCardNotRefunded', e instanceof Error ? e.message : 'no answer'),
      );
    }
  }

  /** Money came back (all, or part): the payment, the budgets and the dispute say so. */
  private async refunded(
    p: PaymentRecord,
    dispute: DisputeRecord,
    s: Settlement,
    full: boolean,
    note: Said,
  ): Promise<void> {
    await transition(
      this.deps.db,
      p.id,
      ['paid', 'accepted', 'rejected'],
      full ? 'refunded' : 'partially_refunded',
      { settlement: s, updatedAt: this.now() },
    );
    await this.deps.disputes.move(dispute, full ? 'refunded' : 'partially_refunded', note);
  }

  /** A chargeback the card network opened shows up as a dispute, once. */
  private async syncChargebacks(card: CardRecord): Promise<void> {
    const { db } = this.deps;
    const chargebacks = await cardChargebacks(await this.deps.openRail(card));
    if (chargebacks.length === 0) return;
    const known = new Set((await db.disputes.toArray()).map((d) => d.chargebackId));
    for (const cb of chargebacks) {
      if (known.has(cb.id)) continue;
      // Rare (a chargeback), so a scan is fine; payments are not indexed by PaymentIntent.
      const p = await db.payments.filter((x) => x.paymentIntent === cb.paymentIntent).first();
      if (!p) continue;
      const d = await this.deps.disputes.open(
        p,
        `chargeback at the card network (${cb.reason.replace(/_/g, ' ')})`,
        cb.amount,
        'chargeback',
        cb.id,
      );
      await this.deps.disputes.move(d, 'escalated', said('noteChargeback', cb.status.replace(/_/g, ' ')));
    }
  }

  // ---- Lightning ----

  private async acceptLightning(
    p: PaymentRecord,
    rail: RailRecord | undefined,
    s: Settlement,
  ): Promise<void> {
    const max = p.amountMsat;
    let answer: AppAnswer;
    try {
      answer = await this.tellApp(p, { action: 'status', proof: lightningProof(p) });
    } catch (e) {
      note(s, said('noteReviewNoAnswer', e instanceof Error ? e.message : 'no answer'));
      return;
    }
    let back = 0n;
    if (answer.actual !== undefined && answer.actual > max) {
      await this.overReported(p, s, answer.actual, max);
      s.actual = max;
    } else if (answer.actual !== undefined) {
      s.actual = answer.actual;
      back = ((max - answer.actual - s.refunded) / 1000n) * 1000n;
    }
    const canReceive = rail?.kind === 'lnbits' || rail?.kind === 'nwc';
    if (back > 0n && !canReceive) note(s, said('notePageWalletNoRefund'));
    if (back <= 0n || !canReceive) {
      await this.tellApp(p, { action: 'accept', proof: lightningProof(p) }).catch(() => undefined);
      return;
    }
    const wallet = await this.deps.railFor(rail);
    // An earlier attempt (a worker stopped mid-accept) may have handed over an invoice already:
    // reuse it rather than ask for the difference twice.
    const earlier = s.pendingRefund;
    if (earlier && (await wallet.received(earlier.paymentHash).catch(() => false))) {
      s.refunded += earlier.amount;
      delete s.pendingRefund;
      note(s, said('noteDifferenceBack'));
      return;
    }
    const reusable = earlier && !isExpired(decodeInvoice(earlier.invoice), Math.floor(this.now() / 1000), 60);
    const invoice = reusable
      ? { paymentRequest: earlier.invoice, paymentHash: earlier.paymentHash }
      : await wallet.makeInvoice(back, `Paybound: the unused part of a charge from ${p.origin}`);
    s.pendingRefund = {
      invoice: invoice.paymentRequest,
      paymentHash: invoice.paymentHash,
      amount: reusable ? earlier.amount : back,
      requestedAt: this.now(),
    };
    // Written down before the app is asked: whatever happens next, this invoice is known.
    await this.deps.db.payments.update(p.id, { settlement: { ...s }, updatedAt: this.now() });
    try {
      await this.tellApp(p, {
        action: 'accept',
        proof: lightningProof(p),
        invoice: invoice.paymentRequest,
      });
    } catch (e) {
      note(s, said('noteDifferenceNotYet', e instanceof Error ? e.message : 'no answer'));
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
  private async requestLightningRefund(
    p: PaymentRecord,
    rail: RailRecord | undefined,
    dispute: DisputeRecord,
    amountMsat: bigint,
    reason: string,
    kind: 'reject' | 'late',
  ): Promise<void> {
    const s: Settlement = { ...(p.settlement ?? { refunded: 0n }) };
    const whole = (amountMsat / 1000n) * 1000n;
    if (rail?.kind !== 'lnbits' && rail?.kind !== 'nwc') {
      await this.deps.disputes.move(dispute, 'open', said('notePageWalletDispute'));
      return;
    }
    if (whole <= 0n) {
      await this.deps.disputes.move(dispute, 'denied', said('noteNothingToRefund'));
      return;
    }
    let invoice: { paymentRequest: string; paymentHash: string };
    try {
      invoice = await (await this.deps.railFor(rail)).makeInvoice(whole, `Paybound: refund from ${p.origin}`);
    } catch (e) {
      await this.deps.disputes.move(
        dispute,
        'open',
        said('noteNoRefundInvoice', e instanceof Error ? e.message : 'no answer'),
      );
      return;
    }
    s.pendingRefund = {
      invoice: invoice.paymentRequest,
      paymentHash: invoice.paymentHash,
      amount: whole,
      requestedAt: this.now(),
      disputeId: dispute.id,
    };
    s.decidedAt = this.now();
    s.decidedBy = 'user';
    await transition(this.deps.db, p.id, ['paid', 'accepted', 'rejected'], 'refund_requested', {
      settlement: s,
      updatedAt: this.now(),
    });
    let answer: AppAnswer;
    try {
      answer = await this.tellApp(p, {
        action: 'reject',
        proof: lightningProof(p),
        amount: this.toWire(p, whole).toString(),
        reason,
        invoice: invoice.paymentRequest,
      });
    } catch (e) {
      await this.deps.disputes.move(
        dispute,
        'open',
        said('noteRefundUrlFailed', e instanceof Error ? e.message : 'no answer'),
      );
      return;
    }
    await this.deps.disputes.answered(dispute.id, answer.status, answer.note);
    if (answer.status === 'refund_denied') {
      const { pendingRefund: _gone, ...rest } = s;
      await transition(this.deps.db, p.id, 'refund_requested', 'refund_denied', {
        settlement: rest,
        updatedAt: this.now(),
      });
      await this.deps.disputes.move(
        dispute,
        'denied',
        answer.note ? said('noteRefundDeniedWhy', answer.note) : said('noteRefundDenied'),
      );
      return;
    }
    if (!(await this.checkPendingRefund(p.id))) {
      const fresh = (await this.deps.db.disputes.get(dispute.id)) ?? dispute;
      await this.deps.disputes.move(
        fresh,
        'open',
        answer.status === 'refund_queued'
          ? said(kind === 'late' ? 'noteRefundQueuedLate' : 'noteRefundQueued')
          : said('noteRefundUnpaid'),
      );
    }
  }

  /** True once the refund invoice is paid in the user's own wallet; settles payment and dispute. */
  private async checkPendingRefund(paymentId: string): Promise<boolean> {
    const { db } = this.deps;
    const p = await db.payments.get(paymentId);
    const pending = p?.settlement?.pendingRefund;
    const rail = p ? await db.rails.get(p.railId) : undefined;
    if (!p || !pending || (rail?.kind !== 'lnbits' && rail?.kind !== 'nwc')) return false;
    const paid = await (await this.deps.railFor(rail)).received(pending.paymentHash).catch(() => false);
    if (!paid) {
      if (isExpired(decodeInvoice(pending.invoice), Math.floor(this.now() / 1000), 0)) {
        await this.renewRefundInvoice(p, rail, pending);
      } else if (p.state === 'refund_requested') await this.askAboutQueuedRefund(p);
      return false;
    }
    const { pendingRefund: _done, ...rest } = p.settlement ?? { refunded: 0n };
    const settlement: Settlement = { ...rest, refunded: rest.refunded + pending.amount };
    const full = settlement.refunded >= p.amountMsat - 999n;
    const wasReject = p.state === 'refund_requested';
    if (wasReject) {
      await transition(db, p.id, 'refund_requested', full ? 'refunded' : 'partially_refunded', {
        settlement,
        updatedAt: this.now(),
      });
    } else {
      // The difference after an accept: the state stays, what came back stops counting.
      await db.payments.update(p.id, { settlement, updatedAt: this.now() });
      await countRefunded(db, p.id);
    }
    await this.deps
      .notify?.(
        `refund-${p.id}`,
        said('noticeRefundReceived'),
        said('noticeRefundCameBack', new URL(p.origin).host, `${pending.amount / 1000n} sat`),
      )
      .catch(() => {});
    const dispute = pending.disputeId ? await db.disputes.get(pending.disputeId) : undefined;
    if (dispute && wasReject) {
      await this.deps.disputes.move(
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
    p: PaymentRecord,
    rail: WorkerRailRecord,
    pending: NonNullable<Settlement['pendingRefund']>,
  ): Promise<void> {
    const invoice = await (await this.deps.railFor(rail)).makeInvoice(
      pending.amount,
      `Paybound: refund from ${p.origin}`,
    );
    const settlement: Settlement = {
      ...(p.settlement ?? { refunded: 0n }),
      pendingRefund: { ...pending, invoice: invoice.paymentRequest, paymentHash: invoice.paymentHash },
    };
    await this.deps.db.payments.update(p.id, { settlement, updatedAt: this.now() });
    const dispute = pending.disputeId ? await this.deps.db.disputes.get(pending.disputeId) : undefined;
    await this.tellApp(
      p,
      p.state === 'refund_requested'
        ? {
            action: 'reject',
            proof: lightningProof(p),
            amount: this.toWire(p, pending.amount).toString(),
            reason: dispute?.reason ?? 'refund requested',
            invoice: invoice.paymentRequest,
          }
        : { action: 'accept', proof: lightningProof(p), invoice: invoice.paymentRequest },
    ).catch(() => undefined);
  }

  /** A queued refund the app's operator may have denied since: the app's status says. */
  private async askAboutQueuedRefund(p: PaymentRecord): Promise<void> {
    const answer = await this.tellApp(p, { action: 'status', proof: lightningProof(p) }).catch(
      () => undefined,
    );
    if (answer?.status !== 'refund_denied') return;
    const { db } = this.deps;
    const { pendingRefund: _gone, ...rest } = p.settlement ?? { refunded: 0n };
    await transition(db, p.id, 'refund_requested', 'refund_denied', {
      settlement: rest,
      updatedAt: this.now(),
    });
    const disputeId = p.settlement?.pendingRefund?.disputeId;
    const dispute = disputeId ? await db.disputes.get(disputeId) : undefined;
    if (dispute) {
      await this.deps.disputes.answered(dispute.id, answer.status, answer.note);
      await this.deps.disputes.move(
        dispute,
        'denied',
        answer.note ? said('noteRefundDeniedWhy', answer.note) : said('noteRefundDenied'),
      );
    }
  }

  // ---- shared ----

  /** The app reported more than the user authorized: nothing above the maximum is paid; disputed. */
  private async overReported(p: PaymentRecord, s: Settlement, reported: bigint, max: bigint): Promise<void> {
    s.overReported = reported;
    if (await this.deps.disputes.of(p.id, 'app')) return;
    const d = await this.deps.disputes.open(
      p,
      said('noteOverReported', this.money(p, reported), this.money(p, max)),
      undefined,
      'app',
    );
    await this.deps.disputes.move(d, 'escalated', said('noteOverReportedKept'));
  }

  /** An amount in the payment's own unit, as the user reads it: the card's currency, or sats. */
  private money(p: PaymentRecord, v: bigint): string {
    return unitOf(p) === 'minor'
      ? formatMinor(v, (p.mpp?.request.currency ?? 'usd').toUpperCase())
      : formatMsatAsSats(v);
  }

  /** Minor units of the user's currency the user asks back → the payment's own unit. */
  private nativeOf(p: PaymentRecord, amountMinor: bigint | undefined): bigint {
    const total = p.amountMinor ?? 0n;
    if (amountMinor !== undefined && (amountMinor <= 0n || amountMinor > total)) {
      throw new ReviewError('bad_amount', said('reviewBadAmount'));
    }
    const isCard = unitOf(p) === 'minor';
    const whole = isCard ? total : p.amountMsat;
    const left = whole - (p.settlement?.refunded ?? 0n);
    if (amountMinor === undefined || total === 0n) return left;
    const part = isCard ? amountMinor : (p.amountMsat * amountMinor) / total;
    return part < left ? part : left;
  }

  private toWire(p: PaymentRecord, native: bigint): bigint {
    return p.review?.unit === 'sat' ? native / 1000n : native;
  }

  /** One call to the app's review endpoint. Throws with the app's message on anything but 200. */
  private async tellApp(p: PaymentRecord, body: Record<string, string>): Promise<AppAnswer> {
    const review = p.review;
    if (!review) throw new Error('no review endpoint');
    // Checked again at the door (the terms were checked when quoted; a backup or an older record
    // may not have been): only where the paying page could have sent this itself.
    const problem = reviewUrlProblem(review.refundUrl, p.url, p.origin);
    if (problem) throw new Error(`not sent: ${problem}`);
    let res: Response;
    try {
      res = await fetch(review.refundUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ v: 1, charge: review.chargeId, ...body }),
        credentials: 'omit',
        // A redirect could lead anywhere, this extension's fetch skipping CORS: refused.
        redirect: 'error',
        referrerPolicy: 'no-referrer',
        signal: AbortSignal.timeout(REVIEW_TIMEOUT_MS),
      });
    } catch {
      throw new Error('the review endpoint could not be reached');
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status !== 200) {
      const err = json.error as { message?: unknown } | undefined;
      throw new Error(typeof err?.message === 'string' ? err.message : `HTTP ${res.status}`);
    }
    const scale = review.unit === 'sat' ? 1000n : 1n;
    const amount = (k: string) => {
      const v = wireAmount(json[k]);
      return v === undefined ? {} : { [k]: v * scale };
    };
    return {
      status: typeof json.status === 'string' ? json.status : 'unknown',
      ...amount('max'),
      ...amount('actual'),
      ...amount('refunded'),
      ...amount('queued'),
      ...(typeof json.note === 'string' ? { note: json.note.slice(0, 500) } : {}),
    };
  }
}
