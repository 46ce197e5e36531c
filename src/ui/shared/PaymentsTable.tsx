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
};

const stateLabel = (state: string): string => {
  const key = Object.hasOwn(STATE_LABEL, state) ? STATE_LABEL[state] : undefined;
  return key ? t(key) : state;
};

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
              <span className="muted">{formatMsatAsSats(BigInt(p.amountMsat))}</span>
            </td>
            <td
              className={p.state === 'failed' || p.state === 'proof_failed' ? 'error' : undefined}
              title={p.failure?.reason}
            >
              {stateLabel(p.state)}
              {p.failure && p.state !== 'paid' ? <div className="muted small">{p.failure.reason}</div> : null}
            </td>
            {actions && <td>{actions(p)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
