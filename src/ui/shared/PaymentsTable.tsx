import { formatMinor, formatMsatAsSats } from '../../core/money/rates';
import type { PaymentView } from '../../messages/map';

const STATE_LABEL: Record<string, string> = {
  reserved: 'waiting for you',
  paying: 'paying…',
  paid: 'paid',
  failed: 'not paid',
  unknown: 'checking with wallet',
  proof_failed: 'bad proof — disputed',
  accepted: 'accepted',
  rejected: 'rejected',
};

export function PaymentsTable({ rows }: { rows: PaymentView[] }) {
  if (rows.length === 0) return <p className="muted">No payments yet.</p>;
  return (
    <table data-testid="payments">
      <thead>
        <tr>
          <th>When</th>
          <th>Site</th>
          <th>Amount</th>
          <th>Status</th>
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
              {STATE_LABEL[p.state] ?? p.state}
              {p.failure && p.state !== 'paid' ? <div className="muted small">{p.failure.reason}</div> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
