import { useEffect } from 'react';
import { send } from '../../messages/client';
import { BudgetBars } from '../shared/BudgetBars';
import { t } from '../shared/i18n';
import { mount } from '../shared/mount';
import { RecentChallenges } from '../shared/RecentChallenges';
import { useStatusStore } from '../shared/status-store';
import { Disputes } from './Disputes';
import { General } from './General';
import { History } from './History';
import { RulesEditor } from './RulesEditor';
import { ManualRate, PasswordForm, TotpForm } from './Security';
import { Wallets } from './Wallets';
import './options.css';

function Options() {
  const { status, recent, payments, spend, error, load } = useStatusStore();
  useEffect(() => {
    void load();
    // Opening the settings looks for what changed elsewhere (refunds paid, chargebacks) at once.
    void send('review.sweep', {})
      .then(() => load())
      .catch(() => {});
  }, [load]);
  const currency = status?.currency ?? 'USD';
  return (
    <main className="options">
      <h1>{t('settingsTitle')}</h1>
      <nav aria-label={t('optionsSections')}>
        <a href="#budgets">{t('optionsNavBudgets')}</a> · <a href="#wallets">{t('optionsNavWallets')}</a> ·{' '}
        <a href="#security">{t('optionsNavSecurity')}</a> · <a href="#history">{t('optionsNavHistory')}</a>
      </nav>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <section id="budgets" aria-labelledby="h-budgets">
        <h2 id="h-budgets">{t('optionsBudgetsHeading')}</h2>
        <BudgetBars budgets={spend} />
        <RulesEditor currency={currency} onSaved={() => void load()} />
      </section>
      <section id="wallets" aria-labelledby="h-wallets">
        <h2 id="h-wallets">{t('optionsWalletsHeading')}</h2>
        {status && <Wallets status={status} reload={load} />}
        <h3>{t('optionsCurrencyHeading')}</h3>
        <General onSaved={() => void load()} />
        <ManualRate currency={currency} />
      </section>
      <section id="security" aria-labelledby="h-security">
        <h2 id="h-security">{t('optionsPasswordHeading')}</h2>
        {status?.vault === 'none' && (
          <p className="card warn" data-testid="unencrypted">
            {t('optionsUnencrypted')}
          </p>
        )}
        {status?.vault === 'unlocked' && (
          <p className="muted">
            {t('optionsUnlockedNotice')}{' '}
            <button type="button" onClick={() => void send('vault.lock', {}).then(load)}>
              {t('optionsLockNow')}
            </button>
          </p>
        )}
        <PasswordForm onSaved={() => void load()} />
        <h3>{t('optionsTotpHeading')}</h3>
        <TotpForm />
      </section>
      <section id="history" aria-labelledby="h-history">
        <h2 id="h-history">{t('optionsHistoryHeading')}</h2>
        <History payments={payments} currency={currency} reload={load} />
        <h3>{t('disputesTitle')}</h3>
        <Disputes version={payments.map((p) => p.state).join()} />
        <h3>{t('optionsChallengesHeading')}</h3>
        <RecentChallenges rows={recent} />
      </section>
    </main>
  );
}

mount(<Options />);
