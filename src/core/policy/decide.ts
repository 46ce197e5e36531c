/**
 * The spending decision: a pure function of the charge, the rules, the running totals and the
 * clock. A charge counts against every budget it falls under; the strictest outcome wins; the
 * decision carries its reasons, shown in the quote window.
 */
import { english, type Said, said } from '../text/said';
import { periodKey } from './periods';
import { autoTotalKeys, type Budget, type Rules, totalKey } from './rules';

export type Tier = 'auto' | 'confirm' | 'strong' | 'overage' | 'deny';

const ORDER: Record<Tier, number> = { auto: 0, confirm: 1, strong: 2, overage: 3, deny: 4 };

export interface Charge {
  /** The site that asked: the registrable domain of the frame the browser reported. */
  site: string;
  /** User-currency amount, rounded up. */
  amountMinor: bigint;
}

/** What the user agreed to before, with their own clicks (DESIGN §9, consent). */
export interface Consent {
  /** A payment to this site was approved in the quote window before. */
  siteKnown: boolean;
  /** A payment to this payee (Lightning node, card merchant) was approved for this site before. */
  payeeKnown: boolean;
}

export interface BudgetEffect {
  budgetId: string;
  label: string;
  /** The running total it counts into (scope and period). */
  totalKey: string;
  limitMinor: bigint;
  /** Spent or reserved in this period before this charge. */
  beforeMinor: bigint;
  afterMinor: bigint;
  /** By how much this charge would exceed the limit (0 when it fits). */
  overMinor: bigint;
}

export interface Decision {
  tier: Tier;
  /** In English, for the record. */
  reasons: string[];
  /** The same reasons as message keys, for the pages to say in the user's language. */
  said: Said[];
  budgets: BudgetEffect[];
  /** An automatic payment also counts into today's automatic totals (all sites, this site). */
  autoKeys?: string[];
}

export interface PolicyInput {
  charge: Charge;
  rules: Rules;
  /** Running totals (reserved + committed) by total key. */
  totals: ReadonlyMap<string, bigint>;
  /** Automatic payments to this site within the runaway window. */
  recentAutoCount: number;
  consent: Consent;
  nowMs: number;
}

/** What a trusted site may pay a day without asking, unless its rule says otherwise (1.00). */
export const DEFAULT_SITE_DAY_LIMIT_MINOR = 100n;

/** Anything above this is not a real charge for a person (1 000 000.00 in the user's currency). */
export const ABSURD_MINOR = 100_000_000n;

export function appliesTo(b: Budget, site: string): boolean {
  return b.scope.kind === 'global' || b.scope.site === site;
}

export function decide({ charge, rules, totals, recentAutoCount, consent, nowMs }: PolicyInput): Decision {
  const reasons: Said[] = [];
  let tier: Tier = 'auto';
  const raise = (to: Tier, why: Said) => {
    if (ORDER[to] > ORDER[tier]) tier = to;
    reasons.push(why);
  };
  const deny = (why: Said): Decision => ({ tier: 'deny', reasons: [english(why)], said: [why], budgets: [] });

  if (charge.amountMinor <= 0n) return deny(said('reasonNotPositive'));
  if (charge.amountMinor > ABSURD_MINOR) return deny(said('reasonAbsurd'));

  const site = rules.sites.find((s) => s.site === charge.site);
  if (site?.mode === 'block') return deny(said('reasonBlocked'));

  if (charge.amountMinor > rules.confirmMaxMinor) raise('strong', said('reasonLarge'));
  // Nothing is paid without a click unless the user let this site pay automatically, knows the
  // payee, and the charge fits the site's and the day's automatic limits.
  const autoLimit = site?.autoLimitMinor ?? rules.autoMaxMinor;
  const dayLimit = site?.dayLimitMinor ?? DEFAULT_SITE_DAY_LIMIT_MINOR;
  const day = periodKey('day', nowMs, rules.timeZone);
  const keys = autoTotalKeys(charge.site, day);
  const autoToday = totals.get(keys.all) ?? 0n;
  const siteAutoToday = totals.get(keys.site) ?? 0n;
  if (!consent.siteKnown) raise('confirm', said('reasonFirstPayment'));
  else if (!consent.payeeKnown) raise('confirm', said('reasonNewPayee'));
  // The automatic tier's own limits matter only to a charge that could still pay without a click.
  if (tier === 'auto') {
    if (site?.mode === 'ask') raise('confirm', said('reasonAskEvery'));
    else if (site?.mode !== 'trusted') raise('confirm', said('reasonNotTrusted'));
    else if (charge.amountMinor > autoLimit) raise('confirm', said('reasonAboveAuto'));
    else if (siteAutoToday + charge.amountMinor > dayLimit) raise('confirm', said('reasonAboveSiteDay'));
    if (autoToday + charge.amountMinor > rules.autoDayCapMinor) raise('confirm', said('reasonAboveDayCap'));
    if (recentAutoCount >= rules.runaway.maxAuto)
      raise('confirm', said('reasonRunaway', String(recentAutoCount)));
  }

  const budgets: BudgetEffect[] = [];
  for (const b of rules.budgets) {
    if (!appliesTo(b, charge.site)) continue;
    const key = totalKey(b, periodKey(b.period, nowMs, rules.timeZone));
    const beforeMinor = totals.get(key) ?? 0n;
    const afterMinor = beforeMinor + charge.amountMinor;
    const overMinor = afterMinor > b.limitMinor ? afterMinor - b.limitMinor : 0n;
    budgets.push({
      budgetId: b.id,
      label: b.label,
      totalKey: key,
      limitMinor: b.limitMinor,
      beforeMinor,
      afterMinor,
      overMinor,
    });
    if (overMinor > 0n) raise('overage', said('reasonExceeds', b.label));
  }
  if (reasons.length === 0) reasons.push(said('reasonWithin'));
  return {
    tier,
    reasons: reasons.map(english),
    said: reasons,
    budgets,
    ...(tier === 'auto' ? { autoKeys: [keys.all, keys.site] } : {}),
  };
}
