/**
 * Linking, testing and unlinking wallets from the settings page. A connection string is checked
 * for its shape before anything is stored; "test" asks the wallet for its balance.
 */
import type * as v from 'valibot';
import type { AddRailInput } from '../../core/config/rails';
import type { PayboundDb, RailRecord } from '../../db/schema';
import { railFor } from './rails/index';
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
): Promise<{ ok: true; balanceMsat: string } | { ok: false; reason: string }> {
  const record = await db.rails.get(railId);
  if (!record) return { ok: false, reason: 'no such wallet' };
  if (record.kind === 'webln')
    return { ok: false, reason: "a page's WebLN wallet can only be reached from that page" };
  if (record.kind === 'card') return { ok: false, reason: 'a card has no balance to show' };
  try {
    return { ok: true, balanceMsat: (await railFor(await vault.open(record)).balance()).toString() };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : 'the wallet did not answer' };
  }
}
