import type { PayboundDb, RailRecord } from '../../../db/schema';
import { LnbitsRail } from './lnbits';
import { NwcRail } from './nwc';
import type { LightningRail } from './types';

export function railFor(record: RailRecord): LightningRail {
  switch (record.kind) {
    case 'lnbits':
      return new LnbitsRail(record);
    case 'nwc':
      return new NwcRail(record);
  }
}

/** The rail that pays by default: the first linked one, until the settings page lets users choose. */
export async function defaultRail(db: PayboundDb): Promise<RailRecord | undefined> {
  return db.rails.orderBy('id').first();
}
