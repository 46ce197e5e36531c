import { useEffect } from 'react';
import { send } from '../../messages/client';
import { BudgetBars } from '../shared/BudgetBars';
import { t } from '../shared/i18n';
import { mount } from '../shared/mount';
import { RecentChallenges } from '../shared/RecentChallenges';
import { useStatusStore } from '../shared/status-store';
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
  }, [load]);
  const currency = status?.currency ?? 'USD';
  return (
    <main className="options">
      <h1>{t('settingsTitle')}</h1>
      <nav aria-label="Sections">
        <a href="#budgets">Budgets</a> · <a href="#wallets">Wallets</a> · <a href="#security">Security</a> ·{' '}
        <a href="#history">History</a>
      </nav>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <section id="budgets" aria-labelledby="h-budgets">
        <h2 id="h-budgets">Budgets and approvals</h2>
        <BudgetBars budgets={spend} />
        <RulesEditor currency={currency} onSaved={() => void load()} />
      </section>
      <section id="wallets" aria-labelledby="h-wallets">
        <h2 id="h-wallets">Wallets</h2>
        {status && <Wallets status={status} reload={load} />}
        <h3>Currency and exchange rate</h3>
        <General onSaved={() => void load()} />
        <ManualRate currency={currency} />
      </section>
      <section id="security" aria-labelledby="h-security">
        <h2 id="h-security">Password</h2>
        {status?.vault === 'none' && (
          <p className="card warn" data-testid="unencrypted">
            Your wallet keys are stored unencrypted on this computer. Set a password to encrypt them; it also
            protects large charges.
          </p>
        )}
        {status?.vault === 'unlocked' && (
          <p className="muted">
            Wallet keys are encrypted with your password and unlocked until you lock Paybound or leave it
            idle.{' '}
            <button type="button" onClick={() => void send('vault.lock', {}).then(load)}>
              Lock now
            </button>
          </p>
        )}
        <PasswordForm onSaved={() => void load()} />
        <h3>Two-factor codes (TOTP)</h3>
        <TotpForm />
      </section>
      <section id="history" aria-labelledby="h-history">
        <h2 id="h-history">History</h2>
        <History payments={payments} currency={currency} reload={load} />
        <h3>Payment requests seen</h3>
        <RecentChallenges rows={recent} />
      </section>
    </main>
  );
}

mount(<Options />);
