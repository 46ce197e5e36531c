// The review desk suites keep their charges on this run's engine (PGlite in `unit`, PostgreSQL in
// `unit-pg`): one database per test file, shared by its desks (charge ids never repeat), so a
// desk made again over it is the same app after a restart.
import type { Database } from '../../../server/lib/sql';
import { openDatabase } from '../../../server/lib/sql';
import type { ChargeStore } from '../../../server/merchant/kit/review';
import { sqlChargeStore } from '../../../server/merchant/kit/review-store';
import { freshDatabaseUrl } from './database';

interface Shared {
  url: string | undefined;
  databases: Database[];
  store: ChargeStore;
}

let shared: Promise<Shared> | undefined;

function open(): Promise<Shared> {
  shared ??= (async () => {
    const url = await freshDatabaseUrl();
    const db = await openDatabase({ url });
    return { url, databases: [db], store: await sqlChargeStore(db) };
  })();
  return shared;
}

export async function testChargeStore(): Promise<ChargeStore> {
  return (await open()).store;
}

/**
 * The same charges as another app instance sees them: on PostgreSQL, a store over a connection
 * pool of its own (as another process would have); on the embedded engine, which one process
 * owns, another store over the same database.
 */
export async function anotherInstanceStore(): Promise<ChargeStore> {
  const s = await open();
  if (!s.url) return sqlChargeStore(s.databases[0]!);
  const db = await openDatabase({ url: s.url });
  s.databases.push(db);
  return sqlChargeStore(db);
}

/** For the file's afterAll. */
export async function closeTestChargeStore(): Promise<void> {
  const was = shared;
  shared = undefined;
  if (was) for (const db of (await was).databases) await db.close();
}
