/** The dispute log: every rejected charge and failed proof, with its timeline. */
import { useEffect, useState } from 'react';
import { formatMinor } from '../../core/money/rates';
import { send } from '../../messages/client';
import type { DisputeView, PaymentView } from '../../messages/map';
import { dateTime, hostOf, moneyInNote, stateLabel } from '../shared/format';
import { type MessageKey, say, t } from '../shared/i18n';
import { StateBadge } from '../shared/PaymentsTable';

const SOURCE: Record<string, MessageKey> = {
  user: 'disputeSource_user',
  proof: 'disputeSource_proof',
  app: 'disputeSource_app',
  chargeback: 'disputeSource_chargeback',
  refused: 'disputeSource_refused',
};

/** `payments`: the ledger, for the rate a note's sats are shown at. */
export function Disputes({ version, payments = [] }: { version: string; payments?: PaymentView[] }) {
  const [rows, setRows] = useState<DisputeView[]>([]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the history changes
  useEffect(() => {
    void send('disputes.list', {}).then(setRows);
  }, [version]);
  if (rows.length === 0) return <p className="muted">{t('disputesNone')}</p>;
  return (
    <ul className="disputes" data-testid="disputes">
      {rows.map((d) => {
        const paid = payments.find((p) => p.id === d.paymentId);
        const note = (text: string) => moneyInNote(text, paid?.rate, d.currency ?? paid?.currency);
        const source = d.source && Object.hasOwn(SOURCE, d.source) ? SOURCE[d.source] : undefined;
        return (
          <li key={d.id} className="card dispute" data-status={d.status} data-source={d.source}>
            <div className="dispute-head">
              <strong className="ellipsis">{hostOf(d.origin)}</strong>
              {d.amountMinor && d.currency && (
                <span className="nowrap num">
                  {formatMinor(BigInt(d.requestedMinor ?? d.amountMinor), d.currency)}
                </span>
              )}
              <StateBadge state={d.status} />
            </div>
            <p className="small">
              {source && <span className="muted">{t(source)} · </span>}
              {say(d.reasonSaid, d.reason)}
            </p>
            {d.answer && (
              <p className="small" data-testid="dispute-answer">
                {t(
                  'disputeAppAnswer',
                  `${stateLabel(d.answer.status)}${d.answer.note ? ` — ${note(d.answer.note)}` : ''}`,
                )}
              </p>
            )}
            <ol className="timeline small">
              {d.timeline.map((e) => (
                <li key={`${e.at}-${e.status}`}>
                  <time className="muted nowrap" dateTime={new Date(e.at).toISOString()}>
                    {dateTime(e.at)}
                  </time>{' '}
                  <span data-testid="dispute-status">{stateLabel(e.status)}</span>
                  {e.note && <span className="muted"> · {note(say(e.said, e.note))}</span>}
                </li>
              ))}
            </ol>
            <details className="small" data-testid="dispute-evidence">
              <summary>{t('disputeEvidence')}</summary>
              <dl>
                <dt>{t('request')}</dt>
                <dd className="mono">{d.evidence.url}</dd>
                {d.evidence.paidAt !== undefined && (
                  <>
                    <dt>{t('disputePaidAt')}</dt>
                    <dd>{dateTime(d.evidence.paidAt)}</dd>
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
                    <dd data-testid="dispute-delivered">
                      <span className="mono">
                        HTTP {d.evidence.delivered.status}
                        {d.evidence.delivered.sha256 && ` · sha256 ${d.evidence.delivered.sha256}`}
                      </span>{' '}
                      <span className="muted">
                        (
                        {t(
                          d.evidence.delivered.by === 'browser'
                            ? 'disputeSeenByBrowser'
                            : 'disputeReportedByPage',
                        )}
                        )
                      </span>
                    </dd>
                  </>
                )}
                {d.evidence.delivered?.headers && (
                  <>
                    <dt>{t('disputeRefusedHeaders')}</dt>
                    <dd className="mono" data-testid="dispute-refused-headers">
                      {d.evidence.delivered.headers.map(([k, v], i) => (
                        // biome-ignore lint/suspicious/noArrayIndexKey: a header may repeat; the list never reorders
                        <div key={`${k}-${i}`}>
                          {k}: {v}
                        </div>
                      ))}
                    </dd>
                    {d.evidence.delivered.receipt && (
                      <>
                        <dt>{t('disputeReceipt')}</dt>
                        <dd className="mono">{d.evidence.delivered.receipt}</dd>
                      </>
                    )}
                    {d.evidence.delivered.problem && (
                      <>
                        <dt>{t('disputeRefusal')}</dt>
                        <dd>{d.evidence.delivered.problem}</dd>
                      </>
                    )}
                  </>
                )}
              </dl>
            </details>
          </li>
        );
      })}
    </ul>
  );
}
