import type { ChallengeRecordView } from '../../messages/map';
import { dateTime, hostOf, protocolsLabel } from './format';
import { say, t } from './i18n';

/** Refusals read in the user's language (older rows in the worker's English); an accepted challenge reads "Payment requested". */
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
              {r.error ? t('challengeRefused', say(r.errorSaid, r.error)) : t('challengeSeen')}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
