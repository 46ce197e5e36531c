/** What happened: the ledger, the request log, this period's spend, the popup's summary. */
import { recentChallenges, recentPayments } from '../../db/queries';
import { spendSummary } from '../services/spend';
import { getStatus } from '../services/status';
import { challengeView, paymentView } from '../services/views';
import type { HandlerGroup, Services } from './services';

export function paymentHandlers({
  db,
  vault,
  version,
}: Pick<Services, 'db' | 'vault' | 'version'>): HandlerGroup<
  'payments.recent' | 'challenges.recent' | 'spend.summary' | 'status.get'
> {
  return {
    'payments.recent': async ({ limit }) => (await recentPayments(db, limit)).map((p) => paymentView(p)),
    'challenges.recent': async ({ limit }) => (await recentChallenges(db, limit)).map(challengeView),
    'spend.summary': () => spendSummary(db),
    'status.get': async () => ({ ...(await getStatus(db, version)), vault: await vault.status() }),
  };
}
