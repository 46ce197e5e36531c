/**
 * The spending decision: a pure function of the charge, the rules, the running totals and the
 * clock. A charge counts against every budget it falls under; the strictest outcome wins; the
 * decision carries its reasons, shown in the quote window.
 */
import { periodKey } from './periods';
import { type Budget, type Rules, totalKey } from './rules';

export type Tier = 'auto' | 'confirm' | 'strong' | 'overage' | 'deny';

const ORDER: Record<Tier, number> = { auto: 0, confirm: 1, strong: 2, overage: 3, deny: 4 };

export interface Charge {
  /** The site that asked (browser-reported origin). */
  origin: string;
  /** User-currency amount, rounded up. */
  amountMinor: bigint;
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
  reasons: string[];
  budgets: BudgetEffect[];
}

export interface PolicyInput {
  charge: Charge;
  rules: Rules;
  /** Running totals (reserved + committed) by total key. */
  totals: ReadonlyMap<string, bigint>;
  /** Automatic payments to this origin within the runaway window. */
  recentAutoCount: number;
  nowMs: number;
}

/** Anything above this is not a real charge for a person (1 000 000.00 in the user's currency). */
export const ABSURD_MINOR = 100_000_000n;

export function appliesTo(b: Budget, origin: string): boolean {
  return b.scope.kind === 'global' || b.scope.origin === origin;
}

export function decide({ charge, rules, totals, recentAutoCount, nowMs }: PolicyInput): Decision {
  const reasons: string[] = [];
  let tier: Tier = 'auto';
  const raise = (to: Tier, why: string) => {
    if (ORDER[to] > ORDER[tier]) tier = to;
    reasons.push(why);
  };

  if (charge.amountMinor <= 0n)
    return { tier: 'deny', reasons: ['the amount is not a positive charge'], budgets: [] };
  if (charge.amountMinor > ABSURD_MINOR)
    return { tier: 'deny', reasons: ['the amount is implausibly large'], budgets: [] };

  const site = rules.sites.find((s) => s.origin === charge.origin);
  if (site?.mode === 'block')
    return { tier: 'deny', reasons: ['you blocked payments to this site'], budgets: [] };

  const autoLimit =
    site?.mode === 'trusted' && site.autoLimitMinor !== undefined ? site.autoLimitMinor : rules.autoMaxMinor;
  if (charge.amountMinor > rules.confirmMaxMinor)
    raise('strong', 'a large charge: above your confirmation limit');
  else if (charge.amountMinor > autoLimit) raise('confirm', 'above your automatic-payment limit');
  if (site?.mode === 'ask') raise('confirm', 'you asked to approve every payment to this site');
  if (recentAutoCount >= rules.runaway.maxAuto) {
    raise('confirm', `this site was paid automatically ${recentAutoCount} times recently`);
  }

  const budgets: BudgetEffect[] = [];
  for (const b of rules.budgets) {
    if (!appliesTo(b, charge.origin)) continue;
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
    if (overMinor > 0n) raise('overage', `this would exceed "${b.label}"`);
  }
  if (reasons.length === 0) reasons.push('small and within every budget');
  return { tier, reasons, budgets };
}
