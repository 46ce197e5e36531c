/**
 * The dispute log: a failed proof opens one by itself; the user opens one by rejecting what was
 * delivered. A card charge is refunded through the card service (its authorization cancelled if
 * not yet captured); a Lightning refund is at the app's discretion, and the dispute says so.
 */

import { english, type Said, SaidError, said } from '../../core/text/said';
import { refundSpend } from '../../db/ledger';
import type { DisputeRecord, DisputeStatus, PayboundDb, PaymentRecord, RailRecord } from '../../db/schema';
import { transition } from '../../db/transitions';
import { refundCard } from './rails/card';

export class DisputeError extends SaidError {}

export class DisputeService {
  constructor(
    private readonly db: PayboundDb,
    private readonly openRail: <T extends RailRecord>(r: T) => Promise<T>,
    private readonly now: () => number = Date.now,
  ) {}

  async open(
    p: PaymentRecord,
    /** The user's own words, or (when the app or a proof opened it) what Paybound says. */
    reason: string | Said,
    requestedMinor?: bigint,
    source: NonNullable<DisputeRecord['source']> = 'proof',
    chargebackId?: string,
  ): Promise<DisputeRecord> {
    const at = this.now();
    const dispute: DisputeRecord = {
      id: crypto.randomUUID(),
      paymentId: p.id,
      origin: p.origin,
      ...(typeof reason === 'string' ? { reason } : { reason: english(reason), reasonSaid: reason }),
      ...(requestedMinor !== undefined ? { requestedMinor } : {}),
      evidence: {
        url: p.url,
        challengeHeaders: p.challengeHeaders ?? [],
        amountMsat: p.amountMsat,
        ...(p.amountMinor !== undefined ? { amountMinor: p.amountMinor } : {}),
        ...(p.rate
          ? { currency: p.rate.currency }
          : p.mpp
            ? { currency: p.mpp.request.currency.toUpperCase() }
            : {}),
        proof: {
          ...(p.preimage ? { preimage: p.preimage } : {}),
          ...(p.receipt ? { receipt: p.receipt } : {}),
          ...(p.paymentHash ? { paymentHash: p.paymentHash } : {}),
        },
        ...(p.paidAt !== undefined ? { paidAt: p.paidAt } : {}),
        ...(p.rate ? { rate: p.rate } : {}),
        ...(p.estimate ? { estimate: p.estimate } : {}),
        ...(p.delivery ? { delivery: p.delivery } : {}),
      },
      status: 'open',
      timeline: [
        typeof reason === 'string'
          ? { at, status: 'open', note: reason }
          : { at, status: 'open', note: english(reason), said: reason },
      ],
      openedAt: at,
      source,
      ...(chargebackId !== undefined ? { chargebackId } : {}),
    };
    await this.db.disputes.add(dispute);
    return dispute;
  }

  /**
   * A payment's dispute opened by `source` (a payment may have several: the user's reject, an
   * over-reporting app, a chargeback). Disputes from before sources were kept count as the user's.
   */
  async of(
    paymentId: string,
    source: NonNullable<DisputeRecord['source']>,
  ): Promise<DisputeRecord | undefined> {
    return this.db.disputes
      .where('paymentId')
      .equals(paymentId)
      .filter((d) => (d.source ?? 'user') === source)
      .first();
  }

  /** Adds a step to a dispute's timeline (read afresh: steps may come from several places). */
  async move(d: DisputeRecord, status: DisputeStatus, note: Said): Promise<void> {
    await this.db.transaction('rw', this.db.disputes, async () => {
      const fresh = (await this.db.disputes.get(d.id)) ?? d;
      await this.db.disputes.update(d.id, {
        status,
        timeline: [...fresh.timeline, { at: this.now(), status, note: english(note), said: note }],
      });
    });
  }

  /** Records the app's answer to a refund request. */
  async answered(id: string, status: string, note?: string): Promise<void> {
    await this.db.disputes.update(id, {
      answer: { at: this.now(), status, ...(note !== undefined ? { note } : {}) },
    });
  }

  /**
   * The user rejects a paid charge (all of it, or `amountMinor` of it). Once per payment: a second
   * reject is refused, as is one of a payment that was never paid.
   */
  async reject(paymentId: string, reason: string, amountMinor?: bigint): Promise<DisputeRecord> {
    const p = await this.db.payments.get(paymentId);
    if (!p || (p.state !== 'paid' && p.state !== 'accepted')) throw new DisputeError(said('reviewOnlyPaid'));
    if (await this.db.disputes.where('paymentId').equals(paymentId).first()) {
      throw new DisputeError(said('disputeAlready'));
    }
    if (
      amountMinor !== undefined &&
      (amountMinor <= 0n || (p.amountMinor !== undefined && amountMinor > p.amountMinor))
    ) {
      throw new DisputeError(said('reviewBadAmount'));
    }
    await transition(this.db, paymentId, ['paid', 'accepted'], 'rejected', { updatedAt: this.now() });
    const dispute = await this.open(p, reason, amountMinor, 'user');
    const rail = await this.db.rails.get(p.railId);
    if (rail?.kind === 'card' && p.paymentIntent) {
      try {
        const r = await refundCard(await this.openRail(rail), p.paymentIntent, amountMinor);
        const partial =
          amountMinor !== undefined && p.amountMinor !== undefined && amountMinor < p.amountMinor;
        // What came back no longer counts against the budgets.
        await refundSpend(this.db, p.id, amountMinor ?? p.amountMinor ?? 0n);
        await this.move(
          dispute,
          partial ? 'partially_refunded' : 'refunded',
          said(r === 'cancelled' ? 'noteCardCancelled' : 'noteCardRefundedCharge'),
        );
      } catch (e) {
        await this.move(
          dispute,
          'escalated',
          said('noteCardNotRefunded', e instanceof Error ? e.message : 'no answer'),
        );
      }
    } else {
      await this.move(dispute, 'open', said('noteLightningByApp'));
    }
    return (await this.db.disputes.get(dispute.id)) ?? dispute;
  }

  async list(): Promise<DisputeRecord[]> {
    return this.db.disputes.orderBy('openedAt').reverse().toArray();
  }
}
