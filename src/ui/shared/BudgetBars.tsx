import { formatMinor } from '../../core/money/rates';
import type { BudgetSpendView } from '../../messages/map';

/** Each budget's spend this period as a labelled progress bar. */
export function BudgetBars({ budgets }: { budgets: BudgetSpendView[] }) {
  if (budgets.length === 0) return <p className="muted">No budgets set.</p>;
  return (
    <ul className="budgets" data-testid="budget-bars">
      {budgets.map((b) => {
        const limit = BigInt(b.limitMinor);
        const used = BigInt(b.spentMinor) + BigInt(b.reservedMinor);
        const pct = limit > 0n ? Number((used * 100n) / limit) : 100;
        return (
          <li key={b.id}>
            <div className="budget-line">
              <span>{b.label}</span>
              <span>
                {formatMinor(used, b.currency)} of {formatMinor(limit, b.currency)}
              </span>
            </div>
            <progress
              max={100}
              value={Math.min(pct, 100)}
              aria-label={`${b.label}: ${pct}% used`}
              className={pct >= 100 ? 'over' : pct >= 80 ? 'high' : undefined}
            />
            <div className="muted small">
              {b.scope}, per {b.period}; starts again on {b.resetsOn}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
