/**
 * The user's spending rules. Amounts are minor units of the user's currency (cents), as bigint.
 * Stored as they are (IndexedDB keeps bigints); on the wire to the UI they travel as decimal strings
 * and are parsed with `parseRules`.
 */
import * as v from 'valibot';
import { isValidTimeZone, type Period } from './periods';

export type BudgetScope = { kind: 'global' } | { kind: 'site'; origin: string };

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
  origin: string;
  mode: SiteMode;
  /** For trusted sites: charges up to this pay without asking (instead of the global auto limit). */
  autoLimitMinor?: bigint;
}

export interface Rules {
  /** Charges up to this pay at once (tier auto). */
  autoMaxMinor: bigint;
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

const Origin = v.pipe(v.string(), v.regex(/^https?:\/\/[^/\s]+$/, 'an origin such as https://app.example'));

export const RulesWireSchema = v.pipe(
  v.strictObject({
    autoMaxMinor: Minor,
    confirmMaxMinor: Minor,
    budgets: v.pipe(
      v.array(
        v.strictObject({
          id: v.pipe(v.string(), v.regex(/^[a-z0-9-]{1,40}$/)),
          label: v.pipe(v.string(), v.minLength(1), v.maxLength(60)),
          scope: v.variant('kind', [
            v.strictObject({ kind: v.literal('global') }),
            v.strictObject({ kind: v.literal('site'), origin: Origin }),
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
          origin: Origin,
          mode: v.picklist(['block', 'ask', 'trusted']),
          autoLimitMinor: v.optional(Minor),
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
);

export type RulesWire = v.InferInput<typeof RulesWireSchema>;

export function parseRules(raw: unknown): Rules {
  const result = v.safeParse(RulesWireSchema, raw);
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
    confirmMaxMinor: r.confirmMaxMinor.toString(),
    budgets: r.budgets.map((b) => ({ ...b, scope: { ...b.scope }, limitMinor: b.limitMinor.toString() })),
    sites: r.sites.map((s) => ({
      origin: s.origin,
      mode: s.mode,
      ...(s.autoLimitMinor !== undefined ? { autoLimitMinor: s.autoLimitMinor.toString() } : {}),
    })),
  };
}

/** The key of the running total a budget counts into: its scope and period, not its id, so editing a budget's limit or label never resets what was spent. */
export function totalKey(b: Pick<Budget, 'scope' | 'period'>, periodKeyValue: string): string {
  const scope = b.scope.kind === 'global' ? 'global' : `site:${b.scope.origin}`;
  return `${scope}|${periodKeyValue}`;
}
