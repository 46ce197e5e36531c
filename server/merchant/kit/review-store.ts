// The review desk's charges in SQL (../../lib/sql.ts): PGlite in the app's process, or the
// PostgreSQL the app already runs (several app instances on one database). Its own tables and
// schema version, so it can share a database with the card service or the app's own tables.
//
//   const store = await sqlChargeStore(await openDatabase({ url: process.env.DATABASE_URL }));
//   const desk = new ReviewDesk({ store, ... });
import { type Database, type Migration, migrate } from '../../lib/sql';
import type { ChargeRecord, ChargeStore } from './review';

export const DESK_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE review_charges (
  charge TEXT PRIMARY KEY,
  record TEXT NOT NULL,              -- the ChargeRecord as JSON (amounts as decimal strings)
  has_queued BOOLEAN NOT NULL,       -- a refund waits for the operator
  updated_at BIGINT NOT NULL
);
CREATE INDEX review_charges_queued ON review_charges (has_queued) WHERE has_queued;
`,
  },
];

// Amounts are bigints (msat may pass 2^53): written as {"$bigint": "…"} and read back as such.
function encode(record: ChargeRecord): string {
  return JSON.stringify(record, (_key, value: unknown) =>
    typeof value === 'bigint' ? { $bigint: value.toString() } : value,
  );
}

function decode(text: string): ChargeRecord {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const big = (value as { $bigint?: unknown }).$bigint;
      if (typeof big === 'string' && Object.keys(value).length === 1) return BigInt(big);
    }
    return value;
  }) as ChargeRecord;
}

/**
 * A ChargeStore on `db`, its tables migrated. Every put is committed before it resolves, so a
 * refund attempt is on record before the wallet is asked; `exclusive` serialises the desk's work
 * on one charge across every instance on the database (an advisory lock on PostgreSQL).
 */
export async function sqlChargeStore(db: Database): Promise<ChargeStore> {
  await migrate(db, 'review-desk', DESK_MIGRATIONS, 'review desk');
  const now = () => Math.floor(Date.now() / 1000);
  return {
    async add(record) {
      const added = await db.run(
        `INSERT INTO review_charges (charge, record, has_queued, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (charge) DO NOTHING`,
        [record.charge, encode(record), record.queued > 0n, now()],
      );
      return added === 1;
    },
    async get(charge) {
      const row = await db.get('SELECT record FROM review_charges WHERE charge = ?', [charge]);
      return row ? decode(String(row.record)) : undefined;
    },
    async put(record) {
      await db.run(
        `INSERT INTO review_charges (charge, record, has_queued, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (charge) DO UPDATE SET record = excluded.record, has_queued = excluded.has_queued,
           updated_at = excluded.updated_at`,
        [record.charge, encode(record), record.queued > 0n, now()],
      );
    },
    async queued() {
      const rows = await db.all('SELECT record FROM review_charges WHERE has_queued ORDER BY charge');
      return rows.map((r) => decode(String(r.record)));
    },
    exclusive: (charge, work) => db.exclusive(`review charge ${charge}`, work),
  };
}
