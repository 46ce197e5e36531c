import type { RateCheck } from '../../core/money/rate-sources';
import { getSetting, listRails } from '../../db/queries';
import type { PayboundDb } from '../../db/schema';
import type { GeneralSettings, StatusView } from '../../messages/map';
import { defaultRail } from './rails/index';
import { rateSources } from './rates';

export async function getStatus(db: PayboundDb, version: string): Promise<StatusView> {
  const [rails, challengesSeen, currency, chosen, paused] = await Promise.all([
    listRails(db),
    db.challenges.count(),
    getSetting(db, 'currency', 'USD'),
    defaultRail(db),
    getSetting(db, 'paused', false),
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
    getSetting(db, 'currency', 'USD'),
    rateSources(db),
    getSetting<RateCheck | null>(db, 'rateCheck', null),
    getSetting(db, 'autoLockMinutes', 30),
    getSetting(db, 'muteAutoNotices', false),
    getSetting<string | null>(db, 'cardServiceUrl', null),
  ]);
  return { currency, rateSources: sources, rateCheck, autoLockMinutes, muteAutoNotices, cardServiceUrl };
}
