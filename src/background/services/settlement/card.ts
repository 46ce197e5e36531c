/**
 * Settling card charges through the card service: capture the actual on accept, cancel or
 * capture part on a reject in the window, refund afterwards, and chargebacks. Amounts are minor
 * units of the card's currency; what came back is read from the card service, never taken from
 * the app's word.
 */
import { said } from '../../../core/text/said';
import type { CardPayment, DisputeRecord, RailRecord, Settlement } from '../../../db/schema';
import { countRefunded } from '../../../db/transitions';
import {
  type CardPaymentState,
  cancelCard,
  captureCard,
  cardChargebacks,
  cardPayment,
  refundCard,
} from '../rails/card';
import { askApp } from './review-endpoint';
import { money, overReported, refunded, type SettleContext } from './shared';

export type CardRail = Extract<RailRecord, { kind: 'card' }>;

const errorText = (e: unknown) => (e instanceof Error ? e.message : 'no answer');

export class CardSettlement {
  constructor(private readonly ctx: SettleContext) {}

  /** The PaymentIntent the authorization made (every paid card charge has one). */
  private intent(p: CardPayment): string {
    const id = p.card.paymentIntent;
    if (!id) throw new Error('this card charge was never authorized');
    return id;
  }

  /** Accepted: the actual amount is captured (never above the authorization). */
  async accept(p: CardPayment, card: CardRail, s: Settlement): Promise<void> {
    const max = p.amount.value;
    const pi = this.intent(p);
    let state: CardPaymentState = await cardPayment(card, pi);
    if (state.overReported !== undefined) await overReported(this.ctx, p, s, state.overReported, max);
    if (state.status === 'requires_capture') {
      // The app reports its actual to the card service just after serving; a decision that comes
      // sooner asks the app itself, so it never captures the whole hold for want of a report.
      let amount: bigint | undefined;
      if (state.amountReported === undefined) {
        const answer = await askApp(p, { action: 'status', proof: p.card.receipt ?? '' }).catch(
          () => undefined,
        );
        if (answer?.actual !== undefined && answer.actual > max)
          await overReported(this.ctx, p, s, answer.actual, max);
        else if (answer?.actual !== undefined) amount = answer.actual;
      }
      // Without an amount the service captures what the app reported (never above the authorization).
      state = await captureCard(card, pi, amount);
    }
    s.actual = state.amountCaptured;
    s.refunded = max - state.amountCaptured + state.amountRefunded;
    await askApp(p, { action: 'accept', proof: p.card.receipt ?? '' }).catch(() => undefined);
  }

  /** Rejected in the window: the hold is cancelled, or only what the user keeps is captured. */
  async reject(
    p: CardPayment,
    card: CardRail,
    dispute: DisputeRecord,
    refundMinor: bigint,
    reason: string,
  ): Promise<void> {
    const max = p.amount.value;
    const s: Settlement = { ...(p.settlement ?? { refunded: 0n }) };
    try {
      const pi = this.intent(p);
      const before = await cardPayment(card, pi);
      if (before.overReported !== undefined) await overReported(this.ctx, p, s, before.overReported, max);
      const owed = before.amountReported ?? max;
      const keep = owed > refundMinor ? owed - refundMinor : 0n;
      const after = keep === 0n ? await cancelCard(card, pi) : await captureCard(card, pi, keep);
      s.actual = after.amountCaptured;
      s.refunded = max - after.amountCaptured;
      s.decidedAt = this.ctx.now();
      s.decidedBy = 'user';
      const full = after.amountCaptured === 0n;
      await refunded(
        this.ctx,
        p,
        dispute,
        s,
        full,
        full
          ? said('noteCardCancelled')
          : said('noteCardPartly', money(p, after.amountCaptured), money(p, max)),
      );
      await askApp(p, {
        action: 'reject',
        proof: p.card.receipt ?? '',
        amount: refundMinor.toString(),
        reason,
      }).catch(() => undefined);
    } catch (e) {
      await this.ctx.disputes.move(dispute, 'escalated', said('noteCardNotSettled', errorText(e)));
    }
  }

  /**
   * The one way a card charge is refunded (all that is left, or `amountMinor`): asked of the card
   * service, then what came back is read from it. A reviewed charge moves to refunded; a charge
   * without review terms keeps its `rejected` (the user's word), the dispute saying how it ended.
   */
  async refund(
    p: CardPayment,
    card: CardRail,
    dispute: DisputeRecord,
    amountMinor: bigint | undefined,
  ): Promise<void> {
    const { db } = this.ctx;
    const max = p.amount.value;
    try {
      const pi = this.intent(p);
      const how = await refundCard(card, pi, amountMinor);
      const after = await cardPayment(card, pi);
      const s: Settlement = {
        ...(p.settlement ?? { refunded: 0n }),
        refunded: max - after.amountCaptured + after.amountRefunded,
      };
      const full = after.amountRefunded >= after.amountCaptured;
      const what =
        how === 'cancelled'
          ? said('noteCardCancelled')
          : amountMinor !== undefined
            ? said('noteCardRefunded', money(p, amountMinor))
            : said('noteCardRefundedAll');
      if (p.review) {
        await refunded(this.ctx, p, dispute, s, full, what);
        return;
      }
      await db.payments.update(p.id, { settlement: s, updatedAt: this.ctx.now() });
      // What came back no longer counts against the budgets (once, however often asked).
      await countRefunded(db, p.id);
      await this.ctx.disputes.move(dispute, full ? 'refunded' : 'partially_refunded', what);
    } catch (e) {
      await this.ctx.disputes.move(dispute, 'escalated', said('noteCardNotRefunded', errorText(e)));
    }
  }

  /** A chargeback the card network opened shows up as a dispute, once. */
  async syncChargebacks(card: CardRail): Promise<void> {
    const { db } = this.ctx;
    const chargebacks = await cardChargebacks(await this.ctx.openRail(card));
    if (chargebacks.length === 0) return;
    const known = new Set((await db.disputes.toArray()).map((d) => d.chargebackId));
    for (const cb of chargebacks) {
      if (known.has(cb.id)) continue;
      // Rare (a chargeback), so a scan is fine; payments are not indexed by PaymentIntent.
      const p = await db.payments
        .filter((x) => x.kind === 'card' && x.card.paymentIntent === cb.paymentIntent)
        .first();
      if (!p) continue;
      const d = await this.ctx.disputes.open(
        p,
        `chargeback at the card network (${cb.reason.replace(/_/g, ' ')})`,
        cb.amount,
        'chargeback',
        cb.id,
      );
      await this.ctx.disputes.move(d, 'escalated', said('noteChargeback', cb.status.replace(/_/g, ' ')));
    }
  }
}
