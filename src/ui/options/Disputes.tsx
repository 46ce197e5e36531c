/** The dispute log: every rejected charge and failed proof, with its timeline. */
import { useEffect, useState } from 'react';
import { formatMinor } from '../../core/money/rates';
import { send } from '../../messages/client';
import type { DisputeView } from '../../messages/map';
import { type MessageKey, t } from '../shared/i18n';

const SOURCE: Record<string, MessageKey> = {
  user: 'disputeSource_user',
  proof: 'disputeSource_proof',
  app: 'disputeSource_app',
  chargeback: 'disputeSource_chargeback',
};

export function Disputes({ version }: { version: string }) {
  const [rows, setRows] = useState<DisputeView[]>([]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the history changes
  useEffect(() => {
    void send('disputes.list', {}).then(setRows);
  }, [version]);
  if (rows.length === 0) return <p className="muted">{t('disputesNone')}</p>;
  return (
    <ul className="disputes" data-testid="disputes">
      {rows.map((d) => (
        <li key={d.id} className="card" data-status={d.status} data-source={d.source}>
          <strong>{new URL(d.origin).host}</strong>
          {d.source && SOURCE[d.source] && <span className="muted"> ({t(SOURCE[d.source]!)})</span>} —{' '}
          {d.reason}{' '}
          {d.amountMinor && d.currency && (
            <span className="muted">
              ({formatMinor(BigInt(d.requestedMinor ?? d.amountMinor), d.currency)})
            </span>
          )}
          {d.answer && (
            <p className="small" data-testid="dispute-answer">
              {t(
                'disputeAppAnswer',
                `${d.answer.status.replace(/_/g, ' ')}${d.answer.note ? ` — ${d.answer.note}` : ''}`,
              )}
            </p>
          )}
          <details className="small" data-testid="dispute-evidence">
            <summary>{t('disputeEvidence')}</summary>
            <dl>
              <dt>{t('request')}</dt>
              <dd>{d.evidence.url}</dd>
              {d.evidence.paidAt !== undefined && (
                <>
                  <dt>{t('disputePaidAt')}</dt>
                  <dd>{new Date(d.evidence.paidAt).toLocaleString()}</dd>
                </>
              )}
              {d.evidence.proof && (
                <>
                  <dt>{t('disputeProof')}</dt>
                  <dd className="mono">{d.evidence.proof}</dd>
                </>
              )}
              {d.evidence.delivered && (
                <>
                  <dt>{t('disputeDelivered')}</dt>
                  <dd className="mono">
                    HTTP {d.evidence.delivered.status} · sha256 {d.evidence.delivered.sha256}
                  </dd>
                </>
              )}
            </dl>
          </details>
          <ol className="small">
            {d.timeline.map((e) => (
              <li key={`${e.at}-${e.status}`}>
                {new Date(e.at).toLocaleString()} · <span data-testid="dispute-status">{e.status}</span> ·{' '}
                {e.note}
              </li>
            ))}
          </ol>
        </li>
      ))}
    </ul>
  );
}
