/**
 * The user's spending rules. Amounts are minor units of the user's currency (cents), as bigint.
 * Stored as they are (IndexedDB keeps bigints); on the wire to the UI they travel as decimal strings
 * and are parsed with `parseRules`.
 */
import * as v from 'valibot';
import { siteOf, siteOfHost } from '../site/site';
import { isValidTimeZone, type Period } from './periods';

/** A site is a registrable domain (core/site): `example.co.uk`, `alice.github.io`, `127.0.0.1`. */
export type BudgetScope = { kind: 'global' } | { kind: 'site'; site: string };

export interface Budget {
  id: string;
  label: string;
  scope: BudgetScope;
  period: Period;
  limitMinor: bigint;
  /** Percentages at which to notify, e.g. [50, 80, 100]. */
  milestones: number[];
}

export type SiteMode = 'block' | 'ask' | 'trusted';

export interface SiteRule {
  site: string;
  /** block: refused; ask: every charge asks; trusted: the user let it pay automatically. */
  mode: SiteMode;
  /** Trusted sites: each charge up to this pays without asking (default: the global auto limit). */
  autoLimitMinor?: bigint;
  /** Trusted sites: automatic payments to it stop after this much in a day (default 1.00). */
  dayLimitMinor?: bigint;
}

export interface Rules {
  /**
   * The automatic-payment limit a trusted site gets unless it has its own, and the one the quote
   * window offers. Only sites the user allowed are ever paid without a click.
   */
  autoMaxMinor: bigint;
  /** All automatic payments, across every site, stop after this much in a day; beyond, Paybound asks. */
  autoDayCapMinor: bigint;
  /** Charges up to this need a click (tier confirm); above, a password or code (tier strong). */
  confirmMaxMinor: bigint;
  budgets: Budget[];
  sites: SiteRule[];
  /** More than `maxAuto` automatic payments to one site within `windowMs` drops it to confirm. */
  runaway: { maxAuto: number; windowMs: number };
  timeZone: string;
}

export function defaultRules(timeZone: string): Rules {
  return {
    autoMaxMinor: 25n,
    autoDayCapMinor: 200n,
    confirmMaxMinor: 500n,
    budgets: [
      {
        id: 'global-month',
        label: 'Monthly budget',
        scope: { kind: 'global' },
        period: 'month',
        limitMinor: 5000n,
        milestones: [50, 80, 100],
      },
    ],
    sites: [],
    runaway: { maxAuto: 20, windowMs: 10 * 60 * 1000 },
    timeZone,
  };
}

/** Decimal string of minor units → bigint; refuses negatives, fractions and absurd sizes. */
const Minor = v.pipe(
  v.string(),
  v.regex(/^\d{1,15}$/, 'an amount in minor units (whole cents)'),
  v.transform((s) => BigInt(s)),
);

/** A site as the user writes it: `example.com`, or any URL on it; stored as its registrable domain. */
const Site = v.pipe(
  v.string(),
  v.maxLength(300),
  v.transform((s) => {
    const t = s.trim();
    if (/^https?:\/\//i.test(t)) return siteOf(t) ?? '';
    return /^[a-z0-9.\-:[\]]+$/i.test(t) && t.length > 0 ? siteOfHost(t) : '';
  }),
  v.check((s) => s.length > 0, 'a site such as example.com'),
);

/** Older rules named a site by an origin (`origin`); they read as that origin's site. */
const legacyOrigin = (entry: unknown): unknown => {
  if (typeof entry !== 'object' || entry === null || !('origin' in entry) || 'site' in entry) return entry;
  const { origin, ...rest } = entry as { origin: unknown };
  return { ...rest, site: origin };
};
const legacyScope = (b: unknown): unknown =>
  typeof b === 'object' && b !== null && 'scope' in b
    ? { ...(b as object), scope: legacyOrigin((b as { scope: unknown }).scope) }
    : b;

export const RulesWireSchema = v.pipe(
  v.strictObject({
    autoMaxMinor: Minor,
    autoDayCapMinor: v.optional(Minor, '200'),
    confirmMaxMinor: Minor,
    budgets: v.pipe(
      v.array(
        v.strictObject({
          id: v.pipe(v.string(), v.regex(/^[a-z0-9-]{1,40}$/)),
          label: v.pipe(v.string(), v.minLength(1), v.maxLength(60)),
          scope: v.variant('kind', [
            v.strictObject({ kind: v.literal('global') }),
            v.strictObject({ kind: v.literal('site'), site: Site }),
          ]),
          period: v.picklist(['day', 'week', 'month']),
          limitMinor: Minor,
          milestones: v.pipe(
            v.array(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100))),
            v.maxLength(10),
          ),
        }),
      ),
      v.maxLength(50),
    ),
    sites: v.pipe(
      v.array(
        v.strictObject({
          site: Site,
          mode: v.picklist(['block', 'ask', 'trusted']),
          autoLimitMinor: v.optional(Minor),
          dayLimitMinor: v.optional(Minor),
        }),
      ),
      v.maxLength(500),
    ),
    runaway: v.strictObject({
      maxAuto: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
      windowMs: v.pipe(v.number(), v.integer(), v.minValue(1000), v.maxValue(24 * 3600 * 1000)),
    }),
    timeZone: v.pipe(v.string(), v.check(isValidTimeZone, 'a time zone such as Europe/Paris')),
  }),
  v.check((r) => r.autoMaxMinor <= r.confirmMaxMinor, 'the auto limit must not be above the confirm limit'),
  v.check((r) => new Set(r.budgets.map((b) => b.id)).size === r.budgets.length, 'budget ids must be unique'),
  v.check((r) => new Set(r.sites.map((s) => s.site)).size === r.sites.length, 'each site may have one rule'),
);

