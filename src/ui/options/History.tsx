/** Every payment, filtered and searched; spend per day as a chart; export and import. */
import { type ChangeEvent, useMemo, useState } from 'react';
import { paymentsCsv } from '../../core/money/csv';
import { formatMinor } from '../../core/money/rates';
import { send } from '../../messages/client';
import type { PaymentView } from '../../messages/map';
import { hostOf, stateLabel } from '../shared/format';
import { errorText, t } from '../shared/i18n';
import { PaymentsTable } from '../shared/PaymentsTable';
import { ReviewActions } from '../shared/ReviewActions';

const SPENT = new Set(['paid', 'accepted', 'proof_failed']);

function download(name: string, type: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

const dayOf = (ms: number) => new Date(ms).toLocaleDateString('en-CA');

/** Spend per day for this month and the previous one, as bars (SVG, no chart library). */
function SpendChart({ payments, currency }: { payments: PaymentView[]; currency: string }) {
  const now = new Date();
  const months = [
    new Date(now.getFullYear(), now.getMonth() - 1, 1),
    new Date(now.getFullYear(), now.getMonth(), 1),
  ];
  const series = months.map((start) => {
    const days = new Date(start.getFullYear(), start.getMonth() + 1, 0).getDate();
    const totals = Array.from({ length: days }, () => 0n);
    const label = start.toLocaleDateString(undefined, { month: 'long', year: 'numeric' });
    for (const p of payments) {
      const d = new Date(p.createdAt);
      if (!SPENT.has(p.state) || p.amountMinor === undefined) continue;
      if (d.getFullYear() === start.getFullYear() && d.getMonth() === start.getMonth()) {
        totals[d.getDate() - 1] = (totals[d.getDate() - 1] ?? 0n) + BigInt(p.amountMinor);
      }
    }
    return { label, totals, days: totals.map((total, i) => ({ day: i + 1, total })) };
  });
  // biome-ignore lint/complexity/useMathMinMax: bigints; Math.max does not take them
  const max = series.flatMap((s) => s.totals).reduce((m, x) => (x > m ? x : m), 1n);
  const W = 31 * 12;
  const H = 80;
  return (
    <figure className="card chart" data-testid="chart">
      {series.map((s) => {
        const sum = s.totals.reduce((a, b) => a + b, 0n);
        return (
          <div key={s.label}>
            <figcaption>{t('historyMonthTotal', s.label, formatMinor(sum, currency))}</figcaption>
            {/* A month without spend is its total alone, not an empty chart. */}
            {sum > 0n && (
              <svg width={W} height={H} role="img" aria-label={t('historyChartLabel', s.label)}>
                {s.days.map(({ day, total }) => {
                  const h = Number((total * BigInt(H - 4)) / max);
                  return (
                    <rect key={day} x={(day - 1) * 12} y={H - h} width={9} height={h} className="bar">
                      <title>{t('historyDayTotal', String(day), formatMinor(total, currency))}</title>
                    </rect>
                  );
                })}
              </svg>
            )}
          </div>
        );
      })}
    </figure>
  );
}

/** Spend per site for the rows shown: one horizontal bar each (SVG), largest first. */
function SiteBars({ totals, currency }: { totals: Map<string, bigint>; currency: string }) {
  const rows = [...totals].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0));
  const max = rows[0]?.[1] ?? 1n;
  const W = 360;
  return (
    <figure className="card chart" data-testid="by-site">
      <figcaption>{t('historySpentPerSite')}</figcaption>
      <svg width={W + 260} height={rows.length * 22} role="img" aria-label={t('historySpentPerSite')}>
        {rows.map(([origin, minor], i) => {
          const w = max > 0n ? Number((minor * BigInt(W)) / max) : 0;
          return (
            <g key={origin} transform={`translate(0, ${i * 22})`}>
              <rect x={0} y={3} width={Math.max(w, 1)} height={14} className="bar" />
              <text x={W + 8} y={15} className="label">
                {hostOf(origin)} · {formatMinor(minor, currency)}
              </text>
            </g>
          );
        })}
      </svg>
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
  const bySite = new Map<string, bigint>();
  for (const p of shown) {
    if (SPENT.has(p.state) && p.amountMinor !== undefined) {
      bySite.set(p.origin, (bySite.get(p.origin) ?? 0n) + BigInt(p.amountMinor));
    }
  }
  const exportJson = async () => {
    const backup = await send('ledger.export', {});
    download(`paybound-${dayOf(Date.now())}.json`, 'application/json', JSON.stringify(backup, null, 2));
  };
  const importJson = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
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
    }
  };
  return (
    <>
      <SpendChart payments={payments} currency={currency} />
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
      {bySite.size > 0 && <SiteBars totals={bySite} currency={currency} />}
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
        <label className="file">
          <span>{t('historyImport')}</span>
          <input
            type="file"
            accept="application/json"
            data-testid="import"
            onChange={(e) => void importJson(e)}
          />
        </label>
      </div>
      {message && (
        <p role="status" data-testid="import-message">
          {message}
        </p>
      )}
    </>
  );
}
