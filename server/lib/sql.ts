// One SQL dialect (PostgreSQL), two engines: PGlite (PostgreSQL compiled to WebAssembly, in this
// process, no server to run) by default, and a PostgreSQL server when a connection URL is given.
// The card service and the merchant kit's review desk keep their state here; each names its own
// tables and schema version, so both can share one database.
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';

export type Row = Record<string, unknown>;

/** Statements are written with `?` placeholders (none of them has a `?` of its own); numbered here. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export interface Queries {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  get(sql: string, params?: readonly unknown[]): Promise<Row | undefined>;
  /** Runs one statement; how many rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Several statements without parameters (a migration). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queries {
  readonly engine: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queries) => Promise<T>): Promise<T>;
  /**
   * Runs `work` while no other holder of `key` runs, in this process or (PostgreSQL) any other
   * instance on the database: a session advisory lock, not a transaction, so `work` may wait on
   * the network and its own statements commit as they go.
   */
  exclusive<T>(key: string, work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** One holder per key within this process; waiting holders queue in order. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const run = before.then(work, work);
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }
}

/** The database cannot be used as it is (not one of ours, too new, in use): refuse to start. */
export class DatabaseError extends Error {}

/**
 * The database server could not be reached, or went away during the request. Nothing that was not
 * committed happened; the client may retry (HTTP 503 with Retry-After).
 */