export type RulesWire = v.InferInput<typeof RulesWireSchema>;

/** Rules written before sites replaced origins (`origin` in site rules and budget scopes). */
function legacyWire(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const r = raw as { sites?: unknown; budgets?: unknown };
  return {
    ...r,
    ...(Array.isArray(r.sites) ? { sites: r.sites.map(legacyOrigin) } : {}),
    ...(Array.isArray(r.budgets) ? { budgets: r.budgets.map(legacyScope) } : {}),
  };
}

export function parseRules(raw: unknown): Rules {
  const result = v.safeParse(RulesWireSchema, legacyWire(raw));
  if (!result.success) {
    const issue = result.issues[0];
    throw new Error(
      `invalid rules: ${issue ? `${v.getDotPath(issue) ?? ''} ${issue.message}`.trim() : 'unknown'}`,
    );
  }
  return result.output;
}

export function rulesToWire(r: Rules): RulesWire {
  return {
    ...r,
    autoMaxMinor: r.autoMaxMinor.toString(),
    autoDayCapMinor: r.autoDayCapMinor.toString(),
    confirmMaxMinor: r.confirmMaxMinor.toString(),
    budgets: r.budgets.map((b) => ({ ...b, scope: { ...b.scope }, limitMinor: b.limitMinor.toString() })),
    sites: r.sites.map((s) => ({
      site: s.site,
      mode: s.mode,
      ...(s.autoLimitMinor !== undefined ? { autoLimitMinor: s.autoLimitMinor.toString() } : {}),
      ...(s.dayLimitMinor !== undefined ? { dayLimitMinor: s.dayLimitMinor.toString() } : {}),
    })),
  };
}

/** The key of the running total a budget counts into: its scope and period, not its id, so editing a budget's limit or label never resets what was spent. */
export function totalKey(b: Pick<Budget, 'scope' | 'period'>, periodKeyValue: string): string {
  const scope = b.scope.kind === 'global' ? 'global' : `site:${b.scope.site}`;
  return `${scope}|${periodKeyValue}`;
}

/** The running totals of automatic payments today: across all sites, and for one site. */
export function autoTotalKeys(site: string, dayKey: string): { all: string; site: string } {
  return { all: `auto:all|${dayKey}`, site: `auto:site:${site}|${dayKey}` };
}

/**
 * Rules as the database keeps them (bigints), checked when read back: the shape only, since what
 * is stored went through `parseRules` or was built from rules that did. Rules written before sites
 * were registrable domains are read in today's shape first.
 */
const StoredScope = v.variant('kind', [
  v.object({ kind: v.literal('global') }),
  v.object({ kind: v.literal('site'), site: v.string() }),
]);
export function storedRulesSchema(fallback: () => Rules) {
  return v.pipe(
    v.unknown(),
    v.check((raw) => typeof raw === 'object' && raw !== null, 'rules are an object'),
    v.transform((raw) => upgradeStoredRules(raw, fallback())),
    v.object({
      autoMaxMinor: v.bigint(),
      autoDayCapMinor: v.bigint(),
      confirmMaxMinor: v.bigint(),
      budgets: v.array(
        v.object({
          id: v.string(),
          label: v.string(),
          scope: StoredScope,
          period: v.picklist(['day', 'week', 'month']),
          limitMinor: v.bigint(),
          milestones: v.array(v.number()),
        }),
      ),
      sites: v.array(
        v.object({
          site: v.string(),
          mode: v.picklist(['block', 'ask', 'trusted']),
          autoLimitMinor: v.optional(v.bigint()),
          dayLimitMinor: v.optional(v.bigint()),
        }),
      ),
      runaway: v.object({ maxAuto: v.number(), windowMs: v.number() }),
      timeZone: v.string(),
    }),
  );
}

/** Rules stored before sites were registrable domains: read in today's shape. */
export function upgradeStoredRules(stored: unknown, fallback: Rules): Rules {
  if (typeof stored !== 'object' || stored === null) return fallback;
  const r = stored as Partial<Rules> & { sites?: unknown[]; budgets?: unknown[] };
  const site = (x: { site?: string; origin?: string }) => x.site ?? siteOf(x.origin ?? '') ?? x.origin ?? '';
  return {
    ...fallback,
    ...r,
    autoDayCapMinor: r.autoDayCapMinor ?? fallback.autoDayCapMinor,
    budgets: (r.budgets ?? fallback.budgets).map((b) => {
      const budget = b as Budget & { scope: { kind: string; site?: string; origin?: string } };
      return budget.scope.kind === 'site'
        ? { ...budget, scope: { kind: 'site', site: site(budget.scope) } }
        : { ...budget, scope: { kind: 'global' } };
    }),
    sites: (r.sites ?? []).map((x) => {
      const { origin: _legacy, ...rule } = x as SiteRule & { origin?: string };
      return { ...rule, site: site(x as { site?: string; origin?: string }) };
    }),
  };
}
