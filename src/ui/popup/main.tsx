import { type FormEvent, useEffect, useId, useState } from 'react';
import browser from 'webextension-polyfill';
import { formatMsatAsSats } from '../../core/money/rates';
import { send } from '../../messages/client';
import type { SubscriptionView } from '../../messages/map';
import { BudgetBars } from '../shared/BudgetBars';
import { hostOf, paymentAmount, relativeTime } from '../shared/format';
import { errorText, locale, t } from '../shared/i18n';
import { mount } from '../shared/mount';
import { PaymentsTable } from '../shared/PaymentsTable';
import { ReviewActions } from '../shared/ReviewActions';
import { useStatusStore } from '../shared/status-store';
import { useBalance } from '../shared/useBalance';

function Unlock({ onDone }: { onDone(): void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const id = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await send('vault.unlock', { password });
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form className="card warn unlock" onSubmit={(e) => void submit(e)} data-testid="unlock">
      <p>{t('lockedNotice')}</p>
      <label htmlFor={id} className="visually-hidden">
        {t('password')}
      </label>
      <div className="row">
        <input
          id={id}
          type="password"
          autoComplete="current-password"
          placeholder={t('password')}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="primary">
          {t('unlock')}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

/** A real switch: one button whose name is its visible text, its state in aria-checked. */
function PauseSwitch({ paused, onChange }: { paused: boolean; onChange(paused: boolean): void }) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={paused}
      className="switch"
      data-testid="pause"
      onClick={() => onChange(!paused)}
    >
      <span className="switch-label">{t('pauseAll')}</span>
      <span className="track" aria-hidden="true">
        <span className="thumb" />
      </span>
    </button>
  );
}

function openSettings() {
  // The page named in the hash opens on its own; the bare address shows every section at once.
  void browser.tabs.create({ url: browser.runtime.getURL('src/ui/options/index.html#overview') });
  window.close();
}

/** One line per plan in force: when it renews and what it still includes. */
function PlanLines() {
  const [subs, setSubs] = useState<SubscriptionView[]>([]);
  useEffect(() => {
    void send('subscriptions.list', { refresh: false })
      .then((all) => setSubs(all.filter((s) => s.state !== 'ended')))
      .catch(() => {});
  }, []);
  if (subs.length === 0) return null;
  const day = (ms: number) => new Date(ms).toLocaleDateString(locale(), { month: 'short', day: 'numeric' });
  return (
    <section aria-labelledby="h-plans" data-testid="popup-plans">
      <h2 id="h-plans">{t('popupPlans')}</h2>
      <ul className="waiting">
        {subs.map((s) => (
          <li key={s.id}>
            <span className="grow">
              <span className="ellipsis emph">{s.planName}</span>
              <span className="muted small ellipsis">
                {s.state === 'canceling'
                  ? t('popupPlanEnds', day(s.periodEnd))
                  : s.usage
                    ? t(
                        'popupPlanLine',
                        day(s.periodEnd),
                        String(Math.max(0, s.usage.included - s.usage.used)),
                        String(s.usage.included),
                      )
                    : t('popupPlanRenews', day(s.periodEnd))}
              </span>
            </span>
            <span className="muted small ellipsis">{s.site}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Popup() {
  const { status, payments, spend, error, load, setPaused } = useStatusStore();
  useEffect(() => {
    void load();
  }, [load]);
  const waiting = payments.filter((p) => p.state === 'reserved' && p.approval === 'waiting');
  const underReview = payments.filter((p) => p.provisional);
  const paying = status?.rails.find((r) => r.id === status.defaultRailId);
  const linked = status?.rails.length ?? 0;
  const balance = useBalance(paying?.id, paying?.kind);
  return (
    <main className="popup">
      <header className="popup-header">
        <h1>Paybound</h1>
        {status && <PauseSwitch paused={status.paused} onChange={(p) => void setPaused(p)} />}
      </header>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {status?.paused && (
        <p className="card warn" data-testid="paused">
          {t('pausedNotice')}
        </p>
      )}
      {status?.vault === 'locked' && <Unlock onDone={() => void load()} />}
      {waiting.length > 0 && (
        <section aria-labelledby="h-waiting">
          <h2 id="h-waiting">
            {t('waitingForYou')} <span className="count">{waiting.length}</span>
          </h2>
          <ul className="waiting" data-testid="waiting">
            {waiting.map((p) => (
              <li key={p.id}>
                <span className="grow">
                  <span className="ellipsis emph">{hostOf(p.origin)}</span>
                  <span className="muted small nowrap">{relativeTime(p.createdAt)}</span>
                </span>
                <span className="nowrap num">{paymentAmount(p)}</span>
                <button type="button" onClick={() => void send('approvals.focus', { tabId: p.tabId ?? -1 })}>
                  {t('open')}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="h-period">
        <h2 id="h-period">{t('thisPeriod')}</h2>
        <BudgetBars budgets={spend} />
      </section>
      <PlanLines />
      {underReview.length > 0 && (
        <section data-testid="under-review-list" aria-labelledby="h-review">
          <h2 id="h-review">{t('popupUnderReview')}</h2>
          <PaymentsTable
            compact
            rows={underReview}
            actions={(p) => (
              <ReviewActions payment={p} currency={status?.currency ?? 'USD'} onChanged={() => load()} />
            )}
          />
        </section>
      )}
      <section aria-labelledby="h-recent">
        <h2 id="h-recent">{t('recentPayments')}</h2>
        <PaymentsTable compact rows={payments.slice(0, 5)} />
      </section>
      <footer className="popup-footer">
        <span
          className="wallet"
          data-testid="status"
          title={status ? `Paybound ${status.version}` : undefined}
        >
          <span className="muted small">{t('popupPayingWith')}</span>
          <span className="ellipsis emph">{paying?.label ?? t('noWallet')}</span>
          {balance !== undefined && (
            <span className="small nowrap" data-testid="balance">
              {t('popupBalance', formatMsatAsSats(balance))}
            </span>
          )}
          {linked > 1 && (
            <span className="muted small nowrap">{t('popupWalletsLinked', String(linked))}</span>
          )}
        </span>
        <button type="button" onClick={openSettings}>
          {t('settings')}
        </button>
      </footer>
    </main>
  );
}

mount(<Popup />);
