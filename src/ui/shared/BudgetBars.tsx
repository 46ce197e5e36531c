import { formatMinor } from '../../core/money/rates';
import type { BudgetSpendView } from '../../messages/map';
import { hostOf } from './format';
import { locale, type MessageKey, t } from './i18n';

const PERIOD: Record<string, MessageKey> = { day: 'periodDay', week: 'periodWeek', month: 'periodMonth' };

const periodLabel = (period: string): string => {
  const key = Object.hasOwn(PERIOD, period) ? PERIOD[period] : undefined;
  return key ? t(key) : period;
};

/** The worker names a global budget's scope "all sites" and a site's by its origin. */
const scopeLabel = (scope: string): string => (scope === 'all sites' ? t('budgetScopeAll') : hostOf(scope));

/** "2026-12-01" → "Dec 1" in the user's language. */
function dayLabel(day: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return day;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return date.toLocaleDateString(locale(), { month: 'short', day: 'numeric' });
}

/** Each budget's spend this period as a labelled progress bar. */
export function BudgetBars({ budgets }: { budgets: BudgetSpendView[] }) {
  if (budgets.length === 0) return <p className="muted">{t('noBudgetsSet')}</p>;
  return (
    <ul className="budgets" data-testid="budget-bars">
      {budgets.map((b) => {
        const limit = BigInt(b.limitMinor);
        const used = BigInt(b.spentMinor) + BigInt(b.reservedMinor);
        const pct = limit > 0n ? Number((used * 100n) / limit) : 100;
        return (
          <li key={b.id}>
            <div className="budget-line">
              <span className="ellipsis">{b.label}</span>
              <span className="nowrap">
                {t('budgetUsedOf', formatMinor(used, b.currency), formatMinor(limit, b.currency))}
              </span>
            </div>
            <progress
              max={100}
              value={Math.min(pct, 100)}
              aria-label={t('budgetPercentUsed', b.label, String(pct))}
              className={pct >= 100 ? 'over' : pct >= 80 ? 'high' : undefined}
            />
            <div className="muted small ellipsis">
              {t('budgetScopePeriod', scopeLabel(b.scope), periodLabel(b.period), dayLabel(b.resetsOn))}
            </div>
            {b.runsOutAt !== undefined && (
              <div className="small forecast" data-testid="forecast">
                {t(
                  'budgetRunsOut',
                  new Date(b.runsOutAt).toLocaleDateString(locale(), { month: 'short', day: 'numeric' }),
                )}
              </div>
            )}
          </li>
        );
      })}
    </ul>
  );
}
