// The card service's embedded state survives crashes and mistakes: an answered write is on disk
// (a process killed right after it loses nothing), a path that is not a database is refused
// instead of replaced by a fresh one, one process opens a database directory, and receipt keys
// come from configuration, not the database.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CARD_MIGRATIONS, CardDb, CardDbError } from '../../../server/card/db';
import { generateReceiptKey, parseReceiptKeys } from '../../../server/card/keys';
import { startCardService } from '../../../server/card/service';
import { CardServiceClient, receiptKeySource, verifyCardReceipt } from '../../../server/merchant/kit/card';
import { api, challengeId, linkCard } from './helpers';
import { startClockedStack } from './settlement-stack';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paybound-durable-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const offline = (dbPath: string, receiptKeys = [generateReceiptKey()]) =>
  startCardService({
    port: 0,
    stripe: { host: '127.0.0.1', port: 9, protocol: 'http', secretKey: 'sk_test_x', maxNetworkRetries: 0 },
    webhookSecret: 'whsec_x',
    dbPath,
    receiptKeys,
  });

const open = (dataDir: string) => CardDb.open({ dataDir });
const tsx = join(process.cwd(), 'node_modules/.bin/tsx');

/** Every file under `root`, for looking for bytes that must not be there. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((f) => join(root, f))
    .filter((f) => statSync(f).isFile());
}

describe('writing', () => {
  it('keeps an answered write when the process is killed right after it (no close, no flush)', async () => {
    const path = join(dir, 'card-db');
    const script = join(dir, 'write-then-die.mts');
    writeFileSync(
      script,
      `import { CardDb } from ${JSON.stringify(join(process.cwd(), 'server/card/db.ts'))};
      const db = await CardDb.open({ dataDir: ${JSON.stringify(path)} });
      await db.run("INSERT INTO merchants (account_id, name, api_key_hash, created_at) VALUES ('acct_1', 'a', 'h', 1)");
      console.log('written');
      process.kill(process.pid, 'SIGKILL');`,
    );
    let out = '';
    try {
      execFileSync(tsx, [script], { encoding: 'utf8' });
    } catch (err) {
      out = String((err as { stdout?: string }).stdout ?? '');
    }
    expect(out).toContain('written');
    // The killed process's lock is stale: taken over.
    const db = await open(path);
    expect(await db.get('SELECT account_id FROM merchants')).toEqual({ account_id: 'acct_1' });
    await db.close();
  }, 60_000);
});

describe('opening', () => {
  it('refuses a file where the database directory should be (e.g. an old SQLite file), and writes nothing', async () => {
    const path = join(dir, 'card.sqlite');
    writeFileSync(path, '');
    await expect(open(path)).rejects.toThrow(CardDbError);
    await expect(offline(path)).rejects.toThrow(/is a file, not a database directory.*refusing to start/);
    // Nothing was written over it, and no lock is left behind.
    expect(readFileSync(path).length).toBe(0);
    expect(fs.existsSync(`${path}.lock`)).toBe(false);
  });

  it('refuses a directory that is not a database, and a damaged database', async () => {
    const path = join(dir, 'card-db');
    fs.mkdirSync(path);
    writeFileSync(join(path, 'notes.txt'), 'x'.repeat(4096));
    await expect(open(path)).rejects.toThrow(/not a database directory/);

    const good = join(dir, 'good');
    await (await open(good)).close();
    // Its control file destroyed: the server cannot start on it.
    writeFileSync(join(good, 'global', 'pg_control'), 'x'.repeat(64));
    await expect(open(good)).rejects.toThrow(CardDbError);
    expect(fs.existsSync(`${good}.lock`)).toBe(false);
  });

  it('creates a database only where there is nothing yet, and refuses one newer than this code', async () => {
    const path = join(dir, 'sub', 'card-db');
    const db = await open(path);
    const version = (db: CardDb) => db.get("SELECT version FROM schema_versions WHERE component = 'card'");
    const current = CARD_MIGRATIONS.length;
    expect(await version(db)).toEqual({ version: current });
    await db.close();
    const again = await open(path);
    expect(await version(again)).toEqual({ version: current });
    await again.close();
    const newer = await CardDb.open({
      dataDir: path,
      migrations: [...CARD_MIGRATIONS, { version: current + 1, sql: 'CREATE TABLE later (id TEXT)' }],
    });
    await newer.close();
    await expect(offline(path)).rejects.toThrow(
      new RegExp(`schema version ${current + 1}, newer than this version of the software`),
    );
  });
});

describe('one writer per database', () => {
  it('refuses a second open while the first holds the lock, and allows it after close', async () => {
    const path = join(dir, 'card-db');
    const first = await open(path);
    expect(readFileSync(`${path}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await expect(open(path)).rejects.toThrow(new RegExp(`in use by process ${process.pid}`));
    await expect(offline(path)).rejects.toThrow(/in use by process/);
    await first.close();
    expect(fs.existsSync(`${path}.lock`)).toBe(false);
    await (await open(path)).close();
  });

  it('refuses another process on the same file', async () => {
    const path = join(dir, 'card-db');
    const mine = await open(path);
    try {
      // A module file: top-level await.
      const script = join(dir, 'second-writer.mts');
      writeFileSync(
        script,
        `import { CardDb } from ${JSON.stringify(join(process.cwd(), 'server/card/db.ts'))};
        try { await (await CardDb.open({ dataDir: ${JSON.stringify(path)} })).close(); console.log('opened'); }
        catch (e) { console.log('refused: ' + e.message); }`,
      );
      const out = execFileSync(tsx, [script], { encoding: 'utf8' });
      expect(out).toContain(`refused: the database is in use by process ${process.pid}`);
    } finally {
      await mine.close();
    }
  }, 30_000);

  it('takes over the lock of a process that died', async () => {
    const path = join(dir, 'card-db');
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']));
    writeFileSync(`${path}.lock`, `${dead}\n`);
    const db = await open(path);
    expect(readFileSync(`${path}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await db.close();
  });

  it('takes over a lock with its own pid that this process does not hold (a restart as the same pid)', async () => {
    const path = join(dir, 'card-db');
    writeFileSync(`${path}.lock`, `${process.pid}\n`);
    const db = await open(path);
    await expect(open(path)).rejects.toThrow(/in use/);
    await db.close();
  });

  it('refuses a lock held by another live process', async () => {
    const path = join(dir, 'card-db');
    // pid 1 is always alive (and not ours to signal: EPERM still means alive).
    writeFileSync(`${path}.lock`, '1\n');
    await expect(open(path)).rejects.toThrow(/in use by process 1/);
  });
});

describe('receipt keys', () => {
  it('come from configuration only: a persistent service without them refuses to start', async () => {
    await expect(
      startCardService({
        port: 0,
        stripe: { host: '127.0.0.1', port: 9, protocol: 'http', secretKey: 'sk_test_x' },
        webhookSecret: 'whsec_x',
        dbPath: join(dir, 'card-db'),
      }),
    ).rejects.toThrow(/receiptKeys are required/);
    expect(() => parseReceiptKeys('[{"kid":"a","privateKey":"00"}]')).toThrow(/privateKey/);
    expect(() => parseReceiptKeys('not json')).toThrow(RangeError);
    const k = generateReceiptKey();
    expect(() => parseReceiptKeys(JSON.stringify([k, k]))).toThrow(/used twice/);
    expect(parseReceiptKeys(JSON.stringify(k))).toHaveLength(1);
  });

  it('never reach the database files; several are published and a rotated-out key still verifies', async () => {
    const oldKey = generateReceiptKey();
    const newKey = {
      kid: 'k-2026-12',
      privateKey: Buffer.from(generateReceiptKey().privateKey, 'hex').toString('base64url'),
    };
    const dbPath = join(dir, 'card-db');
    const before = await startClockedStack({ dbPath, receiptKeys: [oldKey] });
    let oldReceipt: string;
    try {
      const token = await linkCard(before);
      const paid = await api(before.card.url, token, 'POST', '/api/payments', {
        challengeId: challengeId(),
        amount: 250,
        currency: 'usd',
        destination: before.merchant.accountId,
      });
      oldReceipt = String(paid.json.receipt);
      await before.card.close();
      for (const path of filesUnder(dbPath)) {
        const file = readFileSync(path);
        expect(file.includes(Buffer.from(oldKey.privateKey, 'hex'))).toBe(false);
        expect(file.includes(Buffer.from(oldKey.privateKey))).toBe(false);
      }
    } finally {
      await before.close();
    }
    // Rotation: the new key signs, the old one is still published.
    const after = await offline(dbPath, [newKey, oldKey]);
    try {
      expect(after.receiptKeyId).toBe('k-2026-12');
      const jwks = (await (await fetch(`${after.url}/api/receipt-keys`)).json()) as {
        keys: { kid: string }[];
      };
      expect(jwks.keys.map((k) => k.kid)).toEqual(['k-2026-12', oldKey.kid]);
      const keys = await receiptKeySource(new CardServiceClient({ url: after.url, apiKey: 'pbm_x' }))();
      expect(verifyCardReceipt(oldReceipt, keys).ok).toBe(true);
    } finally {
      await after.close();
    }
  });
});
