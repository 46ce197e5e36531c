/** The Plans page: each subscription, its next renewal, included usage left, overage, history. */
import { useCallback, useEffect, useState } from 'react';
import { formatMinor, formatMsatAsSats } from '../../core/money/rates';
import { send } from '../../messages/client';
import type { PlanHintView, SubscriptionView } from '../../messages/map';
import { dateTime } from '../shared/format';
import { errorText, t } from '../shared/i18n';
import { periodText } from '../shared/plans';

function priceText(s: SubscriptionView, currency: string): string {
  if (s.priceMinor !== undefined) return formatMinor(BigInt(s.priceMinor), s.price.currency ?? currency);
  return formatMsatAsSats(BigInt(s.price.value) * (s.price.unit === 'sat' ? 1000n : 1n));
}

const day = (ms: number) => new Date(ms).toLocaleDateString(undefined, { dateStyle: 'medium' });

export function Plans({ currency }: { currency: string }) {
  const [subs, setSubs] = useState<SubscriptionView[] | undefined>();
  const [hints, setHints] = useState<PlanHintView[]>([]);
  const [error, setError] = useState<string>();
  const load = useCallback(async (refresh: boolean) => {
    try {
      setSubs(await send('subscriptions.list', { refresh }));
      setHints(await send('plans.hints', {}));
      setError(undefined);
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => {
    void load(true);
  }, [load]);
  const cancel = async (id: string) => {
    try {
      await send('subscriptions.cancel', { id });
      await load(false);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const money = (minor: string | undefined, s: SubscriptionView) =>
    minor === undefined ? '' : formatMinor(BigInt(minor), s.price.currency ?? currency);
  return (
    <div data-testid="plans-page">
      <p className="muted">{t('plansIntro')}</p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {hints.map((h) => (
        <p className="card" key={`${h.site} ${h.planId}`} data-testid="plan-hint">
          {t(
            'planHint',
            h.site,
            h.planName,
            formatMinor(BigInt(h.planCostMinor), h.currency),
            formatMinor(BigInt(h.spentMinor), h.currency),
          )}
        </p>
      ))}
      {subs?.length === 0 && <p className="muted">{t('plansNone')}</p>}
      <ul className="subscriptions">
        {subs?.map((s) => (
          <li key={s.id} className="card subscription" data-testid="subscription" data-state={s.state}>
            <div className="dispute-head">
              <strong className="ellipsis">{s.site}</strong>
              <span className="merchant-text" dir="auto">
                {s.planName}
              </span>
              <span className="nowrap num">
                {priceText(s, currency)} {periodText(s.interval, s.intervalCount)}
              </span>
            </div>
            <p className="small" data-testid="renewal">
              {s.state === 'active'
                ? t('planRenewsOn', day(s.periodEnd), priceText(s, currency))
                : s.state === 'canceling'
                  ? t('planEndsOn', day(s.periodEnd))
                  : t('planEnded')}
            </p>
            {s.usage ? (
              <>
                <p className="small" data-testid="usage">
                  {t('planUsage', String(s.usage.used), String(s.usage.included))}
                  {' · '}
                  {t('planUsageLeft', String(Math.max(0, s.usage.included - s.usage.used)))}
                </p>
                {s.usage.included > 0 && (
                  <progress
                    className="usage-bar"
                    max={s.usage.included}
                    value={Math.min(s.usage.used, s.usage.included)}
                    aria-label={t('planUsage', String(s.usage.used), String(s.usage.included))}
                  />
                )}
                {s.overageCapMinor !== undefined && (
                  <p className="small" data-testid="overage">
                    {t(
                      'planOverageThisPeriod',
                      money(s.usage.overageMinor ?? '0', s),
                      money(s.overageCapMinor, s),
                    )}
                  </p>
                )}
              </>
            ) : (
              <p className="muted small">{t('planUsageUnknown')}</p>
            )}
            {s.underused && (
              <p className="caution warn small" role="note" data-testid="underused">
                {t('planUnderused', money(s.underused.periodCostMinor, s), money(s.underused.perUseMinor, s))}
              </p>
            )}
            {s.history.length > 0 && (
              <details>
                <summary>{t('planHistoryHeading')}</summary>
                <ol className="timeline small" data-testid="plan-history">
                  {s.history.map((h) => (
                    <li key={`${h.at}-${h.kind}`}>
                      <time className="muted nowrap" dateTime={new Date(h.at).toISOString()}>
                        {dateTime(h.at)}
                      </time>{' '}
                      {t(`planKind_${h.kind}`)} {h.amountMinor ? money(h.amountMinor, s) : ''}
                    </li>
                  ))}
                </ol>
              </details>
            )}
            {s.state === 'active' && (
              <button type="button" data-testid="cancel-plan" onClick={() => void cancel(s.id)}>
                {t('planCancel')}
              </button>
            )}
          </li>
        ))}
      </ul>
      {subs && subs.length > 0 && (
        <button type="button" onClick={() => void load(true)}>
          {t('planRefresh')}
        </button>
      )}
    </div>
  );
}
