/**
 * Schema version 3 (each payment the record of its method) against data the previous version
 * wrote: `test/fixtures/ledger-v2/export.json` is the export of a profile that paid through every
 * method (see the README beside it). Its rows are the database rows as they were stored, so they
 * serve twice: written into a version-2 database that is then upgraded, and imported as the
 * version-1 backup they are.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import Dexie from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { exportBackup, importBackup } from '../../../src/db/backup';
import { PayboundDb, type PaymentRecord } from '../../../src/db/schema';

type Row = Record<string, unknown>;

const FIXTURE = JSON.parse(
  readFileSync(new URL('../../fixtures/ledger-v2/export.json', import.meta.url), 'utf8'),
) as { version: number; payments: Row[]; disputes: Row[] };

/** The fields version 2 kept as bigints (the export wrote them as decimal strings). */
function revive(row: Row): Row {
  const big = (x: unknown) => (typeof x === 'string' ? BigInt(x) : x);
  const out: Row = { ...row, amountMsat: big(row.amountMsat) };
  if (row.amountMinor !== undefined) out.amountMinor = big(row.amountMinor);
  const rate = row.rate as Row | undefined;
  if (rate) out.rate = { ...rate, minorPerBtc: big(rate.minorPerBtc) };
  out.budgetEffects = (row.budgetEffects as Row[]).map((b) => ({
    ...b,
    limitMinor: big(b.limitMinor),
    afterMinor: big(b.afterMinor),
    overMinor: big(b.overMinor),
  }));
  out.reservations = (row.reservations as Row[]).map((r) => ({ ...r, amountMinor: big(r.amountMinor) }));
  const estimate = row.estimate as Row | undefined;
  if (estimate) out.estimate = { min: big(estimate.min), max: big(estimate.max) };
  const s = row.settlement as Row | undefined;
  if (s) {
    out.settlement = Object.fromEntries(
      Object.entries(s).map(([k, x]) => [
        k,
        ['actual', 'overReported', 'refunded', 'countedMinor'].includes(k) ? big(x) : x,
      ]),
    );
  }
  return out;
}

const OLD_ROWS = FIXTURE.payments.map(revive);

/** The database as schema version 2 declared it (versions are append-only: this is what shipped). */
class ReleasedV2 extends Dexie {
  constructor(name: string) {
    super(name);
    this.version(1).stores({
      challenges: '++id, origin, seenAt',
      rails: 'id, kind',
      settings: 'key',
      payments: 'id, &key, origin, state, createdAt, [origin+createdAt]',
      tokens: '++id, &[origin+pathPrefix]',
      spend: 'key',
      notices: 'key',
      disputes: 'id, paymentId, status, openedAt',
    });
    this.version(2).stores({
      payments: 'id, &key, origin, state, createdAt, [origin+createdAt], [site+createdAt]',
      tokens: '++id, &[site+resource+origin+pathPrefix]',
      sites: 'site',
    });
  }
}

/** What version 3 must make of a version-2 row, written out field by field (not by the upgrade's code). */
function expected(old: Row): Row {
  const {
    protocol,
    mpp,
    amountMsat,
    invoice,
    paymentHash,
    invoiceExpiresAt,
    macaroon,
    scheme,
    preimage,
    receipt,
    paymentIntent,
    ...rest
  } = old;
  const challenge = mpp as { method: string; request: { currency: string } } | undefined;
  if (challenge?.method === 'paybound-card') {
    expect(amountMsat).toBe(0n);
    expect([invoice, paymentHash, macaroon]).toEqual(['', '', '']);
    return {
      ...rest,
      kind: 'card',
      amount: { unit: 'minor', currency: challenge.request.currency.toUpperCase(), value: old.amountMinor },
      challenge: { protocol: 'mpp', mpp },
      expiresAt: invoiceExpiresAt,
      card: { receipt, paymentIntent },
    };
  }
  return {
    ...rest,
    kind: 'lightning',
    amount: { unit: 'msat', value: amountMsat },
    challenge: protocol === 'mpp' ? { protocol: 'mpp', mpp } : { protocol: 'l402', macaroon, scheme },
    expiresAt: invoiceExpiresAt,
    lightning: { invoice, paymentHash, ...(preimage !== undefined ? { preimage } : {}) },
  };
}

