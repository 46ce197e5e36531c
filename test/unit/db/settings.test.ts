import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthService } from '../../../src/background/services/auth';
import { loadRules } from '../../../src/background/services/rules';
import { generalSettings, getStatus } from '../../../src/background/services/status';
import { defaultRules } from '../../../src/core/policy/rules';
import { PayboundDb } from '../../../src/db/schema';
import { getSetting, SETTING_FAMILIES, SETTINGS, setSetting, setSettings } from '../../../src/db/settings';

const dbs: PayboundDb[] = [];
function freshDb(): PayboundDb {
  const db = new PayboundDb(`settings-${Math.random()}`);
  dbs.push(db);
  return db;
}

afterEach(async () => {
  vi.restoreAllMocks();
  for (const db of dbs.splice(0)) await db.delete();
});

/** A row as an older version (or a hand-edited profile) left it, bypassing the typed writer. */
const storeRaw = (db: PayboundDb, key: string, value: unknown) => db.settings.put({ key, value });

describe('settings', () => {
  it('reads every setting as its default while nothing is stored', async () => {
    const db = freshDb();
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    expect(await getSetting(db, 'currency')).toBe('USD');
    expect(await getSetting(db, 'autoLockMinutes')).toBe(30);
    expect(await getSetting(db, 'paused')).toBe(false);
    expect(await getSetting(db, 'muteAutoNotices')).toBe(false);
    expect(await getSetting(db, 'defaultRailId')).toBeNull();
    expect(await getSetting(db, 'password')).toBeNull();
    expect(await getSetting(db, 'authFailures')).toEqual({ count: 0, lockedUntil: 0 });
    expect(await getSetting(db, 'rate:EUR')).toBeNull();
    expect(await getSetting(db, 'rules')).toEqual(defaultRules(zone));
    expect(await db.settings.count()).toBe(0);
  });

  it('keeps the stored rows as they always were: { key, value }, bigints and all', async () => {
    const db = freshDb();
    await setSetting(db, 'currency', 'EUR');
    const manual = { currency: 'EUR', minorPerBtc: 9_000_000n, setAt: 1, expiresAt: 2 };
    await setSetting(db, 'manualRate', manual);
    const rate = { currency: 'EUR', minorPerBtc: 8_900_000n, source: 'test', asOf: 5 };
    await setSetting(db, 'rate:EUR', rate);
    expect(await db.settings.get('currency')).toEqual({ key: 'currency', value: 'EUR' });
    expect(await db.settings.get('manualRate')).toEqual({ key: 'manualRate', value: manual });
    expect(await db.settings.get('rate:EUR')).toEqual({ key: 'rate:EUR', value: rate });
    expect(await getSetting(db, 'manualRate')).toEqual(manual);
    expect(await getSetting(db, 'rate:EUR')).toEqual(rate);
    expect(await getSetting(db, 'rate:USD')).toBeNull();
  });

  it('reads rows an older version wrote, rules in their origin-based shape included', async () => {
    const db = freshDb();
    await storeRaw(db, 'paused', true);
    await storeRaw(db, 'cardServiceUrl', 'http://127.0.0.1:8788');
    const rules = defaultRules('Europe/Paris');
    await storeRaw(db, 'rules', {
      ...rules,
      sites: [{ origin: 'https://shop.example.co.uk', mode: 'block' }],
      budgets: [{ ...rules.budgets[0], scope: { kind: 'site', origin: 'https://api.example.com' } }],
    });
    expect(await getSetting(db, 'paused')).toBe(true);
    expect(await getSetting(db, 'cardServiceUrl')).toBe('http://127.0.0.1:8788');
    const read = await getSetting(db, 'rules');
    expect(read.sites).toEqual([{ site: 'example.co.uk', mode: 'block' }]);
    expect(read.budgets[0]?.scope).toEqual({ kind: 'site', site: 'example.com' });
    expect(read.timeZone).toBe('Europe/Paris');
    expect(read.confirmMaxMinor).toBe(rules.confirmMaxMinor);
  });

  it('reads a stored value that does not match its schema as the default, without throwing', async () => {
    const db = freshDb();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await storeRaw(db, 'autoLockMinutes', 'soon');
    await storeRaw(db, 'currency', 42);
    await storeRaw(db, 'paused', 'yes');
    await storeRaw(db, 'authFailures', { count: 'many' });
    await storeRaw(db, 'password', { salt: 'x' });
    await storeRaw(db, 'rate:USD', { currency: 'USD', minorPerBtc: '9700000', source: 's', asOf: 1 });
    // A budget that is not an object: the legacy upgrade cannot even read it.
    await storeRaw(db, 'rules', { ...defaultRules('UTC'), budgets: [null] });
    expect(await getSetting(db, 'autoLockMinutes')).toBe(30);
    expect(await getSetting(db, 'currency')).toBe('USD');
    expect(await getSetting(db, 'paused')).toBe(false);
    expect(await getSetting(db, 'authFailures')).toEqual({ count: 0, lockedUntil: 0 });
    expect(await getSetting(db, 'password')).toBeNull();
    expect(await getSetting(db, 'rate:USD')).toBeNull();
    expect((await getSetting(db, 'rules')).budgets).toEqual(
      defaultRules(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC').budgets,
    );
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('autoLockMinutes'));
    // The services that read them carry on with the defaults.
    expect(await generalSettings(db)).toEqual({
      currency: 'USD',
      rateSources: [{ kind: 'coinbase' }, { kind: 'kraken' }, { kind: 'mempool' }],
      rateCheck: null,
      autoLockMinutes: 30,
      muteAutoNotices: false,
      cardServiceUrl: null,
    });
    expect(await getStatus(db, '1.0.0')).toMatchObject({ currency: 'USD', paused: false });
    expect((await loadRules(db)).budgets).toHaveLength(1);
    expect(await new AuthService(db).status()).toEqual({ hasPassword: false, hasTotp: false });
  });

  it('refuses to store a value its schema would not read back', async () => {
    const db = freshDb();
    // Only a caller that went around the types can try this; the row must not be written.
    await expect(setSetting(db, 'autoLockMinutes', -5)).rejects.toThrow(/autoLockMinutes/);
    await expect(setSetting(db, 'currency', 'dollars')).rejects.toThrow(/currency/);
    expect(await db.settings.count()).toBe(0);
  });

  it('stores several settings all or none', async () => {
    const db = freshDb();
    await setSettings(db, { currency: 'CHF', muteAutoNotices: true });
    expect(await getSetting(db, 'currency')).toBe('CHF');
    expect(await getSetting(db, 'muteAutoNotices')).toBe(true);
    await expect(setSettings(db, { currency: 'EUR', autoLockMinutes: 0 })).rejects.toThrow();
    expect(await getSetting(db, 'currency')).toBe('CHF');
    expect(await db.settings.get('autoLockMinutes')).toBeUndefined();
  });

  it('types each key with its value', () => {
    const db = {} as PayboundDb;
    const typed = () => {
      // @ts-expect-error an unknown key
      void getSetting(db, 'currencyy');
      // @ts-expect-error a value of another key's type
      void setSetting(db, 'paused', 'yes');
      // @ts-expect-error the fallback is the schema's, not the caller's
      void getSetting(db, 'currency', 'EUR');
      const minutes: Promise<number> = getSetting(db, 'autoLockMinutes');
      const rate: Promise<{ minorPerBtc: bigint } | null> = getSetting(db, 'rate:JPY');
      return [minutes, rate];
    };
    expect(typeof typed).toBe('function');
  });

  it('keeps the keys existing profiles store (a renamed key would lose what the user set)', () => {
    expect(Object.keys(SETTINGS).sort()).toEqual([
      'authFailures',
      'autoLockMinutes',
      'cardServiceUrl',
      'currency',
      'defaultRailId',
      'manualRate',
      'muteAutoNotices',
      'password',
      'paused',
      'provisionedAt',
      'rateCheck',
      'rateSourceUrl',
      'rateSources',
      'rules',
      'totp',
      'totpPending',
      'vault',
    ]);
    expect(Object.keys(SETTING_FAMILIES)).toEqual(['rate:']);
  });
});
