import { type ReactNode, useEffect, useState } from 'react';
import { send } from '../../messages/client';
import { BudgetBars } from '../shared/BudgetBars';
import { railKindLabel } from '../shared/format';
import { type MessageKey, t } from '../shared/i18n';
import { mount } from '../shared/mount';
import { RecentChallenges } from '../shared/RecentChallenges';
import { useStatusStore } from '../shared/status-store';
import { Disputes } from './Disputes';
import { General } from './General';
import { History } from './History';
import { Plans } from './Plans';
import { RulesEditor, SiteRules } from './RulesEditor';
import { ManualRate, PasswordForm, TotpForm } from './Security';
import { Wallets } from './Wallets';
import './options.css';

const PAGES = [
  'overview',
  'budgets',
  'sites',
  'plans',
  'wallets',
  'security',
  'history',
  'disputes',
] as const;
type PageId = (typeof PAGES)[number];

const PAGE_TITLE: Record<PageId, MessageKey> = {
  overview: 'optionsNavOverview',
  budgets: 'optionsNavBudgets',
  sites: 'optionsNavSites',
  plans: 'optionsNavPlans',
  wallets: 'optionsNavWallets',
  security: 'optionsNavSecurity',
  history: 'optionsNavHistory',
  disputes: 'optionsNavDisputes',
};

const PAGE_ICON: Record<PageId, string> = {
  overview: '◎',
  budgets: '▤',
  sites: '⌂',
  plans: '↻',
  wallets: '◈',
  security: '✱',
  history: '☰',
  disputes: '⚑',
};

/**
 * The page named by the hash (#budgets); a bare address (the browser's "Options" link) is the
 * Overview. `#all` shows every page one after another, for a printout or a script that needs every
 * control without choosing a page first.
 */
function pageFromHash(): PageId | 'all' {
  const id = location.hash.slice(1);
  if (id === 'all') return 'all';
  return (PAGES as readonly string[]).includes(id) ? (id as PageId) : 'overview';
}

function usePage(): PageId | 'all' {
  const [page, setPage] = useState(pageFromHash);
  useEffect(() => {
    const onHash = () => {
      setPage(pageFromHash());
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return page;
}

function Page({ id, current, children }: { id: PageId; current: PageId | 'all'; children: ReactNode }) {
  // Every page stays mounted (forms keep what is typed); the others are hidden.
  return (
    // Not id={id}: the browser would scroll to it on every hash change.
    <section id={`page-${id}`} aria-labelledby={`h-${id}`} hidden={current !== 'all' && current !== id}>
      <h2 id={`h-${id}`}>{t(PAGE_TITLE[id])}</h2>
      {children}
    </section>
  );
}

function Options() {
  const { status, recent, payments, spend, error, load } = useStatusStore();
  const page = usePage();
  useEffect(() => {
    void load();
    // Opening the settings looks for what changed elsewhere (refunds paid, chargebacks) at once.
    void send('review.sweep', {})
      .then(() => load())
      .catch(() => {});
  }, [load]);
  useEffect(() => {
    document.title = page === 'all' ? t('settingsTitle') : `${t(PAGE_TITLE[page])} · ${t('settingsTitle')}`;
  }, [page]);
  const currency = status?.currency ?? 'USD';
  const paying = status?.rails.find((r) => r.id === status.defaultRailId);
  const disputeList = <Disputes version={payments.map((p) => p.state).join()} payments={payments} />;
  // Charges whose dispute still waits on someone: the sidebar counts them.
  const disputes = payments.filter(
    (p) => p.state === 'refund_requested' || p.state === 'proof_failed',
  ).length;
  return (
    <div className="options-layout">
      <nav className="sidebar" aria-label={t('optionsSections')}>
        <div className="sidebar-inner">
          <div className="brand">Paybound</div>
          <ul>
            {PAGES.map((id) => (
              <li key={id}>
                <a href={`#${id}`} aria-current={page === id ? 'page' : undefined}>
                  <span className="icon" aria-hidden="true">
                    {PAGE_ICON[id]}
                  </span>
                  {t(PAGE_TITLE[id])}
                  {id === 'disputes' && disputes > 0 && <span className="count">{disputes}</span>}
                </a>
              </li>
            ))}
          </ul>
        </div>
      </nav>
      <main className="options">
        <h1 className={page === 'all' ? undefined : 'visually-hidden'}>{t('settingsTitle')}</h1>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <Page id="overview" current={page}>
          <div className="summary">
            <a className="card tile" href="#wallets">
              <span className="muted small">{t('overviewPayingWallet')}</span>
              <strong className="ellipsis">{paying?.label ?? t('noWallet')}</strong>
              {paying && <span className="muted small">{railKindLabel(paying.kind)}</span>}
            </a>
            <a className="card tile" href="#security">
              <span className="muted small">{t('overviewProtection')}</span>
              <strong>
                {status?.vault === 'none'
                  ? t('overviewUnprotected')
                  : status?.vault === 'locked'
                    ? t('overviewLocked')
                    : t('overviewProtected')}
              </strong>
            </a>
            <div className={status?.paused ? 'card tile warn' : 'card tile'}>
              <span className="muted small">{t('overviewPayments')}</span>
              <strong>{status?.paused ? t('overviewPaused') : t('overviewActive')}</strong>
            </div>
          </div>
          <h3>{t('thisPeriod')}</h3>
          <BudgetBars budgets={spend} />
          <h3>{t('overviewPreferences')}</h3>
          <General onSaved={() => void load()} />
        </Page>
        <Page id="budgets" current={page}>
          <RulesEditor currency={currency} onSaved={() => void load()} />
        </Page>
        <Page id="sites" current={page}>
          <p className="muted">{t('sitesIntro')}</p>
          <SiteRules currency={currency} onSaved={() => void load()} />
        </Page>
        <Page id="plans" current={page}>
          {(page === 'plans' || page === 'all') && <Plans currency={currency} />}
        </Page>
        <Page id="wallets" current={page}>
          {status && <Wallets status={status} reload={load} />}
          <h3>{t('optionsCurrencyHeading')}</h3>
          <ManualRate currency={currency} />
        </Page>
        <Page id="security" current={page}>
          {status?.vault === 'none' && (
            <p className="card warn" data-testid="unencrypted">
              {t('optionsUnencrypted')}
            </p>
          )}
          {status?.vault === 'unlocked' && (
            <div className="card row">
              <p className="muted">{t('optionsUnlockedNotice')}</p>
              <button type="button" onClick={() => void send('vault.lock', {}).then(load)}>
                {t('optionsLockNow')}
              </button>
            </div>
          )}
          <h3>{t('optionsPasswordHeading')}</h3>
          <PasswordForm onSaved={() => void load()} />
          <h3>{t('optionsTotpHeading')}</h3>
          <TotpForm />
        </Page>
        <Page id="history" current={page}>
          <History payments={payments} currency={currency} rails={status?.rails ?? []} reload={load} />
          {/* What a Reject here opened shows right below it; the list is mounted once, here or on its page. */}
          {page === 'history' && (
            <>
              <h3>{t('disputesTitle')}</h3>
              {disputeList}
            </>
          )}
          <h3>{t('optionsChallengesHeading')}</h3>
          <RecentChallenges rows={recent} />
        </Page>
        <Page id="disputes" current={page}>
          {page !== 'history' && disputeList}
        </Page>
      </main>
    </div>
  );
}

mount(<Options />);
