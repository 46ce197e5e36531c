// The card service's state survives crashes and mistakes (issue item 6): every write is fsynced
// (file and directory), a database that is empty or unreadable is refused instead of replaced by a
// fresh one, one process writes a database, and receipt keys come from configuration, not the file.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CardDb, CardDbError } from '../../../server/card/db';
import { generateReceiptKey, parseReceiptKeys } from '../../../server/card/keys';
import { startCardService } from '../../../server/card/service';
import { CardServiceClient, receiptKeySource, verifyCardReceipt } from '../../../server/merchant/kit/card';
import { api, challengeId, linkCard } from './helpers';
import { startClockedStack } from './settlement-stack';

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return { ...real, fsyncSync: vi.fn(real.fsyncSync) };
});

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

describe('writing', () => {
  it('fsyncs the new file and its directory on every change', async () => {
    const db = await CardDb.open(join(dir, 'card.sqlite'));
    const fsync = vi.mocked(fs.fsyncSync);
    fsync.mockClear();
    db.setMeta('probe', '1');
    // The temporary file before the rename, the directory after it.
    expect(fsync).toHaveBeenCalledTimes(2);
    db.close();
    expect(readFileSync(join(dir, 'card.sqlite')).subarray(0, 15).toString()).toBe('SQLite format 3');
  });
});

describe('opening', () => {
  it('refuses a 0-byte file instead of starting with an empty database', async () => {
    const path = join(dir, 'card.sqlite');
    writeFileSync(path, '');
    await expect(CardDb.open(path)).rejects.toThrow(CardDbError);
    await expect(offline(path)).rejects.toThrow(/empty; refusing to start/);
    // Nothing was written over it, and no lock is left behind.
    expect(readFileSync(path).length).toBe(0);
    expect(fs.existsSync(`${path}.lock`)).toBe(false);
  });

  it('refuses a file that is not SQLite, a damaged one, and SQLite that is not a card database', async () => {
    const path = join(dir, 'card.sqlite');
    writeFileSync(path, 'x'.repeat(4096));
    await expect(CardDb.open(path)).rejects.toThrow(/not an SQLite file/);

    const good = await CardDb.open(join(dir, 'good.sqlite'));
    good.run(
      "INSERT INTO merchants (account_id, name, api_key_hash, created_at) VALUES ('acct_1', 'a', 'h', 1)",
    );
    good.close();
    const bytes = readFileSync(join(dir, 'good.sqlite'));
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(CardDb.open(path)).rejects.toThrow(CardDbError);

    const initSqlJs = (await import('sql.js')).default;
    const { createRequire } = await import('node:module');
    const { dirname } = await import('node:path');
    const wasmDir = dirname(createRequire(import.meta.url).resolve('sql.js'));
    const SQL = await initSqlJs({ locateFile: (f) => `${wasmDir}/${f}` });
    const other = new SQL.Database();
    other.exec('CREATE TABLE notes (t TEXT)');
    writeFileSync(path, other.export());
    other.close();
    await expect(CardDb.open(path)).rejects.toThrow(/not a card database/);
  });

  it('creates a database only where there is no file yet', async () => {
    const path = join(dir, 'sub', 'card.sqlite');
    const db = await CardDb.open(path);
    expect(db.meta('schema_version')).toBe('3');
    db.close();
    expect((await CardDb.open(path)).meta('schema_version')).toBe('3');
  });
});

describe('one writer per database', () => {
  it('refuses a second open while the first holds the lock, and allows it after close', async () => {
    const path = join(dir, 'card.sqlite');
    const first = await CardDb.open(path);
    expect(readFileSync(`${path}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await expect(CardDb.open(path)).rejects.toThrow(new RegExp(`in use by process ${process.pid}`));
    await expect(offline(path)).rejects.toThrow(/in use by process/);
    first.close();
    expect(fs.existsSync(`${path}.lock`)).toBe(false);
    (await CardDb.open(path)).close();
  });

  it('refuses another process on the same file', async () => {
    const path = join(dir, 'card.sqlite');
    const mine = await CardDb.open(path);
    try {
      // A module file: top-level await.
      const script = join(dir, 'second-writer.mts');
      writeFileSync(
        script,
        `import { CardDb } from ${JSON.stringify(join(process.cwd(), 'server/card/db.ts'))};
        try { (await CardDb.open(${JSON.stringify(path)})).close(); console.log('opened'); }
        catch (e) { console.log('refused: ' + e.message); }`,
      );
      const out = execFileSync(join(process.cwd(), 'node_modules/.bin/tsx'), [script], { encoding: 'utf8' });
      expect(out).toContain(`refused: card database is in use by process ${process.pid}`);
    } finally {
      mine.close();
    }
  }, 30_000);

  it('takes over the lock of a process that died', async () => {
    const path = join(dir, 'card.sqlite');
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']));
    writeFileSync(`${path}.lock`, `${dead}\n`);
    const db = await CardDb.open(path);
    expect(readFileSync(`${path}.lock`, 'utf8').trim()).toBe(String(process.pid));
    db.close();
  });

  it('takes over a lock with its own pid that this process does not hold (a restart as the same pid)', async () => {
    const path = join(dir, 'card.sqlite');
    writeFileSync(`${path}.lock`, `${process.pid}\n`);
    const db = await CardDb.open(path);
    await expect(CardDb.open(path)).rejects.toThrow(/in use/);
    db.close();
  });

  it('refuses a lock held by another live process', async () => {
    const path = join(dir, 'card.sqlite');
    // pid 1 is always alive (and not ours to signal: EPERM still means alive).
    writeFileSync(`${path}.lock`, '1\n');
    await expect(CardDb.open(path)).rejects.toThrow(/in use by process 1/);
  });
});

describe('receipt keys', () => {
  it('come from configuration only: a persistent service without them refuses to start', async () => {
    await expect(
      startCardService({
        port: 0,
        stripe: { host: '127.0.0.1', port: 9, protocol: 'http', secretKey: 'sk_test_x' },
        webhookSecret: 'whsec_x',
        dbPath: join(dir, 'card.sqlite'),
      }),
    ).rejects.toThrow(/receiptKeys are required/);
    expect(() => parseReceiptKeys('[{"kid":"a","privateKey":"00"}]')).toThrow(/privateKey/);
    expect(() => parseReceiptKeys('not json')).toThrow(RangeError);
    const k = generateReceiptKey();
    expect(() => parseReceiptKeys(JSON.stringify([k, k]))).toThrow(/used twice/);
    expect(parseReceiptKeys(JSON.stringify(k))).toHaveLength(1);
  });

  it('never reach the database file; several are published and a rotated-out key still verifies', async () => {
    const oldKey = generateReceiptKey();
    const newKey = {
      kid: 'k-2026-12',
      privateKey: Buffer.from(generateReceiptKey().privateKey, 'hex').toString('base64url'),
    };
    const dbPath = join(dir, 'card.sqlite');
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
      const file = readFileSync(dbPath);
      expect(file.includes(Buffer.from(oldKey.privateKey, 'hex'))).toBe(false);
      expect(file.includes(Buffer.from(oldKey.privateKey))).toBe(false);
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
