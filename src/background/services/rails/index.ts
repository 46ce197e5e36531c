import type { PayboundDb, RailRecord, WorkerRailRecord } from '../../../db/schema';
import { getSetting } from '../../../db/settings';
import { LnbitsRail } from './lnbits';
import { NwcRail } from './nwc';
import type { LightningRail } from './types';

export function railFor(record: WorkerRailRecord): LightningRail {
  switch (record.kind) {
    case 'lnbits':
      return new LnbitsRail(record);
    case 'nwc':
      return new NwcRail(record);
  }
}

/** The rail that pays: the one the user chose, else the first linked one. */
export async function defaultRail(db: PayboundDb): Promise<RailRecord | undefined> {
  // The setting and the wallets (a handful) read at once, not one after the other.
  const [chosen, rails] = await Promise.all([
    getSetting(db, 'defaultRailId'),
    db.rails.orderBy('id').toArray(),
  ]);
  return (chosen ? rails.find((r) => r.id === chosen) : undefined) ?? rails[0];
}
