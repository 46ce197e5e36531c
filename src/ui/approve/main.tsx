import { useEffect, useRef, useState } from 'react';
import { formatMinor, formatMsatAsSats } from '../../core/money/rates';
import type { QuoteView } from '../../messages/map';
import { durationText, t } from '../shared/i18n';
import { mount } from '../shared/mount';
import { useApproveStore } from './store';
import './approve.css';

function useNowSeconds(): number {
  const [now, setNow] = useState(() => Math.floor(Date.now() / 1000));
  useEffect(() => {
    const t = setInterval(() => setNow(Math.floor(Date.now() / 1000)), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

function ageText(ms: number): string {
  const minutes = Math.floor(ms / 60000);
  if (minutes < 1) return t('quoteJustNow');
  if (minutes < 120) return t('quoteMinutesAgo', String(minutes));
  return t('quoteHoursAgo', String(Math.floor(minutes / 60)));
}

function countdown(seconds: number): string {
  if (seconds <= 0) return t('quoteExpired');
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

function Quote({ quote, position, total }: { quote: QuoteView; position: number; total: number }) {
  const { decide, busy, switchRail } = useApproveStore();
  const [password, setPassword] = useState('');
  const [exceed, setExceed] = useState(false);
  const needsPassword = quote.tier === 'strong' || quote.tier === 'overage';
  const over = quote.budgets.filter((b) => b.overMinor !== '0');
  const ready = (!needsPassword || password.length > 0) && (quote.tier !== 'overage' || exceed);
  const now = useNowSeconds();
  const remaining = quote.invoiceExpiresAt - now;
  const expired = remaining <= 0;
  const approveRef = useRef<HTMLButtonElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: focus moves to each new quote
  useEffect(() => {
    if (!needsPassword) approveRef.current?.focus();
  }, [quote.id]);
  const host = new URL(quote.url).host;
  // The origin sits inside the translated sentence, wherever the language puts it. (U+0001 as the
  // marker: chrome.i18n drops U+0000 from substitutions.)
  const [asksBefore, asksAfter] = t('asksForPayment', '\u0001').split('\u0001');
  const sameSite = new URL(quote.origin).host === host;
  return (
    <section aria-labelledby="quote-title" data-testid="quote" data-quote-id={quote.id}>
      {total > 1 && (
        <p className="muted" data-testid="queue">
          {t('queuePosition', String(position), String(total))}
        </p>
      )}
      <h1 id="quote-title">
        {asksBefore}
        <span data-testid="origin">{quote.origin}</span>
        {asksAfter}
      </h1>
      {!sameSite && <p className="muted">{t('forRequestTo', host)}</p>}
      <p className="for" data-testid="description">
        {quote.description ?? t('noDescription')}
      </p>
      <div className="amount">
        <div className="fiat" data-testid="amount-fiat">
          {quote.amountMinor !== undefined
            ? formatMinor(BigInt(quote.amountMinor), quote.currency)
            : t('quoteRateUnavailable')}
        </div>
        {quote.railKind === 'card' ? (
          <div className="sats" data-testid="card-note">
            {t('cardAuthorization')}
          </div>
        ) : (
          <div className="sats" data-testid="amount-sats">
            {formatMsatAsSats(BigInt(quote.amountMsat))}
          </div>
        )}
      </div>
      {quote.estimateMinor && (
        <p className="estimate" data-testid="estimate">
          {t(
            'quoteEstimate',
            formatMinor(BigInt(quote.estimateMinor.min), quote.currency),
            formatMinor(BigInt(quote.estimateMinor.max), quote.currency),
          )}
        </p>
      )}
      {quote.reviewWindowMs !== undefined && (
        <p className="muted" data-testid="review-window">
          {t('quoteReviewWindow', durationText(quote.reviewWindowMs))}
        </p>
      )}
      <dl>
        {quote.railKind !== 'card' && <dt>{t('rate')}</dt>}
        <dd data-testid="rate" hidden={quote.railKind === 'card'}>
          {quote.rate
            ? t(
                'quoteRateLine',
                formatMinor(BigInt(quote.rate.minorPerBtc), quote.currency),
                quote.rate.source,
                ageText(quote.rate.ageMs),
              )
            : t('quoteNoRate')}
          {quote.rate?.stale && <strong className="error">{t('quoteStaleRate')}</strong>}
        </dd>
        {quote.rails.length > 1 && (
          <>
            <dt>
              <label htmlFor="pay-with">{t('quotePayWith')}</label>
            </dt>
            <dd>
              <select
                id="pay-with"
                data-testid="pay-with"
                value={quote.railId}
                disabled={busy}
                onChange={(e) => void switchRail(quote.id, e.target.value)}
              >
                {quote.rails.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.label}
                  </option>
                ))}
              </select>
            </dd>
          </>
        )}
        <dt>{t('offerExpiresIn')}</dt>
        <dd data-testid="expiry" className={remaining < 60 ? 'error' : undefined}>
          {countdown(remaining)}
        </dd>
        <dt>{t('budgets')}</dt>
        <dd data-testid="budget">
          {quote.budgets.length === 0
            ? t('noBudgetApplies')
            : quote.budgets.map((b) => (
                <div key={b.label} className={b.overMinor !== '0' ? 'error' : undefined}>
                  {t(
                    'quoteBudgetAfter',
                    b.label,
                    formatMinor(BigInt(b.afterMinor), quote.currency),
                    formatMinor(BigInt(b.limitMinor), quote.currency),
                  )}
                  {b.overMinor !== '0' && t('quoteOverBy', formatMinor(BigInt(b.overMinor), quote.currency))}
                </div>
              ))}
        </dd>
        <dt>{t('whyAsk')}</dt>
        <dd data-testid="reasons">{quote.reasons.join('; ')}</dd>
        <dt>{t('request')}</dt>
        <dd className="muted url">
          {quote.method} {quote.url}
        </dd>
      </dl>
      {needsPassword && (
        <label className="strong">
          {t(quote.tier === 'overage' ? 'quotePasswordForOverage' : 'quotePasswordForStrong')}
          <input
            type="password"
            data-testid="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
      )}
      {quote.tier === 'overage' && (
        <label className="exceed">
          <input
            type="checkbox"
            data-testid="exceed"
            checked={exceed}
            onChange={(e) => setExceed(e.target.checked)}
          />{' '}
          {t(
            'quoteExceed',
            over
              .map((b) => t('quoteExceedItem', b.label, formatMinor(BigInt(b.overMinor), quote.currency)))
              .join(t('quoteExceedJoin')),
          )}
        </label>
      )}
      <div className="actions">
        <button
          type="button"
          data-testid="deny"
          disabled={busy}
          onClick={() => void decide(quote.id, 'deny')}
        >
          {t('deny')}
        </button>
        <button
          type="button"
          className="primary"
          data-testid="approve"
          ref={approveRef}
          disabled={busy || expired || !ready}
          onClick={() => void decide(quote.id, 'approve', needsPassword ? { password, exceed } : {})}
        >
          {t(
            'pay',
            quote.amountMinor !== undefined
              ? formatMinor(BigInt(quote.amountMinor), quote.currency)
              : formatMsatAsSats(BigInt(quote.amountMsat)),
          )}
        </button>
      </div>
      <p className="muted hint">{t('escDenies')}</p>
    </section>
  );
}

function Approve() {
  const { quotes, loaded, error, load, decide } = useApproveStore();
  useEffect(() => {
    void load();
  }, [load]);
  const first = quotes[0];
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && first) void decide(first.id, 'deny');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [first, decide]);
  return (
    <main className="approve">
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {first ? (
        <Quote quote={first} position={1} total={quotes.length} />
      ) : (
        loaded && <p className="muted">{t('noneWaiting')}</p>
      )}
    </main>
  );
}

mount(<Approve />);
