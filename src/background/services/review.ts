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
 * This service keeps the rules every method shares (who may decide what, when, once); each
 * method's engine in `settlement/` moves the money. Money that comes back is counted from the
 * user's own wallet (or the card service), never from the app's word, and only then stops
 * counting against the budgets.
 */
import { type Said, SaidError, said } from '../../core/text/said';
import type {
  DisputeRecord,
  PayboundDb,
  PaymentRecord,
  PaymentState,
  RailRecord,
  Settlement,
  WorkerRailRecord,
} from '../../db/schema';
import { transition } from '../../db/transitions';
import type { DisputeService } from './disputes';
import type { LightningRail } from './rails/types';
import { type CardRail, CardSettlement } from './settlement/card';
import { LightningSettlement } from './settlement/lightning';
import type { SettleContext } from './settlement/shared';

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

const DECIDED: PaymentState[] = [
  'accepted',
  'rejected',
  'refund_requested',
  'refunded',
  'partially_refunded',
  'refund_denied',
];

export class ReviewService {
  private readonly now: () => number;
  /** One decision at a time per payment: a double click or the alarm racing the user decides once. */
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly card: CardSettlement;
  private readonly lightning: LightningSettlement;

  constructor(private readonly deps: ReviewDeps) {
    this.now = deps.now ?? Date.now;
    const ctx: SettleContext = {
      db: deps.db,
      disputes: deps.disputes,
      openRail: (r) => deps.openRail(r),
      railFor: (r) => deps.railFor(r),
      ...(deps.notify ? { notify: deps.notify } : {}),
      now: this.now,
    };
    this.card = new CardSettlement(ctx);
    this.lightning = new LightningSettlement(ctx);
  }

  static provisional(p: PaymentRecord, now: number): boolean {
    return p.state === 'paid' && p.review?.endsAt !== undefined && now < p.review.endsAt;
  }

  /**
   * A payment was just paid: its review window (its end written with the paid state, see
   * `transition`; here for records paid before that) gets the alarm that closes it.
   */
  async started(paymentId: string): Promise<void> {
    const { db } = this.deps;
    const p = await db.payments.get(paymentId);
    if (!p?.review || p.state !== 'paid') return;
    let endsAt = p.review.endsAt;
    if (endsAt === undefined) {
      endsAt = (p.paidAt ?? this.now()) + p.review.windowMs;
      await db.payments.update(p.id, { review: { ...p.review, endsAt } });
    }
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

  /** The linked card that paid a card charge, unsealed. */
  private async cardOf(rail: RailRecord | undefined): Promise<CardRail> {
    if (rail?.kind !== 'card') throw new Error('the card that paid this charge is no longer linked');
    return this.deps.openRail(rail);
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
      if (p.kind === 'card') await this.card.accept(p, await this.cardOf(rail), settlement);
      else if (p.kind === 'lightning') await this.lightning.accept(p, rail, settlement);
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
      if (!p.review) return this.rejectUnreviewed(p, rail, reason, amountMinor);
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
      if (p.kind === 'card') {
        const card = await this.cardOf(rail).catch(() => undefined);
        if (card) await this.card.reject(p, card, dispute, refundNative, reason);
        else await this.deps.disputes.move(dispute, 'escalated', said('noteCardNotSettled', 'no card'));
      } else if (p.kind === 'lightning') {
        await this.lightning.requestRefund(p, rail, dispute, refundNative, reason, 'reject');
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
      if (!p.review) return this.rejectUnreviewed(p, rail, reason, amountMinor);
      if (p.state !== 'paid' && p.state !== 'accepted')
        throw new ReviewError('already_decided', said('reviewAlreadyState', p.state.replace(/_/g, ' ')));
      const refundNative = this.nativeOf(p, amountMinor);
      const dispute = await this.deps.disputes.open(p, reason, amountMinor, 'user');
      if (p.kind === 'card') await this.refundCard(p, rail, dispute, amountMinor);
      else if (p.kind === 'lightning')
        await this.lightning.requestRefund(p, rail, dispute, refundNative, reason, 'late');
      return (await this.deps.db.disputes.get(dispute.id)) ?? dispute;
    });
  }

  /**
   * A charge without review terms, rejected (all of it, or `amountMinor`): once per payment, and
   * only once paid. A card is refunded through the card service; a Lightning refund is the app's
   * to give, and the dispute says so.
   */
  private async rejectUnreviewed(
    p: PaymentRecord,
    rail: RailRecord | undefined,
    reason: string,
    amountMinor: bigint | undefined,
  ): Promise<DisputeRecord> {
    const { db, disputes } = this.deps;
    if (p.state !== 'paid' && p.state !== 'accepted')
      throw new ReviewError('not_provisional', said('reviewOnlyPaid'));
    if (await db.disputes.where('paymentId').equals(p.id).first()) {
      throw new ReviewError('already_decided', said('disputeAlready'));
    }
    if (
      amountMinor !== undefined &&
      (amountMinor <= 0n || (p.amountMinor !== undefined && amountMinor > p.amountMinor))
    ) {
      throw new ReviewError('bad_amount', said('reviewBadAmount'));
    }
    await transition(db, p.id, ['paid', 'accepted'], 'rejected', { updatedAt: this.now() });
    const dispute = await disputes.open(p, reason, amountMinor, 'user');
    const fresh = (await db.payments.get(p.id)) ?? p;
    if (fresh.kind === 'card') await this.refundCard(fresh, rail, dispute, amountMinor);
    else await disputes.move(dispute, 'open', said('noteLightningByApp'));
    return (await db.disputes.get(dispute.id)) ?? dispute;
  }

  /** The card refund, whatever asked for it (see CardSettlement.refund). */
  private async refundCard(
    p: Extract<PaymentRecord, { kind: 'card' }>,
    rail: RailRecord | undefined,
    dispute: DisputeRecord,
    amountMinor: bigint | undefined,
  ): Promise<void> {
    let card: CardRail;
    try {
      card = await this.cardOf(rail);
    } catch (e) {
      await this.deps.disputes.move(
        dispute,
        'escalated',
        said('noteCardNotRefunded', e instanceof Error ? e.message : 'no answer'),
      );
      return;
    }
    await this.card.refund(p, card, dispute, amountMinor);
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
          await this.once(p.id, () => this.lightning.checkPendingRefund(p.id));
        }
      } catch (e) {
        console.error('paybound: review', p.id, e);
      }
    }
    for (const rail of await db.rails.where('kind').equals('card').toArray()) {
      if (rail.kind !== 'card') continue;
      await this.card.syncChargebacks(rail).catch((e: unknown) => console.error('paybound: chargebacks', e));
    }
  }

  /** Minor units of the user's currency the user asks back → the payment's own unit. */
  private nativeOf(p: PaymentRecord, amountMinor: bigint | undefined): bigint {
    const total = p.amountMinor ?? 0n;
    if (amountMinor !== undefined && (amountMinor <= 0n || amountMinor > total)) {
      throw new ReviewError('bad_amount', said('reviewBadAmount'));
    }
    const whole = p.amount.value;
    const left = whole - (p.settlement?.refunded ?? 0n);
    if (amountMinor === undefined || total === 0n) return left;
    const part = p.kind === 'card' ? amountMinor : (p.amount.value * amountMinor) / total;
    return part < left ? part : left;
  }
}
