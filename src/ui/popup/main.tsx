import { type FormEvent, useEffect, useState } from 'react';
import browser from 'webextension-polyfill';
import { formatMinor, formatMsatAsSats } from '../../core/money/rates';
import { send } from '../../messages/client';
import { BudgetBars } from '../shared/BudgetBars';
import { t } from '../shared/i18n';
import { mount } from '../shared/mount';
import { PaymentsTable } from '../shared/PaymentsTable';
import { ReviewActions } from '../shared/ReviewActions';
import { useStatusStore } from '../shared/status-store';

function Unlock({ onDone }: { onDone(): void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await send('vault.unlock', { password });
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form className="card warn" onSubmit={(e) => void submit(e)} data-testid="unlock">
      <p>{t('lockedNotice')}</p>
      <label>
        {t('password')}{' '}
        <input
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>{' '}
      <button type="submit" className="primary">
        {t('unlock')}
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function Popup() {
  const { status, payments, spend, error, load, setPaused } = useStatusStore();
  useEffect(() => {
    void load();
  }, [load]);
  const waiting = payments.filter((p) => p.state === 'reserved' && p.approval === 'waiting');
  const underReview = payments.filter((p) => p.provisional);
  return (
    <main className="popup">
      <header className="row">
        <h1>Paybound</h1>
        {status && (
          <label className="switch">
            <input
              type="checkbox"
              data-testid="pause"
              checked={status.paused}
              onChange={(e) => void setPaused(e.target.checked)}
            />{' '}
            {t('pauseAll')}
          </label>
        )}
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
      <h2>{t('thisPeriod')}</h2>
      <BudgetBars budgets={spend} />
      {waiting.length > 0 && (
        <>
          <h2>{t('waitingForYou')}</h2>
          <ul className="waiting" data-testid="waiting">
            {waiting.map((p) => (
              <li key={p.id}>
                {new URL(p.origin).host} —{' '}
                {p.amountMinor !== undefined && p.currency
                  ? formatMinor(BigInt(p.amountMinor), p.currency)
                  : formatMsatAsSats(BigInt(p.amountMsat))}{' '}
                <button type="button" onClick={() => void send('approvals.focus', { tabId: p.tabId ?? -1 })}>
                  {t('open')}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {underReview.length > 0 && (
        <section data-testid="under-review-list">
          <h2>{t('popupUnderReview')}</h2>
          <PaymentsTable
            rows={underReview}
            actions={(p) => (
              <ReviewActions payment={p} currency={status?.currency ?? 'USD'} onChanged={() => load()} />
            )}
          />
        </section>
      )}
      <h2>{t('recentPayments')}</h2>
      <PaymentsTable rows={payments.slice(0, 5)} />
      <footer className="row">
        <span className="muted small" data-testid="status">
          {status?.rails.find((r) => r.id === status.defaultRailId)?.label ?? t('noWallet')} · v
          {status?.version}
        </span>
        <button type="button" onClick={() => void browser.runtime.openOptionsPage()}>
          {t('settings')}
        </button>
      </footer>
    </main>
  );
}

mount(<Popup />);
