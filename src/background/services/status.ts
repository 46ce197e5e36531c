import { listRails } from '../../db/queries';
import type { PayboundDb } from '../../db/schema';
import { getSetting } from '../../db/settings';
import type { GeneralSettings, StatusView } from '../../messages/map';
import { defaultRail } from './rails/index';
import { rateSources } from './rates';

export async function getStatus(db: PayboundDb, version: string): Promise<StatusView> {
  const [rails, challengesSeen, currency, chosen, paused] = await Promise.all([
    listRails(db),
    db.challenges.count(),
    getSetting(db, 'currency'),
    defaultRail(db),
    getSetting(db, 'paused'),
  ]);
  return {
    version,
    rails: rails.map(({ id, kind, label }) => ({ id, kind, label })),
    ...(chosen ? { defaultRailId: chosen.id } : {}),
    challengesSeen,
    currency,
    paused,
  };
}

export async function generalSettings(db: PayboundDb): Promise<GeneralSettings> {
  const [currency, sources, rateCheck, autoLockMinutes, muteAutoNotices, cardServiceUrl] = await Promise.all([
    getSetting(db, 'currency'),
    rateSources(db),
    getSetting(db, 'rateCheck'),
    getSetting(db, 'autoLockMinutes'),
    getSetting(db, 'muteAutoNotices'),
    getSetting(db, 'cardServiceUrl'),
  ]);
  return { currency, rateSources: sources, rateCheck, autoLockMinutes, muteAutoNotices, cardServiceUrl };
}
