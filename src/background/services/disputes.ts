/**
 * The dispute log: a failed proof opens one by itself; the user opens one by rejecting what was
 * delivered (the review service decides what that does to the money, `settlement/` moves it); an
 * app that over-reports and a card chargeback open their own.
 */

import { english, type Said } from '../../core/text/said';
import type { DisputeRecord, DisputeStatus, PayboundDb, PaymentRecord } from '../../db/schema';

export class DisputeService {
  constructor(
    private readonly db: PayboundDb,
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
        // The evidence keeps its shape: a card charge has no sats.
        amountMsat: p.kind === 'lightning' ? p.amount.value : 0n,
        ...(p.amountMinor !== undefined ? { amountMinor: p.amountMinor } : {}),
        ...(p.rate
          ? { currency: p.rate.currency }
          : p.kind === 'card'
            ? { currency: p.amount.currency }
            : {}),
        proof:
          p.kind === 'lightning'
            ? {
                ...(p.lightning.preimage ? { preimage: p.lightning.preimage } : {}),
                paymentHash: p.lightning.paymentHash,
              }
            : p.kind === 'card'
              ? p.card.receipt
                ? { receipt: p.card.receipt }
                : {}
              : {
                  ...(p.x402.settlement ? { transaction: p.x402.settlement.transaction } : {}),
                  ...(p.x402.authorization ? { nonce: p.x402.authorization.nonce } : {}),
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

  async list(): Promise<DisputeRecord[]> {
    return this.db.disputes.orderBy('openedAt').reverse().toArray();
  }
}
