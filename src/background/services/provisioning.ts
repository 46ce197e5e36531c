/**
 * Applies the development provisioning file once per profile: rails and currency. A production
 * build has none (the constant is null), so this does nothing there.
 */
import { parseProvision } from '../../core/config/provisioning';
import { getSetting, setSetting } from '../../db/queries';
import type { PayboundDb } from '../../db/schema';

export async function applyProvisioning(db: PayboundDb, raw: unknown, now = Date.now()): Promise<boolean> {
  if (raw === null || raw === undefined) return false;
  if (await getSetting(db, 'provisionedAt', null)) return false;
  const provision = parseProvision(raw);
  await db.transaction('rw', db.rails, db.settings, async () => {
    for (const [i, rail] of provision.rails.entries()) {
      const base = { id: rail.id ?? `${rail.kind}-${i + 1}`, network: rail.network, createdAt: now };
      await db.rails.put(
        rail.kind === 'lnbits'
          ? {
              ...base,
              kind: 'lnbits',
              label: rail.label ?? 'LNbits wallet',
              config: { url: rail.url, adminKey: rail.adminKey },
            }
          : { ...base, kind: 'nwc', label: rail.label ?? 'Nostr Wallet Connect', config: { uri: rail.uri } },
      );
    }
    await setSetting(db, 'currency', provision.currency);
    if (provision.rateSourceUrl) await setSetting(db, 'rateSourceUrl', provision.rateSourceUrl);
    await setSetting(db, 'provisionedAt', now);
  });
  return true;
}
