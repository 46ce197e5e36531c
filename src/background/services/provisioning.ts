/**
 * Applies the development provisioning file once per profile: rails and currency. A production
 * build has none (the constant is null), so this does nothing there.
 */
import { type Provision, parseProvision } from '../../core/config/provisioning';
import type { PayboundDb, RailRecord } from '../../db/schema';
import { getSetting, setSetting } from '../../db/settings';
import { loadRules } from './rules';

export async function applyProvisioning(db: PayboundDb, raw: unknown, now = Date.now()): Promise<boolean> {
  if (raw === null || raw === undefined) return false;
  if (await getSetting(db, 'provisionedAt')) return false;
  const provision = parseProvision(raw);
  await db.transaction('rw', [db.rails, db.settings, db.sites], async () => {
    for (const site of provision.sites) {
      await db.sites.put({
        site: site.site,
        firstApprovedAt: now,
        payees: site.payees.map((p) => ({ ...p, firstAt: now })),
      });
    }
    const trusted = provision.sites.flatMap((site) =>
      site.autoPay
        ? [
            {
              site: site.site,
              mode: 'trusted' as const,
              ...(site.autoPay.perChargeMinor !== undefined
                ? { autoLimitMinor: BigInt(site.autoPay.perChargeMinor) }
                : {}),
              dayLimitMinor: BigInt(site.autoPay.perDayMinor),
            },
          ]
        : [],
    );
    if (trusted.length > 0 || provision.autoDayCapMinor !== undefined) {
      const rules = await loadRules(db);
      await setSetting(db, 'rules', {
        ...rules,
        sites: [...rules.sites, ...trusted],
        ...(provision.autoDayCapMinor !== undefined
          ? { autoDayCapMinor: BigInt(provision.autoDayCapMinor) }
          : {}),
      });
    }
    for (const [i, rail] of provision.rails.entries()) {
      const base = { id: rail.id ?? `${rail.kind}-${i + 1}`, network: rail.network, createdAt: now };
      await db.rails.put(railRecord(rail, base));
    }
    // The first rail in the file pays by default.
    const first = provision.rails[0];
    if (first) await setSetting(db, 'defaultRailId', first.id ?? `${first.kind}-1`);
    await setSetting(db, 'currency', provision.currency);
    if (provision.rateSources) await setSetting(db, 'rateSources', provision.rateSources);
    if (provision.cardServiceUrl) await setSetting(db, 'cardServiceUrl', provision.cardServiceUrl);
    await setSetting(db, 'provisionedAt', now);
  });
  return true;
}

function railRecord(
  rail: Provision['rails'][number],
  base: Pick<RailRecord, 'id' | 'network' | 'createdAt'>,
): RailRecord {
  switch (rail.kind) {
    case 'lnbits':
      return {
        ...base,
        kind: 'lnbits',
        label: rail.label ?? 'LNbits wallet',
        config: { url: rail.url, adminKey: rail.adminKey },
      };
    case 'nwc':
      return { ...base, kind: 'nwc', label: rail.label ?? 'Nostr Wallet Connect', config: { uri: rail.uri } };
    case 'webln':
      return { ...base, kind: 'webln', label: rail.label ?? "This page's WebLN wallet", config: {} };
    case 'ethereum':
      return { ...base, kind: 'ethereum', label: rail.label ?? "This page's Ethereum wallet", config: {} };
  }
}
