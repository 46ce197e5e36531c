/**
 * Linking, testing and unlinking wallets from the settings page. A connection string is checked
 * for its shape before anything is stored; "test" asks the wallet for its balance.
 */
import type * as v from 'valibot';
import type { AddRailInput } from '../../core/config/rails';
import { english, type Said, said } from '../../core/text/said';
import type { PayboundDb, RailRecord } from '../../db/schema';
import { railFor } from './rails/index';
import { RailError } from './rails/types';
import type { Vault } from './vault';

export class LinkError extends Error {}

export async function addRail(
  db: PayboundDb,
  vault: Vault,
  input: v.InferOutput<typeof AddRailInput>,
): Promise<RailRecord> {
  const base = {
    id: `${input.kind}-${crypto.randomUUID().slice(0, 8)}`,
    label: input.label,
    network: input.network,
    createdAt: Date.now(),
  };
  const record: RailRecord =
    input.kind === 'lnbits'
      ? { ...base, kind: 'lnbits', config: { url: input.url, adminKey: input.adminKey } }
      : input.kind === 'nwc'
        ? { ...base, kind: 'nwc', config: { uri: input.uri } }
        : { ...base, kind: 'webln', config: {} };
  // A wallet that does not answer is refused here, with the reason, rather than failing a payment later.
  if (record.kind !== 'webln') {
    try {
      await railFor(record).balance();
    } catch (e) {
      throw new LinkError(`the wallet did not answer: ${e instanceof Error ? e.message : 'no reason given'}`);
    }
  }
  await db.rails.add(await vault.sealRail(record));
  return record;
}

/** The wallet's balance in msat, or why it could not be read. */
export async function testRail(
  db: PayboundDb,
  vault: Vault,
  railId: string,
): Promise<{ ok: true; balanceMsat: string } | { ok: false; reason: string; said: Said }> {
  const no = (s: Said) => ({ ok: false as const, reason: english(s), said: s });
  const record = await db.rails.get(railId);
  if (!record) return no(said('errorNoSuchWallet'));
  if (record.kind === 'webln') return no(said('walletPageOnly'));
  if (record.kind === 'card') return no(said('walletCardNoBalance'));
  try {
    return { ok: true, balanceMsat: (await railFor(await vault.open(record)).balance()).toString() };
  } catch (e) {
    return no(
      e instanceof RailError
        ? e.said
        : e instanceof Error
          ? said('walletRefused', e.message)
          : said('walletTimeout'),
    );
  }
}