export class DatabaseUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the database is unavailable (${(cause as Error)?.message ?? String(cause)})`, { cause });
  }
}

// Connection-level failures (Node's socket errors; SQLSTATE classes 08 and 57P) mean "not now",
// not "wrong": everything else is a bug or a constraint and surfaces as it is.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
]);

function unavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/i.test(
    message,
  );
}

function classify(err: unknown): never {
  if (err instanceof DatabaseUnavailable || !unavailable(err)) throw err;
  throw new DatabaseUnavailable(err);
}

/** 64-bit integers as numbers (amounts, times): refused when they would lose precision. */
function int8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`integer ${text} is beyond 2^53`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** The statement in progress reports a lost connection; the client's own event adds nothing. */
const ignore = () => undefined;

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pg = (await import('pg')).default;
  const pool: Pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // A request waits this long for a connection, then answers 503 instead of hanging.
    connectionTimeoutMillis: 5000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? int8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection the server dropped: the pool replaces it; the next query says so if it must.
  pool.on('error', () => undefined);
  const over = (q: { query: Pool['query'] }): Queries => ({
    async all(sql, params = []) {
      try {
        return (await q.query(numbered(sql), [...params])).rows as Row[];
      } catch (err) {
        classify(err);
      }
    },
    async get(sql, params = []) {
      return (await this.all(sql, params))[0];
    },
    async run(sql, params = []) {
      try {
        return (await q.query(numbered(sql), [...params])).rowCount ?? 0;
      } catch (err) {
        classify(err);
      }
    },
    async exec(sql) {
      try {
        await q.query(sql);
      } catch (err) {
        classify(err);
      }
    },
  });
  const queries = over(pool);
  // Fails fast (and clearly) when the server is not there at start.
  try {
    await queries.exec('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  // Lock holders keep a connection of their own for as long as they hold the lock: from another pool,
  // so that holders waiting for statements never starve the statements they wait for.
  const lockPool: Pool = new pg.Pool({
    connectionString: url,
    max: poolSize * 2,
    connectionTimeoutMillis: 30_000,
  });
  lockPool.on('error', () => undefined);
  const local = new KeyedMutex();
  return {
    engine: 'postgres',
    ...queries,
    async transaction(fn) {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        classify(err);
      }
      let broken = false;
      client.on('error', ignore);
      try {
        await client.query('BEGIN');
        const out = await fn(over(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        broken = unavailable(err);
        if (!broken) await client.query('ROLLBACK').catch(() => undefined);
        classify(err);
      } finally {
        // A connection that failed mid-transaction is not given back to the pool.
        client.off('error', ignore);
        client.release(broken);
      }
    },
    exclusive: (key, work) =>
      local.run(key, async () => {
        let client: PoolClient;
        try {
          client = await lockPool.connect();
          // Held across awaits: a connection lost meanwhile must not become an uncaught error.
          client.on('error', ignore);
          await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]).catch((err: unknown) => {
            client.release(true);
            throw err;
          });
        } catch (err) {
          classify(err);
        }
        try {
          return await work();
        } finally {
          // A lost connection dropped its locks with it; a live one unlocks and goes back.
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).then(
            () => {
              client.off('error', ignore);
              client.release();
            },
            () => client.release(true),
          );
        }
      }),
    close: async () => {
      await Promise.all([pool.end(), lockPool.end()]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PGlite

interface PgliteAssets {
  pgliteWasmModule: WebAssembly.Module;
  initdbWasmModule: WebAssembly.Module;
  fsBundle: Blob;
}

let assets: Promise<PgliteAssets> | undefined;
/** A freshly initialised cluster, kept to start the next new database from (initdb is slow). */
let blankCluster: Promise<Blob> | undefined;

function pgliteDist(): string {
  return dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
}

/**
 * Where a blank cluster is kept between processes: node_modules/.cache (beside the installed
 * PGlite, whose version names the file), written by this user only. Undefined when not writable.
 */
function blankClusterFile(): string | undefined {
  try {
    const dist = pgliteDist();
    const { version } = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    const dir = join(dist, '..', '..', '..', '.cache', 'paybound-pglite');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return join(dir, `blank-${version}-${process.getuid?.() ?? 0}.tar`);
  } catch {
    return undefined;
  }
}

function readBlankCluster(): Blob | undefined {
  const file = blankClusterFile();
  if (!file || !existsSync(file)) return undefined;
  const stat = statSync(file);
  // Only a file of this user's that nobody else can write is trusted to start a database from.
  if (stat.uid !== (process.getuid?.() ?? stat.uid) || (stat.mode & 0o022) !== 0) return undefined;
  return new Blob([readFileSync(file)]);
}

function keepBlankCluster(tar: Blob): void {
  const file = blankClusterFile();
  if (!file) return;
  void tar.arrayBuffer().then((bytes) => {
    try {
      // Whole or not at all: written aside, then renamed over.
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, Buffer.from(bytes), { mode: 0o600 });
      renameSync(tmp, file);
    } catch {}
  });
}

function loadAssets(): Promise<PgliteAssets> {
  assets ??= (async () => {
    const dist = pgliteDist();
    const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
      WebAssembly.compile(readFileSync(join(dist, 'pglite.wasm'))),
      WebAssembly.compile(readFileSync(join(dist, 'initdb.wasm'))),
    ]);
    return {
      pgliteWasmModule,
      initdbWasmModule,
      fsBundle: new Blob([readFileSync(join(dist, 'pglite.data'))]),
    };
  })();
  return assets;
}

async function createPglite(dataDir: string | undefined): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const base = { ...(await loadAssets()), parsers: { 20: int8 } };
  const fresh = !dataDir || !existsSync(join(dataDir, 'PG_VERSION'));
  if (!fresh) return PGlite.create({ ...base, dataDir });
  // A new database starts as a copy of a blank cluster made once (initdb is the slow part).
  if (!blankCluster) {
    const kept = readBlankCluster();
    if (kept) blankCluster = Promise.resolve(kept);
  }
  if (blankCluster) {
    try {
      return await PGlite.create({ ...base, dataDir, loadDataDir: await blankCluster });
    } catch {
      // A copy that does not load (another PGlite build wrote it): make a new one below.
      blankCluster = undefined;
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const db = await PGlite.create({ ...base, dataDir });
  const blank = db.dumpDataDir('none');
  blankCluster = blank;
  keepBlankCluster(await blank);
  return db;
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  let lock: WriterLock | undefined;
  if (dataDir) {
    dataDir = resolve(dataDir);
    if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
      throw new DatabaseError(
        `${dataDir} is a file, not a database directory (an SQLite card database of an earlier version is not read); refusing to start`,
      );
    }
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0 && !existsSync(join(dataDir, 'PG_VERSION'))) {
      throw new DatabaseError(`${dataDir} is not a database directory (no PG_VERSION); refusing to start`);
    }
    mkdirSync(dirname(dataDir), { recursive: true });
    lock = WriterLock.take(`${dataDir}.lock`);
  }
  let db: PGlite;
  try {
    db = await createPglite(dataDir);
  } catch (err) {
    lock?.release();
    throw new DatabaseError(
      `the database in ${dataDir} cannot be opened (${(err as Error).message}); refusing to start`,
    );
  }
  const over = (q: PGlite | Transaction): Queries => ({
    async all(sql, params = []) {
      return (await q.query<Row>(numbered(sql), [...params])).rows;
    },
    async get(sql, params = []) {
      return (await q.query<Row>(numbered(sql), [...params])).rows[0];
    },
    async run(sql, params = []) {
      return (await q.query(numbered(sql), [...params])).affectedRows ?? 0;
    },
    async exec(sql) {
      await q.exec(sql);
    },
  });
  let closing: Promise<void> | undefined;
  const local = new KeyedMutex();
  return {
    engine: 'pglite',
    ...over(db),
    // One connection: a transaction has the database to itself until it ends (others queue).
    transaction: (fn) => db.transaction((tx) => fn(over(tx))),
    // One process per data directory (WriterLock): a lock in memory is the whole story.
    exclusive: (key, work) => local.run(key, work),
    close: () => {
      closing ??= db.close().finally(() => lock?.release());
      return closing;
    },
  };
}

export interface OpenOptions {
  /** postgres://… : a PostgreSQL server. */
  url?: string;
  /** The embedded engine's data directory; neither: in memory, gone with the process. */
  dataDir?: string;
  /** Connections per instance to a server; default 10. */
  poolSize?: number;
}

export function openDatabase(opts: OpenOptions = {}): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, opts.poolSize ?? 10);
  return openPglite(opts.dataDir);
}

// ---------------------------------------------------------------------------------------------
// Migrations

/** Takes a component's tables from `version - 1` to `version`; never edit one once shipped. */
export interface Migration {
  version: number;
  sql: string;
}

/** Shown when a database is newer than this code: an older instance must not write to it. */
export class SchemaTooNew extends DatabaseError {}

/**
 * Brings `component`'s tables to the last version of `migrations`, in one transaction under an
 * advisory lock: instances starting together migrate once (the others wait, then find it done),
 * and a failing step leaves the schema as it was (PostgreSQL's DDL is transactional). A database
 * already newer than this code is refused. Returns the version now in force.
 */
export async function migrate(
  db: Database,
  component: string,
  migrations: readonly Migration[],
  label = component,
): Promise<number> {
  const latest = migrations.at(-1)?.version ?? 0;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${component} migrations must be numbered 1, 2, 3…`);
  });
  return db.transaction(async (tx) => {
    // Both sides compute the same key from the component's name.
    await tx.run("SELECT pg_advisory_xact_lock(hashtext('paybound schema ' || ?))", [component]);
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL, migrated_at BIGINT NOT NULL)',
    );
    const row = await tx.get('SELECT version FROM schema_versions WHERE component = ?', [component]);
    const current = row ? Number(row.version) : 0;
    if (current > latest) {
      throw new SchemaTooNew(
        `the ${label} database has schema version ${current}, newer than this version of the software knows (${latest}): run the newer version, or restore a backup; refusing to start`,
      );
    }
    for (const step of migrations) {
      if (step.version <= current) continue;
      try {
        await tx.exec(step.sql);
      } catch (err) {
        throw new DatabaseError(
          `${label} migration ${step.version} failed (${(err as Error).message}); the schema stays at version ${current}`,
        );
      }
    }
    if (latest > current) {
      await tx.run(
        `INSERT INTO schema_versions (component, version, migrated_at) VALUES (?, ?, ?)
         ON CONFLICT (component) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at`,
        [component, latest, Math.floor(Date.now() / 1000)],
      );
    }
    return latest;
  });
}

// ---------------------------------------------------------------------------------------------
// One process per embedded data directory

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
 * One process per embedded database: `<dir>.lock` holds the pid of the process that has it open. A
 * lock of a live process (this one included) refuses the open; a dead process's lock is taken over.
 */
export class WriterLock {
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
          throw new DatabaseError(
            `the database is in use by process ${holder} (${path}); one process per embedded database (run PostgreSQL for several)`,
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
      throw new DatabaseError(`could not take the database lock ${path}`);
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
