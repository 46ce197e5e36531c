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
  const chosen = await getSetting(db, 'defaultRailId');
  return (chosen ? await db.rails.get(chosen) : undefined) ?? (await db.rails.orderBy('id').first());
}
