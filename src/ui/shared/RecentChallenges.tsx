import type { ChallengeRecordView } from '../../messages/map';
import { t } from './i18n';

export function RecentChallenges({ rows }: { rows: ChallengeRecordView[] }) {
  if (rows.length === 0) return <p className="muted">{t('noChallengesYet')}</p>;
  return (
    <table data-testid="recent-challenges">
      <thead>
        <tr>
          <th>{t('columnWhen')}</th>
          <th>{t('columnSite')}</th>
          <th>{t('columnProtocol')}</th>
          <th>{t('columnOutcome')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id}>
            <td>{new Date(r.seenAt).toLocaleTimeString()}</td>
            <td>{r.origin}</td>
            <td>{r.protocols.join(', ') || '—'}</td>
            <td className={r.error ? 'error' : undefined}>{r.error ?? t('challengeSeen')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