const opened: Dexie[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.delete();
});

async function upgradedFromV2(): Promise<PayboundDb> {
  const name = `migration-${Math.random()}`;
  const v2 = new ReleasedV2(name);
  await v2.table('payments').bulkAdd(OLD_ROWS);
  await v2.table('disputes').bulkAdd(FIXTURE.disputes);
  v2.close();
  const db = new PayboundDb(name);
  opened.push(db);
  await db.open();
  return db;
}

describe('schema version 3', () => {
  it('the fixture holds every method and protocol version 2 wrote', () => {
    const kinds = OLD_ROWS.map(
      (r) => `${r.protocol}/${(r.mpp as { method?: string } | undefined)?.method ?? '-'}/${r.state}`,
    );
    expect(kinds).toEqual(
      expect.arrayContaining([
        'l402/-/paid',
        'l402/-/failed',
        'l402/-/accepted',
        'mpp/lightning/paid',
        'mpp/paybound-card/rejected',
        'mpp/paybound-card/accepted',
      ]),
    );
  });

  it('upgrades every row of a version-2 database into the record of its method, nothing else changed', async () => {
    const db = await upgradedFromV2();
    expect(db.verno).toBe(5); // through 3 to the newest (4 adds the subscriptions table, 5 an index)
    const rows = await db.payments.toArray();
    expect(rows).toHaveLength(OLD_ROWS.length);
    for (const old of OLD_ROWS) {
      const row = await db.payments.get(old.id as string);
      expect(row).toEqual(expected(old));
    }
    // Indexes still find them.
    const paidKey = OLD_ROWS.find((r) => r.state === 'paid')?.key as string;
    expect((await db.payments.where('key').equals(paidKey).first())?.state).toBe('paid');
    expect(await db.payments.where('state').equals('accepted').count()).toBe(2);
    // Disputes are untouched.
    expect(await db.disputes.count()).toBe(FIXTURE.disputes.length);
  });

  it('a card charge after the upgrade has no sats, and a Lightning charge keeps its proof', async () => {
    const db = await upgradedFromV2();
    const rows = await db.payments.toArray();
    const card = rows.find((r) => r.kind === 'card' && r.state === 'accepted');
    const lightning = rows.find(
      (r) => r.kind === 'lightning' && r.state === 'paid' && r.challenge.protocol === 'l402',
    );
    expect(card).toMatchObject({
      amount: { unit: 'minor', currency: 'USD' },
      card: { receipt: expect.any(String) },
    });
    expect(card && 'lightning' in card).toBe(false);
    expect(lightning?.kind === 'lightning' && lightning.lightning.preimage).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a backup exported by version 2 still imports, as the records the upgrade makes', async () => {
    const db = new PayboundDb(`import-${Math.random()}`);
    opened.push(db);
    expect(FIXTURE.version).toBe(1);
    const summary = await importBackup(db, FIXTURE);
    expect(summary).toMatchObject({ added: OLD_ROWS.length, alreadyThere: 0, refused: 0 });
    for (const old of OLD_ROWS) {
      const { review: _review, ...want } = expected(old) as Row & { settlement?: Row };
      const settlement = want.settlement ? { ...want.settlement } : undefined;
      if (settlement) delete settlement.pendingRefund;
      expect(await db.payments.get(old.id as string)).toEqual({
        ...want,
        ...(settlement ? { settlement } : {}),
        reservations: [],
        reservationState: 'released',
      });
    }
    // Twice is once.
    expect(await importBackup(db, FIXTURE)).toMatchObject({ added: 0, alreadyThere: OLD_ROWS.length });
  });

  it('an export of version 3 imports into a fresh profile with every record as it was', async () => {
    const source = await upgradedFromV2();
    const backup = await exportBackup(source);
    expect(backup.version).toBe(2);
    const target = new PayboundDb(`roundtrip-${Math.random()}`);
    opened.push(target);
    expect(await importBackup(target, JSON.parse(JSON.stringify(backup)))).toMatchObject({
      added: OLD_ROWS.length,
      refused: 0,
    });
    for (const p of await source.payments.toArray()) {
      const { review: _review, ...want } = p;
      const got = await target.payments.get(p.id);
      expect(got).toMatchObject({
        ...want,
        reservations: [],
        reservationState: 'released',
      } as Partial<PaymentRecord>);
    }
  });

  it('refuses backup rows whose method and amount do not agree, or of no known method', async () => {
    const source = await upgradedFromV2();
    const backup = JSON.parse(JSON.stringify(await exportBackup(source))) as { payments: Row[] };
    const [first, second, third] = backup.payments as [Row, Row, Row];
    const card = backup.payments.find((r) => r.kind === 'card') as Row;
    const lies = [
      { ...card, id: 'a', key: 'a', amount: { unit: 'msat', value: '1000' } },
      { ...first, id: 'b', key: 'b', kind: 'x402' },
      { ...second, id: 'c', key: 'c', amount: { unit: 'msat', value: '1.5' } },
      { ...second, id: 'e', key: 'e', amount: { unit: 'msat', value: '-5' } },
      {
        ...third,
        id: 'd',
        key: 'd',
        kind: 'card',
        card: {},
        challenge: { protocol: 'l402', macaroon: 'm', scheme: 'L402' },
      },
    ];
    const target = new PayboundDb(`lies-${Math.random()}`);
    opened.push(target);
    const summary = await importBackup(target, { ...backup, payments: lies });
    expect(summary).toMatchObject({ added: 0, refused: 5 });
    expect(await target.payments.count()).toBe(0);
  });
});

