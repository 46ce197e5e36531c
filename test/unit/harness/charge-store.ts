// The review desk suites keep their charges on this run's engine (PGlite in `unit`, PostgreSQL in
// `unit-pg`): one database per test file, shared by its desks (charge ids never repeat), so a
// desk made again over it is the same app after a restart.

import type { Database } from '../../../server/lib/sql';
import type { ChargeStore } from '../../../server/merchant/kit/review';
import { sqlChargeStore } from '../../../server/merchant/kit/review-store';
import { testDatabase } from './database';

let shared: Promise<{ db: Database; store: ChargeStore }> | undefined;

export async function testChargeStore(): Promise<ChargeStore> {
  shared ??= (async () => {
    const db = await testDatabase();
    return { db, store: await sqlChargeStore(db) };
  })();
  return (await shared).store;
}

/** For the file's afterAll. */
export async function closeTestChargeStore(): Promise<void> {
  const open = shared;
  shared = undefined;
  if (open) await (await open).db.close();
}
