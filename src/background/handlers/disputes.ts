/**
 * Paid charges under review and disputes. Review refusals (ReviewError,
 * RailError) are Saids: the router classes them.
 */
import { disputeView, paymentView } from '../services/views';
import type { HandlerGroup, Services } from './services';

const minor = (amount: string | undefined) => (amount !== undefined ? BigInt(amount) : undefined);

export function disputeHandlers({
  review,
  disputes,
}: Pick<Services, 'review' | 'disputes'>): HandlerGroup<
  'payment.reject' | 'payment.refund' | 'payment.accept' | 'review.sweep' | 'disputes.list'
> {
  return {
    'payment.reject': async ({ paymentId, reason, amountMinor }) =>
      disputeView(await review.reject(paymentId, reason, minor(amountMinor))),
    'payment.refund': async ({ paymentId, reason, amountMinor }) =>
      disputeView(await review.requestRefund(paymentId, reason, minor(amountMinor))),
    'payment.accept': async ({ paymentId }) => paymentView(await review.accept(paymentId, 'user')),
    'review.sweep': async () => {
      await review.sweep();
      return { swept: true as const };
    },
    'disputes.list': async () => (await disputes.list()).map(disputeView),
  };
}
