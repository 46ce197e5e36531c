import type { ChallengeRecordView } from '../../messages/map';
import { dateTime, hostOf, protocolsLabel } from './format';
import { t } from './i18n';

/** The worker's refusal reasons are its own sentences; an accepted challenge reads "Payment requested". */
export function RecentChallenges({ rows }: { rows: ChallengeRecordView[] }) {
  if (rows.length === 0) return <p className="muted">{t('noChallengesYet')}</p>;
  return (
    <table data-testid="recent-challenges">
      <thead>
        <tr>
          <th scope="col">{t('columnWhen')}</th>
          <th scope="col">{t('columnSite')}</th>
          <th scope="col">{t('columnProtocol')}</th>
          <th scope="col">{t('columnOutcome')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id}>
            <td className="nowrap">{dateTime(r.seenAt)}</td>
            <td title={r.url}>{hostOf(r.origin)}</td>
            <td>{protocolsLabel(r.protocols)}</td>
            <td className={r.error ? 'error' : undefined}>
              {r.error ? t('challengeRefused', r.error) : t('challengeSeen')}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
