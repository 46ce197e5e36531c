// Versioned migrations on both engines (this file runs in `unit` on PGlite and in `unit-pg` on a
// PostgreSQL server): they run once however many instances start together, a failing step leaves
// the schema as it was, and a database newer than the code is refused with a clear message.
import { afterEach, describe, expect, it } from 'vitest';
import { CARD_MIGRATIONS, CardDb } from '../../../server/card/db';
import { generateReceiptKey } from '../../../server/card/keys';
import { startCardService } from '../../../server/card/service';
import { type Database, migrate, SchemaTooNew } from '../../../server/lib/sql';
import { freshDatabaseUrl, testDatabase } from '../harness/database';

const open: Database[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

async function database(): Promise<Database> {
  const db = await testDatabase();
  open.push(db);
  return db;
}

const V1 = { version: 1, sql: 'CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL);' };
const V2 = { version: 2, sql: 'ALTER TABLE notes ADD COLUMN at BIGINT;' };

async function tables(db: Database): Promise<string[]> {
  const rows = await db.all(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  return rows.map((r) => String(r.table_name));
}

describe('migrations', () => {
  it('bring a database up step by step, keep its rows, and run nothing twice', async () => {
    const db = await database();
    expect(await migrate(db, 'notes', [V1])).toBe(1);
    await db.run('INSERT INTO notes (id, body) VALUES (?, ?)', ['n1', 'kept']);
    expect(await migrate(db, 'notes', [V1, V2])).toBe(2);
    // Again: nothing to do (V1 would fail if it ran again: the table exists).
    expect(await migrate(db, 'notes', [V1, V2])).toBe(2);
    expect(await db.get('SELECT * FROM notes')).toEqual({ id: 'n1', body: 'kept', at: null });
  });

  it('started at once by several instances, migrate once', async () => {
    const url = await freshDatabaseUrl();
    if (!url) {
      // One process per embedded database: concurrent starts are concurrent calls in it.
      const db = await database();
      const versions = await Promise.all([1, 2, 3].map(() => migrate(db, 'notes', [V1, V2])));
      expect(versions).toEqual([2, 2, 2]);
      return;
    }
    // Three instances on one server: each would fail on CREATE TABLE if another had not waited.
    const instances = await Promise.all([1, 2, 3].map(() => CardDb.open({ databaseUrl: url })));
    try {
      const version = await instances[0]!.get("SELECT version FROM schema_versions WHERE component = 'card'");
      expect(version).toEqual({ version: CARD_MIGRATIONS.length });
    } finally {
      for (const instance of instances) await instance.close();
    }
  });

  it('a failing step leaves the schema as it was', async () => {
    const db = await database();
    await migrate(db, 'notes', [V1]);
    const broken = {
      version: 2,
      sql: 'CREATE TABLE half_done (id TEXT); ALTER TABLE notes ADD COLUMN at BIGINT; ALTER TABLE no_such_table ADD COLUMN x TEXT;',
    };
    await expect(migrate(db, 'notes', [V1, broken])).rejects.toThrow(
      /notes migration 2 failed .*; the schema stays at version 1/,
    );
    expect(await tables(db)).not.toContain('half_done');
    const columns = await db.all(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'notes' ORDER BY column_name",
    );
    expect(columns.map((c) => c.column_name)).toEqual(['body', 'id']);
    expect(await db.get("SELECT version FROM schema_versions WHERE component = 'notes'")).toEqual({
      version: 1,
    });
  });

  it('an instance older than the database refuses to start, and says why', async () => {
    const db = await database();
    await migrate(db, 'notes', [V1, V2]);
    const older = migrate(db, 'notes', [V1]);
    await expect(older).rejects.toThrow(SchemaTooNew);
    await expect(migrate(db, 'notes', [V1])).rejects.toThrow(
      /schema version 2, newer than this version of the software knows \(1\)/,
    );
  });

  it('a card service whose database is newer than it refuses to start', async () => {
    const url = await freshDatabaseUrl();
    if (!url) return; // the embedded case is in durability.test.ts (a data directory)
    const newer = await CardDb.open({
      databaseUrl: url,
      migrations: [...CARD_MIGRATIONS, { version: CARD_MIGRATIONS.length + 1, sql: 'SELECT 1' }],
    });
    await newer.close();
    await expect(
      startCardService({
        port: 0,
        stripe: {
          host: '127.0.0.1',
          port: 9,
          protocol: 'http',
          secretKey: 'sk_test_x',
          maxNetworkRetries: 0,
        },
        webhookSecret: 'whsec_x',
        databaseUrl: url,
        receiptKeys: [generateReceiptKey()],
      }),
    ).rejects.toThrow(
      new RegExp(
        `card service database has schema version ${CARD_MIGRATIONS.length + 1}, newer than .* knows \\(${CARD_MIGRATIONS.length}\\)`,
      ),
    );
  });
});
