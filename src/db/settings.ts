/**
 * Every setting the worker keeps, each with its value's schema and its default, written down once.
 * The rows stay what they always were (`{ key, value }` in the `settings` table), so existing
 * profiles read as before. A stored value that does not match its schema (a bug in an older
 * version, a profile edited by hand) reads as the default: the worker carries on rather than
 * failing every message that reads it.
 */
import * as v from 'valibot';
import { RateSourcesSchema } from '../core/config/rate-sources';
import { defaultRules, storedRulesSchema } from '../core/policy/rules';
import type { PayboundDb } from './schema';

interface Setting<S extends v.GenericSchema> {
  schema: S;
  fallback: () => v.InferOutput<S>;
}

function setting<S extends v.GenericSchema>(schema: S, fallback: () => v.InferOutput<S>): Setting<S> {
  return { schema, fallback };
}

const localTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

const Url = v.pipe(v.string(), v.url());

const Sealed = v.object({ iv: v.string(), ct: v.string() });

/** A rate as the cache and the ledger keep it: minor units of `currency` per BTC. */
const RateSnapshotSchema = v.object({
  currency: v.string(),
  minorPerBtc: v.bigint(),
  source: v.string(),
  asOf: v.number(),
});

export const SETTINGS = {
  /** ISO 4217 code of the user's currency. */
  currency: setting(v.pipe(v.string(), v.regex(/^[A-Z]{3}$/)), () => 'USD'),
  /** The spending rules (amounts as bigint minor units). */
  rules: setting(
    storedRulesSchema(() => defaultRules(localTimeZone())),
    () => defaultRules(localTimeZone()),
  ),
  /** Every payment is refused while paused. */
  paused: setting(v.boolean(), () => false),
  /** The wallet that pays unless the quote window switches; null: the first linked one. */
  defaultRailId: setting(v.nullable(v.string()), () => null),
  /** Minutes without a user action in Paybound's pages before an unlocked vault locks. */
  autoLockMinutes: setting(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(24 * 60)), () => 30),
  /** No notice for automatic payments. */
  muteAutoNotices: setting(v.boolean(), () => false),
  /** The exchange-rate sources the user chose; null: the defaults (an empty list: none, manual only). */
  rateSources: setting(v.nullable(RateSourcesSchema), () => null),
  /** The last time the sources were asked: what each said (for the settings page); null: never. */
  rateCheck: setting(
    v.nullable(
      v.object({
        at: v.number(),
        currency: v.string(),
        used: v.array(v.object({ source: v.string(), minorPerBtc: v.string() })),
        dropped: v.array(v.object({ source: v.string(), reason: v.string() })),
      }),
    ),
    () => null,
  ),
  /** Older versions' single rate source, in a format of Paybound's own: read once, to be dropped. */
  rateSourceUrl: setting(v.nullable(v.string()), () => null),
  /** The user's own rate, used only while no source answers, until it expires. */
  manualRate: setting(
    v.nullable(
      v.object({ currency: v.string(), minorPerBtc: v.bigint(), setAt: v.number(), expiresAt: v.number() }),
    ),
    () => null,
  ),
  /** The card service that links cards; null: none configured. */
  cardServiceUrl: setting(v.nullable(Url), () => null),
  /** When the development provisioning file was applied (unix ms); null: never. */
  provisionedAt: setting(v.nullable(v.number()), () => null),
  /** The password's PBKDF2 hash; null: no password. */
  password: setting(
    v.nullable(v.object({ salt: v.string(), hash: v.string(), iterations: v.number() })),
    () => null,
  ),
  /** The confirmed TOTP secret and the last time step whose code was used; null: no 2FA. */
  totp: setting(
    v.nullable(v.object({ secret: v.string(), lastCounter: v.optional(v.number()) })),
    () => null,
  ),
  /** A TOTP secret waiting for its first code. */
  totpPending: setting(v.nullable(v.object({ secret: v.string() })), () => null),
  /** Wrong answers in a row, and until when strong approvals are locked (unix ms; 0: not locked). */
  authFailures: setting(v.object({ count: v.number(), lockedUntil: v.number() }), () => ({
    count: 0,
    lockedUntil: 0,
  })),
  /**
   * The vault's salt and `check`, a known text sealed under its key (proves a derived key is the
   * right one); null: no vault (no password).
   */
  vault: setting(v.nullable(v.object({ salt: v.string(), check: Sealed })), () => null),
} as const;

