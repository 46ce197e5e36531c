/** This period's spend against each budget and where it is heading, for the popup and settings. */
import { forecastBudget } from '../../core/plans/forecast';
import { nextPeriodStart, periodKey } from '../../core/policy/periods';
import { totalKey } from '../../core/policy/rules';
import type { PayboundDb } from '../../db/schema';
import { getSetting } from '../../db/settings';
import type { BudgetSpendView } from '../../messages/map';
import { loadRules } from './rules';

export async function spendSummary(db: PayboundDb, now = Date.now()): Promise<BudgetSpendView[]> {
  const [rules, currency] = await Promise.all([loadRules(db), getSetting(db, 'currency')]);
  return Promise.all(
    rules.budgets.map(async (b) => {
      const total = await db.spend.get(totalKey(b, periodKey(b.period, now, rules.timeZone)));
      const spent = total?.committedMinor ?? 0n;
      // At this period's pace: the day it runs out, when that is before the period ends.
      const forecast = forecastBudget({ budget: b, spentMinor: spent, nowMs: now, timeZone: rules.timeZone });
      return {
        id: b.id,
        label: b.label,
        period: b.period,
        scope: b.scope.kind === 'global' ? 'all sites' : b.scope.site,
        currency,
        limitMinor: b.limitMinor.toString(),
        spentMinor: spent.toString(),
        reservedMinor: (total?.reservedMinor ?? 0n).toString(),
        resetsOn: nextPeriodStart(b.period, now, rules.timeZone),
        ...(forecast.kind === 'runsOut' ? { runsOutAt: forecast.atMs } : {}),
      };
    }),
  );
}
