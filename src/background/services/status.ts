import { getSetting, listRails } from '../../db/queries';
import type { PayboundDb } from '../../db/schema';
import type { StatusView } from '../../messages/map';

export async function getStatus(db: PayboundDb, version: string): Promise<StatusView> {
  const [rails, challengesSeen, currency] = await Promise.all([
    listRails(db),
    db.challenges.count(),
    getSetting(db, 'currency', 'USD'),
  ]);
  return {
    version,
    rails: rails.map(({ id, kind, label }) => ({ id, kind, label })),
    challengesSeen,
    currency,
  };
}
