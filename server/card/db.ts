// The card service's embedded database: SQLite compiled to WebAssembly (sql.js), so nothing native is
// built at install time. The whole database lives in memory and is written to `path` (when one is
// given) after every change: a temporary file, fsync, rename, fsync of the directory, so a crash
// leaves either the old file or the new one, and an answered request is on disk.
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import initSqlJs, { type Database, type SqlJsStatic, type SqlValue } from 'sql.js';

const SCHEMA_VERSION = 3;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** Each step takes a database from version `from` to `from + 1`; never edit one once shipped. */
const MIGRATIONS: readonly { from: number; sql: string }[] = [
  {
    // The actual amount an app reports before the payer captures (review windows), and a report
    // above the authorized amount that the service refused.
    from: 1,
    sql: `ALTER TABLE payments ADD COLUMN amount_reported INTEGER;
          ALTER TABLE payments ADD COLUMN over_reported INTEGER;`,
  },
  {
    // Receipt keys come from configuration now: the old one must not live on in files and backups
    // (secure_delete is on, so its bytes are overwritten). Settlement terms: the review window the
    // payer agreed to, the one the app accepted the receipt with, and when; the app's refund
    // policy; the limits a device set for itself.
    from: 2,
    sql: `DELETE FROM meta WHERE key = 'receipt_signing_key';
          ALTER TABLE payments ADD COLUMN payer_window INTEGER;
          ALTER TABLE payments ADD COLUMN app_window INTEGER;
          ALTER TABLE payments ADD COLUMN accepted_at INTEGER;
          ALTER TABLE merchants ADD COLUMN payer_refund_seconds INTEGER NOT NULL DEFAULT 0;
          ALTER TABLE devices ADD COLUMN limit_per_charge INTEGER;
          ALTER TABLE devices ADD COLUMN limit_per_day INTEGER;
          ALTER TABLE devices ADD COLUMN limits_raise TEXT;`,
  },
];

/** The database cannot be used as it is; the service refuses to start rather than start empty. */
export class CardDbError extends Error {}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS merchants (
  account_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  api_key_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  payer_refund_seconds INTEGER NOT NULL DEFAULT 0  -- refund policy: the payer may refund alone this long
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
  revoked_at INTEGER,
  limit_per_charge INTEGER,          -- limits the device set for itself (minor units); NULL: none
  limit_per_day INTEGER,
  limits_raise TEXT                  -- JSON {perCharge, perDay, from}: a raise that applies later
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
  payer_window INTEGER,              -- review window (s) the payer authorized under; 0 none; NULL unsaid
  app_window INTEGER,                -- review window (s) the app accepted the receipt with; 0 none
  accepted_at INTEGER,               -- when the app accepted the receipt (the window starts)
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
  readonly #lock: WriterLock | undefined;
  #inTransaction = false;

  private constructor(db: Database, path: string | undefined, lock: WriterLock | undefined) {
    this.#db = db;
    this.#path = path;
    this.#lock = lock;
  }

  /**
   * Opens the database, or creates it when the file does not exist; without a path it lives in
   * memory only. A file that exists but is empty, not SQLite, damaged or not a card database is
   * refused (CardDbError), and so is a file another live process has open.
   */
  static async open(path?: string): Promise<CardDb> {
    // Locate the wasm beside sql.js itself, wherever npm put it.
    const wasmDir = dirname(createRequire(import.meta.url).resolve('sql.js'));
    const SQL = await initSqlJs({ locateFile: (file) => `${wasmDir}/${file}` });
    if (path) mkdirSync(dirname(path), { recursive: true });
    const lock = path ? WriterLock.take(`${resolve(path)}.lock`) : undefined;
    try {
      return CardDb.#load(SQL, path, lock);
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  static #load(SQL: SqlJsStatic, path: string | undefined, lock: WriterLock | undefined): CardDb {
    const bytes = path && existsSync(path) ? readFileSync(path) : undefined;
    if (bytes && (bytes.length < 100 || !bytes.subarray(0, 16).equals(SQLITE_HEADER))) {
      throw new CardDbError(
        `card database ${path} is ${bytes.length === 0 ? 'empty' : 'not an SQLite file'}; refusing to start (restore it from a backup)`,
      );
    }
    const db = new SQL.Database(bytes);
    const store = new CardDb(db, path, lock);
    if (bytes) {
      let check: unknown;
      try {
        check = store.get('PRAGMA integrity_check')?.integrity_check;
      } catch (err) {
        check = (err as Error).message;
      }
      if (check !== 'ok') {
        db.close();
        throw new CardDbError(`card database ${path} is damaged (${String(check)}); refusing to start`);
      }
      if (!store.get("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'")) {
        db.close();
        throw new CardDbError(`${path} is not a card database (no meta table); refusing to start`);
      }
    }
    db.exec('PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;');
    db.exec(SCHEMA);
    const version = store.get('SELECT value FROM meta WHERE key = ?', ['schema_version'])?.value;
    if (version === undefined && bytes) {
      db.close();
      throw new CardDbError(`card database ${path} has no schema version; refusing to start`);
    }
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
      // Rewrites every page, so nothing of the erased receipt key survives in free pages either.
      if (Number(version) < 3) db.exec('VACUUM');
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
    try {
      this.#persist();
      this.#db.close();
    } finally {
      this.#lock?.release();
    }
  }

  #persist(): void {
    if (!this.#path) return;
    const tmp = `${this.#path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      const data = this.#db.export();
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#path);
    fsyncDir(dirname(this.#path));
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock files this process holds. */
const HELD = new Set<string>();

/**
 * One writer per database file: `<file>.lock` holds the pid of the process that has it open. A lock
 * of a live process (this one included) refuses the open; a dead process's lock is taken over.
 */
class WriterLock {
  #released = false;

  private constructor(readonly path: string) {}

  static take(path: string): WriterLock {
    const mine = `${path}.${process.pid}`;
    writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          // link() fails when the lock exists: two processes can never both succeed.
          linkSync(mine, path);
          fsyncDir(dirname(path));
          HELD.add(path);
          return new WriterLock(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const holder = WriterLock.#holder(path);
        // Our own pid on a lock this process does not hold: left by an earlier run that had the same
        // pid (a container restarted as pid 1), so it is stale.
        const live = holder === process.pid ? HELD.has(path) : holder !== null && alive(holder);
        if (live) {
          throw new CardDbError(
            `card database is in use by process ${holder} (${path}); one process per database`,
          );
        }
        // Stale: move it aside (atomic), and only drop it if it is still the stale one we read.
        const aside = `${path}.stale.${process.pid}`;
        try {
          renameSync(path, aside);
        } catch {
          continue;
        }
        if (WriterLock.#holder(aside) !== holder) {
          // Another process took the lock in between: give it back.
          try {
            linkSync(aside, path);
          } catch {}
        }
        unlinkSync(aside);
      }
      throw new CardDbError(`could not take the card database lock ${path}`);
    } finally {
      unlinkSync(mine);
    }
  }

  static #holder(path: string): number | null {
    try {
      if (statSync(path).size > 32) return null;
      const pid = Number(readFileSync(path, 'utf8').trim());
      return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    HELD.delete(this.path);
    try {
      if (WriterLock.#holder(this.path) === process.pid) unlinkSync(this.path);
    } catch {}
  }
}
