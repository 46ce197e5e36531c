// The card service's embedded database: SQLite compiled to WebAssembly (sql.js), so nothing native is
// built at install time. The whole database lives in memory and is written to `path` (when one is
// given) after every change, through a temporary file and a rename so a crash never leaves half a file.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import initSqlJs, { type Database, type SqlValue } from 'sql.js';

const SCHEMA_VERSION = 2;

/** Each step takes a database from version `from` to `from + 1`; never edit one once shipped. */
const MIGRATIONS: readonly { from: number; sql: string }[] = [
  {
    // The actual amount an app reports before the payer captures (review windows), and a report
    // above the authorized amount that the service refused.
    from: 1,
    sql: `ALTER TABLE payments ADD COLUMN amount_reported INTEGER;
          ALTER TABLE payments ADD COLUMN over_reported INTEGER;`,
  },
];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS merchants (
  account_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  api_key_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
  id TEXT PRIMARY KEY,
  state_hash TEXT NOT NULL UNIQUE,
  browser_hash TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  session_id TEXT UNIQUE,
  status TEXT NOT NULL,              -- open | completed | canceled
  payment_method_id TEXT,
  card_brand TEXT,
  card_last4 TEXT,
  card_exp_month INTEGER,
  card_exp_year INTEGER,
  browser_confirmed_at INTEGER,
  completed_at INTEGER,
  claimed_at INTEGER,
  device_id TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  customer_id TEXT NOT NULL,
  payment_method_id TEXT NOT NULL,
  card_brand TEXT NOT NULL,
  card_last4 TEXT NOT NULL,
  card_exp_month INTEGER NOT NULL,
  card_exp_year INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS payments (
  payment_intent_id TEXT PRIMARY KEY,
  challenge_id TEXT NOT NULL UNIQUE,
  device_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  currency TEXT NOT NULL,
  amount_authorized INTEGER NOT NULL,
  amount_captured INTEGER NOT NULL DEFAULT 0,
  amount_refunded INTEGER NOT NULL DEFAULT 0,
  amount_reported INTEGER,           -- the app's actual amount, not captured yet (review windows)
  over_reported INTEGER,             -- an app's refused report above the authorized amount
  description TEXT NOT NULL,
  status TEXT NOT NULL,              -- requires_capture | succeeded | canceled | declined
  decline_code TEXT,
  error_code TEXT,
  error_message TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_device ON payments (device_id, created_at);
CREATE TABLE IF NOT EXISTS disputes (
  id TEXT PRIMARY KEY,
  payment_intent_id TEXT,
  charge_id TEXT NOT NULL,
  amount INTEGER NOT NULL,
  currency TEXT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_events (id TEXT PRIMARY KEY, type TEXT NOT NULL, received_at INTEGER NOT NULL);
`;

export type Row = Record<string, SqlValue>;

export class CardDb {
  readonly #db: Database;
  readonly #path: string | undefined;
  #inTransaction = false;

  private constructor(db: Database, path: string | undefined) {
    this.#db = db;
    this.#path = path;
  }

  /** Opens (or creates) the database; without a path it lives in memory only. */
  static async open(path?: string): Promise<CardDb> {
    // Locate the wasm beside sql.js itself, wherever npm put it.
    const wasmDir = dirname(createRequire(import.meta.url).resolve('sql.js'));
    const SQL = await initSqlJs({ locateFile: (file) => `${wasmDir}/${file}` });
    const bytes = path && existsSync(path) ? readFileSync(path) : undefined;
    const db = new SQL.Database(bytes);
    const store = new CardDb(db, path);
    db.exec('PRAGMA foreign_keys = ON;');
    db.exec(SCHEMA);
    const version = store.get('SELECT value FROM meta WHERE key = ?', ['schema_version'])?.value;
    if (version === undefined) {
      // A new database: SCHEMA above is the current version already.
      store.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['schema_version', String(SCHEMA_VERSION)]);
    } else if (Number(version) > SCHEMA_VERSION) {
      throw new Error(
        `card database ${path} has schema ${version}, newer than this service (${SCHEMA_VERSION})`,
      );
    } else {
      for (const step of MIGRATIONS) {
        if (step.from < Number(version)) continue;
        store.transaction(() => {
          db.exec(step.sql);
          store.run('UPDATE meta SET value = ? WHERE key = ?', [String(step.from + 1), 'schema_version']);
        });
      }
    }
    store.#persist();
    return store;
  }

  all(sql: string, params: SqlValue[] = []): Row[] {
    const stmt = this.#db.prepare(sql, params);
    try {
      const rows: Row[] = [];
      while (stmt.step()) rows.push(stmt.getAsObject());
      return rows;
    } finally {
      stmt.free();
    }
  }

  get(sql: string, params: SqlValue[] = []): Row | undefined {
    return this.all(sql, params)[0];
  }

  /** Runs one statement and returns how many rows it changed; persisted unless inside transaction(). */
  run(sql: string, params: SqlValue[] = []): number {
    this.#db.run(sql, params);
    const changed = this.#db.getRowsModified();
    if (!this.#inTransaction) this.#persist();
    return changed;
  }

  /** Runs `fn` atomically (it must be synchronous: nothing else runs in between) and persists once. */
  transaction<T>(fn: () => T): T {
    if (this.#inTransaction) return fn();
    this.#db.exec('BEGIN IMMEDIATE');
    this.#inTransaction = true;
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    } finally {
      this.#inTransaction = false;
      this.#persist();
    }
  }

  meta(key: string): string | undefined {
    const value = this.get('SELECT value FROM meta WHERE key = ?', [key])?.value;
    return typeof value === 'string' ? value : undefined;
  }

  setMeta(key: string, value: string): void {
    this.run(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }

  close(): void {
    this.#persist();
    this.#db.close();
  }

  #persist(): void {
    if (!this.#path) return;
    mkdirSync(dirname(this.#path), { recursive: true });
    const tmp = `${this.#path}.${process.pid}.tmp`;
    writeFileSync(tmp, this.#db.export(), { mode: 0o600 });
    renameSync(tmp, this.#path);
  }
}