/** Settings with one row per id after their prefix: the rate cache has one row per currency. */
export const SETTING_FAMILIES = {
  /** `rate:USD`: the last rate a source gave for that currency. */
  'rate:': setting(v.nullable(RateSnapshotSchema), () => null),
} as const;

type Fixed = typeof SETTINGS;
type Families = typeof SETTING_FAMILIES;
type FamilyKey = { [P in keyof Families & string]: `${P}${string}` }[keyof Families & string];

export type SettingKey = keyof Fixed | FamilyKey;

/** The value a setting holds, after its key. */
export type SettingValue<K extends SettingKey> = K extends keyof Fixed
  ? v.InferOutput<Fixed[K]['schema']>
  : {
      [P in keyof Families & string]: K extends `${P}${string}`
        ? v.InferOutput<Families[P]['schema']>
        : never;
    }[keyof Families & string];

export type SettingValues = { [K in keyof Fixed]: SettingValue<K> };

function definition(key: string): Setting<v.GenericSchema> {
  if (Object.hasOwn(SETTINGS, key)) return SETTINGS[key as keyof Fixed];
  const prefix = (Object.keys(SETTING_FAMILIES) as (keyof Families)[]).find((p) => key.startsWith(p));
  if (prefix !== undefined) return SETTING_FAMILIES[prefix];
  // The key type admits no other: only a caller that went around it reaches this.
  throw new Error(`unknown setting ${key}`);
}

/** What a stored row holds, checked against its schema; the default when absent or unreadable. */
function readSetting<K extends SettingKey>(key: K, stored: unknown): SettingValue<K> {
  const def = definition(key);
  if (stored === undefined) return def.fallback() as SettingValue<K>;
  try {
    const parsed = v.safeParse(def.schema, stored);
    if (parsed.success) return parsed.output as SettingValue<K>;
  } catch {
    // A schema's transform met a shape it could not read: as unreadable as a failed check.
  }
  console.warn(`paybound: the stored setting ${key} is not readable; using its default`);
  return def.fallback() as SettingValue<K>;
}

export async function getSetting<K extends SettingKey>(db: PayboundDb, key: K): Promise<SettingValue<K>> {
  return readSetting(key, (await db.settings.get(key))?.value);
}

/** Stores a setting; refuses a value its schema would not read back (it would silently become the default). */
export async function setSetting<K extends SettingKey>(
  db: PayboundDb,
  key: K,
  value: SettingValue<K>,
): Promise<void> {
  const checked = v.safeParse(definition(key).schema, value);
  if (!checked.success) throw new Error(`setting ${key}: ${checked.issues[0]?.message ?? 'invalid'}`);
  await db.settings.put({ key, value });
}

/** Several settings at once, all or none. */
export async function setSettings(db: PayboundDb, values: Partial<SettingValues>): Promise<void> {
  await db.transaction('rw', db.settings, async () => {
    for (const key of Object.keys(values) as (keyof Fixed)[]) {
      const value = values[key];
      if (value !== undefined) await setSetting(db, key, value);
    }
  });
}

/** Forgets a setting: it reads as its default again. */
export async function deleteSetting(db: PayboundDb, key: SettingKey): Promise<void> {
  await db.settings.delete(key);
}

/** Forgets every row of a family (e.g. all cached rates). */
export async function deleteSettingFamily(db: PayboundDb, prefix: keyof Families): Promise<void> {
  await db.settings.where('key').startsWith(prefix).delete();
}
