import type { ReactNode } from 'react';
import { formatMinor, formatMsatAsSats } from '../../core/money/rates';
import type { PaymentView } from '../../messages/map';
import { type MessageKey, t } from './i18n';

const STATE_LABEL: Record<string, MessageKey> = {
  reserved: 'stateReserved',
  paying: 'statePaying',
  paid: 'statePaid',
  failed: 'stateFailed',
  unknown: 'stateUnknown',
  proof_failed: 'stateProofFailed',
  accepted: 'stateAccepted',
  rejected: 'stateRejected',
  refund_requested: 'stateRefundRequested',
  refunded: 'stateRefunded',
  partially_refunded: 'statePartiallyRefunded',
  refund_denied: 'stateRefundDenied',
};

const stateLabel = (state: string): string => {
  const key = Object.hasOwn(STATE_LABEL, state) ? STATE_LABEL[state] : undefined;
  return key ? t(key) : state;
};

/** Under review until when; what the app settled and what came back. */
function ReviewLine({ p }: { p: PaymentView }) {
  const money = (minor: string) => (p.currency ? formatMinor(BigInt(minor), p.currency) : minor);
  return (
    <>
      {p.provisional && p.reviewEndsAt !== undefined && (
        <div className="small" data-testid="under-review">
          {t('reviewUnderReview', new Date(p.reviewEndsAt).toLocaleString())}
        </div>
      )}
      {p.actualMinor !== undefined && p.amountMinor !== undefined && (
        <div className="muted small" data-testid="actual">
          {t('reviewActual', money(p.actualMinor), money(p.amountMinor))}
        </div>
      )}
      {p.refundedMinor !== undefined && (
        <div className="small" data-testid="refunded">
          {t('reviewRefunded', money(p.refundedMinor))}
        </div>
      )}
      {p.refundPending && <div className="muted small">{t('reviewRefundPending')}</div>}
      {p.settlementNote && <div className="muted small">{p.settlementNote}</div>}
    </>
  );
}

/** `actions`: extra controls for a row (the history page offers Reject on paid charges). */
export function PaymentsTable({
  rows,
  actions,
}: {
  rows: PaymentView[];
  actions?: (p: PaymentView) => ReactNode;
}) {
  if (rows.length === 0) return <p className="muted">{t('noPaymentsYet')}</p>;
  return (
    <table data-testid="payments">
      <thead>
        <tr>
          <th>{t('columnWhen')}</th>
          <th>{t('columnSite')}</th>
          <th>{t('columnAmount')}</th>
          <th>{t('columnStatus')}</th>
          {actions && <th />}
        </tr>
      </thead>
      <tbody>
        {rows.map((p) => (
          <tr key={p.id} data-state={p.state}>
            <td>{new Date(p.createdAt).toLocaleTimeString()}</td>
            <td>{new URL(p.origin).host}</td>
            <td>
              {p.amountMinor !== undefined && p.currency
                ? formatMinor(BigInt(p.amountMinor), p.currency)
                : ''}{' '}
              {/* A card charge moves no sats. */}
              {p.amountMsat !== '0' && (
                <span className="muted">{formatMsatAsSats(BigInt(p.amountMsat))}</span>
              )}
            </td>
            <td
              className={p.state === 'failed' || p.state === 'proof_failed' ? 'error' : undefined}
              title={p.failure?.reason}
            >
              {stateLabel(p.state)}
              {p.failure && p.state !== 'paid' ? <div className="muted small">{p.failure.reason}</div> : null}
              <ReviewLine p={p} />
            </td>
            {actions && <td>{actions(p)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