/** The schema as version 4 shipped it (tables only: Dexie creates a new database at its newest). */
class ReleasedV4 extends Dexie {
  constructor(name: string) {
    super(name);
    this.version(4).stores({
      challenges: '++id, origin, seenAt',
      rails: 'id, kind',
      settings: 'key',
      payments: 'id, &key, origin, state, createdAt, [origin+createdAt], [site+createdAt]',
      tokens: '++id, &[site+resource+origin+pathPrefix]',
      spend: 'key',
      notices: 'key',
      disputes: 'id, paymentId, status, openedAt',
      sites: 'site',
      subscriptions: 'id, site, state',
    });
  }
}

describe('schema version 5', () => {
  it('puts exactly the payments with an unused credential in the unusedAt index, by site and time', async () => {
    const name = `migration-v5-${Math.random()}`;
    const v4 = new ReleasedV4(name);
    const base = { state: 'paid', origin: 'https://a.example', createdAt: 1_000 };
    await v4.table('payments').bulkAdd([
      { ...base, id: 'unused', key: 'k1', site: 'a.example', credentialUnused: true },
      { ...base, id: 'used', key: 'k2', site: 'a.example' },
      { ...base, id: 'other-site', key: 'k3', site: 'b.example', credentialUnused: true, createdAt: 2_000 },
    ]);
    v4.close();
    const db = new PayboundDb(name);
    opened.push(db);
    await db.open();
    expect(db.verno).toBe(5);
    const found = await db.payments
      .where('unusedAt')
      .between(['a.example', 0], ['a.example', Number.MAX_SAFE_INTEGER])
      .primaryKeys();
    expect(found).toEqual(['unused']);
    expect((await db.payments.get('other-site'))?.unusedAt).toEqual(['b.example', 2_000]);
    expect((await db.payments.get('used'))?.unusedAt).toBeUndefined();
  });
});
