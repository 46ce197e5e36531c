/** Every payment, filtered and searched; spend per day and per site as charts; export and import. */
import { type ChangeEvent, useId, useMemo, useState } from 'react';
import { paymentsCsv } from '../../core/money/csv';
import { formatMinor } from '../../core/money/rates';
import { send } from '../../messages/client';
import type { PaymentView } from '../../messages/map';
import { hostOf, stateLabel } from '../shared/format';
import { errorText, t } from '../shared/i18n';
import { PaymentsTable } from '../shared/PaymentsTable';
import { ReviewActions } from '../shared/ReviewActions';
import { DayChart } from './DayChart';
import { spendPerDay, spendPerSite } from './spend';

function download(name: string, type: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

const dayOf = (ms: number) => new Date(ms).toLocaleDateString('en-CA');

/** Spend per site, largest first: the site, a bar for its share of the largest, the amount. */
function SiteBars({
  sites,
  currency,
  filtered,
}: {
  sites: ReturnType<typeof spendPerSite>;
  currency: string;
  filtered: boolean;
}) {
  const max = sites.rows[0]?.minor ?? 0n;
  return (
    <figure className="card chart" data-testid="by-site">
      <figcaption className="chart-head">
        <span className="chart-title">{t('historySpentPerSite')}</span>
        {filtered && <span className="muted small">{t('historySpentPerSiteFiltered')}</span>}
      </figcaption>
      <ol className="site-bars">
        {sites.rows.map(({ origin, minor }) => {
          // A share in tenths of a percent from the exact amounts; a tiny one still shows a sliver.
          const share = max > 0n ? Math.max(0.5, Number((minor * 1000n) / max) / 10) : 0;
          return (
            <li key={origin}>
              <span className="ellipsis" title={origin}>
                {hostOf(origin)}
              </span>
              <span className="track" aria-hidden="true">
                <span className="fill" style={{ width: `${share}%` }} />
              </span>
              <span className="num">{formatMinor(minor, currency)}</span>
            </li>
          );
        })}
      </ol>
      {sites.rest && (
        <p className="muted site-rest">
          {t('historyOtherSites', String(sites.rest.sites), formatMinor(sites.rest.minor, currency))}
        </p>
      )}
    </figure>
  );
}

/** The states the status filter offers, in the order a person looks for them. */
const FILTER_STATES = [
  'paid',
  'accepted',
  'reserved',
  'failed',
  'unknown',
  'proof_failed',
  'rejected',
  'refund_requested',
  'refunded',
  'partially_refunded',
  'refund_denied',
];

export function History({
  payments,
  currency,
  rails: linked,
  reload,
}: {
  payments: PaymentView[];
  currency: string;
  rails: { id: string; label: string }[];
  reload(): Promise<void>;
}) {
  const [site, setSite] = useState('');
  const [state, setState] = useState('');
  const [rail, setRail] = useState('');
  const [from, setFrom] = useState('');
  const [query, setQuery] = useState('');
  const [message, setMessage] = useState<string>();
  const [fileName, setFileName] = useState<string>();
  const fileNameId = useId();
  const sites = useMemo(() => [...new Set(payments.map((p) => p.origin))].sort(), [payments]);
  const rails = useMemo(() => [...new Set(payments.map((p) => p.railId))].sort(), [payments]);
  const shown = payments.filter(
    (p) =>
      (!site || p.origin === site) &&
      (!state || p.state === state) &&
      (!rail || p.railId === rail) &&
      (!from || dayOf(p.createdAt) >= from) &&
      (!query ||
        `${p.origin} ${p.url} ${p.description ?? ''} ${p.paymentHash}`
          .toLowerCase()
          .includes(query.toLowerCase())),
  );
  const days = useMemo(() => spendPerDay(payments, currency), [payments, currency]);
  const perSite = spendPerSite(shown, currency);
  const filtered = Boolean(site || state || rail || from || query);
  const exportJson = async () => {
    const backup = await send('ledger.export', {});
    download(`paybound-${dayOf(Date.now())}.json`, 'application/json', JSON.stringify(backup, null, 2));
  };
  const importJson = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.target;
    const file = input.files?.[0];
    if (!file) return;
    setFileName(file.name);
    try {
      const r = await send('ledger.import', { backup: JSON.parse(await file.text()) });
      const counts = [String(r.added), String(r.alreadyThere), String(r.refused)];
      setMessage(
        r.reasons.length
          ? t('historyImportedWithReasons', ...counts, r.reasons.join('; '))
          : t('historyImported', ...counts),
      );
      await reload();
    } catch (err) {
      setMessage(errorText(err));
    } finally {
      // Cleared, so that choosing the same file again (after fixing it) imports it again.
      input.value = '';
    }
  };
  return (
    <>
      <DayChart days={days} currency={currency} />
      <search className="card filters" aria-label={t('historyFilters')}>
        <label>
          <span>{t('historyFilterSite')}</span>
          <select value={site} onChange={(e) => setSite(e.target.value)}>
            <option value="">{t('historyFilterAll')}</option>
            {sites.map((s) => (
              <option key={s} value={s}>
                {hostOf(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>{t('historyFilterWallet')}</span>
          <select value={rail} onChange={(e) => setRail(e.target.value)}>
            <option value="">{t('historyFilterAll')}</option>
            {rails.map((r) => (
              <option key={r} value={r}>
                {linked.find((l) => l.id === r)?.label ?? t('historyUnlinkedWallet')}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>{t('historyFilterStatus')}</span>
          <select value={state} onChange={(e) => setState(e.target.value)}>
            <option value="">{t('historyFilterAll')}</option>
            {FILTER_STATES.map((s) => (
              <option key={s} value={s}>
                {stateLabel(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>{t('historyFilterSince')}</span>
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label className="grow">
          <span>{t('historyFilterSearch')}</span>
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>
      </search>
      {perSite.rows.length > 0 && <SiteBars sites={perSite} currency={currency} filtered={filtered} />}
      <PaymentsTable
        rows={shown}
        actions={(p) => (
          <ReviewActions
            payment={p}
            currency={currency}
            onChanged={async (text) => {
              if (text) setMessage(text);
              await reload();
            }}
          />
        )}
      />
      <div className="card row backup">
        <span className="buttons">
          <button type="button" data-testid="export-json" onClick={() => void exportJson()}>
            {t('historyExportJson')}
          </button>
          <button
            type="button"
            onClick={() => download(`paybound-${dayOf(Date.now())}.csv`, 'text/csv', paymentsCsv(shown))}
          >
            {t('historyExportCsv')}
          </button>
        </span>
        <span className="file-choice">
          {/* A button of our own: the browser's file input speaks its own language, not the page's. */}
          <label className="file-button">
            <input
              type="file"
              className="visually-hidden"
              accept="application/json"
              data-testid="import"
              aria-describedby={fileName ? fileNameId : undefined}
              onChange={(e) => void importJson(e)}
            />
            {t('historyImport')}
          </label>
          {fileName && (
            <span id={fileNameId} className="muted ellipsis" data-testid="import-file">
              {fileName}
            </span>
          )}
        </span>
      </div>
      {message && (
        <p role="status" data-testid="import-message">
          {message}
        </p>
      )}
    </>
  );
}
