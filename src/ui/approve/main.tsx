import { type MouseEvent, type ReactNode, useEffect, useRef, useState } from 'react';
import {
  formatMinor,
  formatMsatAsSats,
  formatToken,
  minorToInput,
  parseMoneyInput,
} from '../../core/money/rates';
import type { QuoteView } from '../../messages/map';
import { durationText, type MessageKey, say, t } from '../shared/i18n';
import { mount } from '../shared/mount';
import { includesText, periodText, planPriceText } from '../shared/plans';
import { useBalance } from '../shared/useBalance';
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

// U+0001 marks where an element goes inside a translated sentence, wherever the language puts it
// (chrome.i18n drops U+0000 from substitutions).
const SLOT = '\u0001';

/**
 * A one-placeholder message with `slot` (an element: a site name, an input) where the placeholder is;
 * `wordsClass` styles the words around it apart from the slot.
 */
function withSlot(key: MessageKey, slot: ReactNode, wordsClass?: string): ReactNode {
  const parts = t(key, SLOT).split(SLOT);
  const words = (text: string | undefined) =>
    wordsClass && text ? <span className={wordsClass}>{text}</span> : text;
  // A message without the placeholder (a missing translation gives back its key): keep the slot visible.
  if (parts.length < 2) {
    return (
      <>
        {words(parts[0])} {slot}
      </>
    );
  }
  return (
    <>
      {words(parts[0])}
      {slot}
      {words(parts.slice(1).join(''))}
    </>
  );
}

/** How long the window must have been visible and focused, without a break, before Pay works. */
const ARM_DELAY_MS = 1000;

const attentive = (): boolean => document.visibilityState === 'visible' && document.hasFocus();

/**
 * True once the window has been visible and focused for ARM_DELAY_MS in a row while showing this
 * quote. A window that pops up under a click or key press meant for something else (or a page that
 * times one to land on Pay) must not approve: losing focus or visibility starts the clock again, and
 * so does the next quote.
 */
function useArmed(quoteId: string): boolean {
  const [armedFor, setArmedFor] = useState<string>();
  useEffect(() => {
    // Set from the moment the clock starts; stays set once armed, so a repeated `focus` changes nothing.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const update = () => {
      if (!attentive()) {
        clearTimeout(timer);
        timer = undefined;
        setArmedFor(undefined);
      } else if (timer === undefined) {
        timer = setTimeout(() => {
          if (attentive()) {
            setArmedFor(quoteId);
          } else {
            // Attention went without an event reaching us: wait for the next focus to start again.
            timer = undefined;
            setArmedFor(undefined);
          }
        }, ARM_DELAY_MS);
      }
    };
    setArmedFor(undefined);
    update();
    window.addEventListener('focus', update);
    window.addEventListener('blur', update);
    document.addEventListener('visibilitychange', update);
    return () => {
      clearTimeout(timer);
      window.removeEventListener('focus', update);
      window.removeEventListener('blur', update);
      document.removeEventListener('visibilitychange', update);
    };
  }, [quoteId]);
  // Compared by id so that a new quote is never shown armed, not even for the render before the effect.
  return armedFor === quoteId;
}

/** A share of `whole` in percent (0–100), for a bar's width. */
function percent(part: bigint, whole: bigint): number {
  if (whole <= 0n || part <= 0n) return part > 0n ? 100 : 0;
  return part >= whole ? 100 : Number((part * 10_000n) / whole) / 100;
}

/** A budget in the quote: what was spent before and what this charge adds, as a bar and in words. */
function BudgetImpact({
  budget,
  chargeMinor,
  currency,
}: {
  budget: QuoteView['budgets'][number];
  chargeMinor: bigint | undefined;
  currency: string;
}) {
  const limit = BigInt(budget.limitMinor);
  const after = BigInt(budget.afterMinor);
  const over = budget.overMinor !== '0';
  // The worker counts this charge into `after`; without an amount in the currency, all of it is "before".
  const charge = chargeMinor === undefined ? 0n : chargeMinor > after ? after : chargeMinor;
  const before = after - charge;
  const money = (minor: bigint) => formatMinor(minor, currency);
  const beforePct = percent(before, limit);
  const thisPct = Math.min(percent(after, limit), 100) - beforePct;
  return (
    <li className={over ? 'over' : undefined}>
      <div className="budget-line">
        <span className="budget-name">{budget.label}</span>
        <span className="budget-figures">
          <span className="nowrap">{t('quoteBudgetAfterThis', money(after), money(limit))}</span>
          {over && <span className="error">{t('quoteOverBy', money(BigInt(budget.overMinor)))}</span>}
        </span>
      </div>
      <div
        className="bar"
        role="img"
        aria-label={t('quoteBudgetBar', budget.label, money(before), money(charge), money(limit))}
      >
        <span className="bar-before" style={{ width: `${beforePct}%` }} />
        <span className="bar-this" style={{ width: `${Math.max(thisPct, 0)}%` }} />
      </div>
    </li>
  );
}

/**
 * What happens once approved: a card is authorized and captured, Lightning pays an invoice, an
 * Ethereum wallet signs a transfer (or, `upto`, a permit for at most the amount).
 */
function nextKey(card: boolean, estimated: boolean, x402?: QuoteView['x402']): MessageKey {
  if (x402) return x402.scheme === 'upto' ? 'quoteNextX402Upto' : 'quoteNextX402';
  if (card) return estimated ? 'quoteNextCardEstimate' : 'quoteNextCard';
  return estimated ? 'quoteNextEstimate' : 'quoteNextLightning';
}

type Limits = { perChargeMinor: string; perDayMinor: string };

/** The two "pay automatically" limits typed by the user → minor units, or the reason they are not amounts. */
function parseLimits(
  charge: string,
  day: string,
  currency: string,
): { ok: true; limits: Limits } | { ok: false; field: 'charge' | 'day'; error: string } {
  const one = (text: string): bigint | string => {
    try {
      const minor = parseMoneyInput(text, currency);
      return minor > 0n ? minor : t('quoteAllowAutoPositive');
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  };
  const c = one(charge);
  if (typeof c === 'string') return { ok: false, field: 'charge', error: c };
  const d = one(day);
  if (typeof d === 'string') return { ok: false, field: 'day', error: d };
  return { ok: true, limits: { perChargeMinor: c.toString(), perDayMinor: d.toString() } };
}

function Quote({ quote, position, total }: { quote: QuoteView; position: number; total: number }) {
  const { decide, busy, switchRail, blockSite } = useApproveStore();
  // Approved and on its way: the window says so instead of offering what no longer applies.
  const paying = useApproveStore((s) => s.paying === quote.id);
  const [password, setPassword] = useState('');
  const [exceed, setExceed] = useState(false);
  const offerAuto = quote.tier === 'confirm' && quote.autoOffer !== undefined;
  const [allowAuto, setAllowAuto] = useState(false);
  const [autoCharge, setAutoCharge] = useState(() =>
    quote.autoOffer ? minorToInput(BigInt(quote.autoOffer.perChargeMinor), quote.currency) : '',
  );
  const [autoDay, setAutoDay] = useState(() =>
    quote.autoOffer ? minorToInput(BigInt(quote.autoOffer.perDayMinor), quote.currency) : '',
  );
  const [autoError, setAutoError] = useState<{ field: 'charge' | 'day'; error: string }>();
  const needsPassword = quote.tier === 'strong' || quote.tier === 'overage';
  const over = quote.budgets.filter((b) => b.overMinor !== '0');
  const ready = (!needsPassword || password.length > 0) && (quote.tier !== 'overage' || exceed);
  const now = useNowSeconds();
  const remaining = quote.expiresAt - now;
  const expired = remaining <= 0;
  const armed = useArmed(quote.id);
  const approveDisabled = busy || expired || !ready || !armed;
  // Whether the pointer press that ends in a click began while Pay was armed (see onApprove).
  const pressBeganArmed = useRef(false);
  const titleRef = useRef<HTMLHeadingElement>(null);
  // The window opens on who asks, never on Pay: a stray Enter or Space must not pay. (The component
  // is keyed by quote id, so this runs for each new quote.)
  useEffect(() => {
    titleRef.current?.focus();
  }, []);
  const host = new URL(quote.url).host;
  const sameHost = new URL(quote.origin).host === host;
  // The worker always names the site; the origin's host stands in while an older worker answers.
  const site = quote.site || new URL(quote.origin).hostname;
  const amountText =
    quote.amountMinor !== undefined
      ? formatMinor(BigInt(quote.amountMinor), quote.currency)
      : formatMsatAsSats(BigInt(quote.amountMsat));
  const card = quote.railKind === 'card';
  // An estimate authorizes its maximum; the app settles less. Anything else is the price, paid.
  const estimated = quote.estimateMinor !== undefined;
  const rail = quote.rails.find((r) => r.id === quote.railId);
  const balance = useBalance(quote.railId, quote.railKind);
  const chargeMinor = quote.amountMinor !== undefined ? BigInt(quote.amountMinor) : undefined;
  // The countdown leaves Details in its last minute: then it matters more than anything in there.
  const expiryOutside = remaining < 60;
  const expiry = (
    <dd data-testid="expiry" className={remaining < 60 ? 'error' : undefined}>
      {countdown(remaining)}
    </dd>
  );

  const onApprove = (e: MouseEvent<HTMLButtonElement>) => {
    // Checked again here, not only through `disabled`: a press begun on the still-inert button (Chrome
    // sends mouse events to disabled controls) or any activation that slips past it does nothing.
    // `detail` is 0 for a keyboard activation, which has no press.
    const fromPointer = e.detail > 0;
    const began = pressBeganArmed.current;
    pressBeganArmed.current = false;
    if (approveDisabled || !attentive() || (fromPointer && !began)) return;
    let limits: Limits | undefined;
    if (offerAuto && allowAuto) {
      const parsed = parseLimits(autoCharge, autoDay, quote.currency);
      if (!parsed.ok) {
        setAutoError({ field: parsed.field, error: parsed.error });
        document.getElementById(parsed.field === 'charge' ? 'allow-auto-charge' : 'allow-auto-day')?.focus();
        return;
      }
      limits = parsed.limits;
    }
    void decide(quote.id, 'approve', {
      ...(needsPassword ? { password, exceed } : {}),
      ...(limits ? { allowAuto: limits } : {}),
    });
  };

  const autoInput = (field: 'charge' | 'day', value: string, setValue: (v: string) => void) => (
    <span className="money-input">
      <input
        id={`allow-auto-${field}`}
        data-testid={`allow-auto-${field}`}
        type="text"
        inputMode="decimal"
        autoComplete="off"
        spellCheck={false}
        size={7}
        value={value}
        disabled={busy}
        aria-invalid={autoError?.field === field ? true : undefined}
        aria-describedby={autoError?.field === field ? 'allow-auto-error' : undefined}
        onChange={(e) => {
          setValue(e.target.value);
          setAutoError(undefined);
        }}
      />{' '}
      <span className="currency">{quote.currency}</span>
    </span>
  );

  return (
    <section aria-labelledby="quote-title" data-testid="quote" data-quote-id={quote.id}>
      {total > 1 && (
        <p className="muted queue" data-testid="queue">
          {t('queuePosition', String(position), String(total))}
        </p>
      )}
      <header className="who">
        {/* A letter, not the site's icon: nothing the site serves is shown as Paybound's. */}
        <span className="monogram" aria-hidden="true">
          {site.charAt(0).toUpperCase()}
        </span>
        <div className="who-text">
          {/* Only what Paybound established goes here: the site, never the app's own words. */}
          <h1 id="quote-title" ref={titleRef} tabIndex={-1}>
            {withSlot(
              'asksForPayment',
              <span className="site" data-testid="site">
                {site}
              </span>,
              'asks',
            )}
          </h1>
          <p className="origin muted" data-testid="origin">
            {quote.origin}
          </p>
          {quote.topSite && (
            <p className="muted small" data-testid="top-site">
              {t('quoteInFrameOn', quote.topSite)}
            </p>
          )}
          {!sameHost && <p className="muted small">{t('forRequestTo', host)}</p>}
        </div>
      </header>
      {quote.lookalike && (
        <p className="caution warn" role="note" data-testid="lookalike">
          {t('quoteLookalike')}
        </p>
      )}
      {quote.firstPayment && (
        <p className="first" data-testid="first-payment">
          {t('quoteFirstPayment')}
        </p>
      )}
      {quote.description ? (
        <figure className="says">
          <figcaption className="caption">{t('quoteAppSays')}</figcaption>
          {/* Isolated and direction-detected: the app's text cannot reorder anything around it. */}
          <blockquote className="for merchant-text" dir="auto" data-testid="description">
            {quote.description}
          </blockquote>
          {quote.descriptionAltered && (
            <p className="muted small" data-testid="description-altered">
              {t('quoteDescriptionAltered')}
            </p>
          )}
        </figure>
      ) : (
        <>
          <p className="for muted" data-testid="description">
            {t('noDescription')}
          </p>
          {/* Everything the app wrote was invisible or control characters. */}
          {quote.descriptionAltered && (
            <p className="muted small" data-testid="description-altered">
              {t('quoteDescriptionAltered')}
            </p>
          )}
        </>
      )}
      <div className="amount">
        {quote.amountMinor !== undefined && (
          <div className="fiat" data-testid="amount-fiat">
            {formatMinor(BigInt(quote.amountMinor), quote.currency)}
          </div>
        )}
        {quote.x402 ? (
          <div className="sats" data-testid="amount-token">
            {t(
              'quoteTokenOn',
              formatToken(BigInt(quote.x402.amount), quote.x402.decimals, quote.x402.symbol),
              quote.x402.networkName,
            )}
          </div>
        ) : card ? (
          <div className="sats" data-testid="card-note">
            {t('cardAuthorization', quote.currency)}
          </div>
        ) : (
          // Without a rate the sats are the amount, shown as large as a price would be.
          <div className={quote.amountMinor !== undefined ? 'sats' : 'fiat'} data-testid="amount-sats">
            {formatMsatAsSats(BigInt(quote.amountMsat))}
          </div>
        )}
        {quote.x402 && (
          <p
            className={quote.x402.testnet ? 'badge neutral' : 'caution warn'}
            role="note"
            data-testid="network-kind"
          >
            {t(quote.x402.testnet ? 'quoteTestNetwork' : 'quoteMainNetwork')}
          </p>
        )}
        {quote.amountMinor === undefined && (
          <div className="sats" data-testid="amount-fiat">
            {t('quoteRateUnavailable')}
          </div>
        )}
        {quote.estimateMinor && (
          <div className="estimate" data-testid="estimate">
            {quote.x402?.scheme === 'upto'
              ? t('quoteUpTo', formatMinor(BigInt(quote.estimateMinor.max), quote.currency))
              : t(
                  'quoteEstimate',
                  formatMinor(BigInt(quote.estimateMinor.min), quote.currency),
                  formatMinor(BigInt(quote.estimateMinor.max), quote.currency),
                )}
          </div>
        )}
      </div>
      {quote.plan && (
        <p className="plan-charge" data-testid="plan-charge">
          {quote.plan.kind === 'subscribe'
            ? t(
                'planChargeSubscribe',
                quote.plan.name,
                periodText(quote.plan.interval, quote.plan.intervalCount),
              )
            : t(quote.plan.kind === 'renewal' ? 'planChargeRenewal' : 'planChargeOverage', quote.plan.name)}
        </p>
      )}
      {quote.payee && (
        <div className="payee">
          <p data-testid="payee">
            {withSlot(
              quote.payee.kind === 'card'
                ? 'quotePaidToCard'
                : quote.payee.kind === 'address'
                  ? 'quotePaidToAddress'
                  : 'quotePaidToNode',
              <span className="mono" title={quote.payee.id}>
                {quote.payee.short}
              </span>,
            )}
          </p>
          {quote.payee.changed && (
            <p className="caution warn" role="note" data-testid="payee-changed">
              {t('quotePayeeChanged')}
            </p>
          )}
          {quote.payee.isNew && !quote.firstPayment && (
            <p className="muted" data-testid="payee-new">
              {t('quotePayeeNew')}
            </p>
          )}
        </div>
      )}
      <div className="panel wallet" data-testid="wallet">
        {quote.rails.length > 1 ? (
          <label htmlFor="pay-with" className="caption">
            {t('quotePayWith')}
          </label>
        ) : (
          <span className="caption">{t('quotePayWith')}</span>
        )}
        <div className="wallet-row">
          {quote.rails.length > 1 ? (
            <select
              id="pay-with"
              className="wallet-select"
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
          ) : (
            rail && <span className="wallet-name">{rail.label}</span>
          )}
          {balance !== undefined && (
            <span className="wallet-balance muted" data-testid="wallet-balance">
              {withSlot('quoteBalance', <span className="nowrap">{formatMsatAsSats(balance)}</span>)}
            </span>
          )}
        </div>
      </div>
      <div className="panel budgets-impact" data-testid="budget">
        <span className="caption">{t('budgets')}</span>
        {quote.budgets.length === 0 ? (
          <p className="muted">{t('noBudgetApplies')}</p>
        ) : (
          <ul>
            {quote.budgets.map((b) => (
              <BudgetImpact key={b.label} budget={b} chargeMinor={chargeMinor} currency={quote.currency} />
            ))}
          </ul>
        )}
      </div>
      {quote.plans && <PlanOffers quote={quote} />}
      {quote.plansRefused && (
        <p className="muted small" data-testid="plans-refused">
          {t('planOffersRefused')}
        </p>
      )}
      <p className="next" data-testid="next">
        {t(nextKey(card, estimated, quote.x402))}
        {quote.reviewWindowMs !== undefined && (
          <>
            {' '}
            <span data-testid="review-window">
              {t('quoteReviewWindow', durationText(quote.reviewWindowMs))}
            </span>
          </>
        )}
      </p>
      {expiryOutside && (
        <dl className="expiry-soon">
          <dt>{t('offerExpiresIn')}</dt>
          {expiry}
        </dl>
      )}
      <details className="details">
        <summary>{t('quoteDetails')}</summary>
        <dl>
          {!card && <dt>{t('rate')}</dt>}
          <dd data-testid="rate" hidden={card}>
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
          {!expiryOutside && (
            <>
              <dt>{t('offerExpiresIn')}</dt>
              {expiry}
            </>
          )}
          <dt>{t('whyAsk')}</dt>
          <dd data-testid="reasons">{(quote.reasonsSaid?.map((r) => say(r)) ?? quote.reasons).join('; ')}</dd>
          {quote.plansRefused && (
            <>
              {/* The plan reader's reason exists in English only: it stays here, among the details. */}
              <dt>{t('planOffersRefusedWhy')}</dt>
              <dd data-testid="plans-refused-why" lang="en">
                {quote.plansRefused}
              </dd>
            </>
          )}
          <dt>{t('request')}</dt>
          <dd className="url" data-testid="request">
            {quote.method} {quote.url}
          </dd>
        </dl>
      </details>
      {offerAuto && (
        <fieldset className="auto" data-enabled={allowAuto ? 'true' : 'false'}>
          <legend>
            <label className="auto-check">
              <input
                type="checkbox"
                data-testid="allow-auto"
                checked={allowAuto}
                disabled={busy}
                onChange={(e) => {
                  setAllowAuto(e.target.checked);
                  setAutoError(undefined);
                }}
              />{' '}
              {withSlot('quoteAllowAuto', <strong>{site}</strong>)}
            </label>
          </legend>
          {/* The limits stay editable while unchecked; they are sent only with the box checked. */}
          <div className="auto-limits">
            <label htmlFor="allow-auto-charge">
              {withSlot('quoteAllowAutoCharge', autoInput('charge', autoCharge, setAutoCharge))}
            </label>
            <label htmlFor="allow-auto-day">
              {withSlot('quoteAllowAutoDay', autoInput('day', autoDay, setAutoDay))}
            </label>
          </div>
          {autoError && (
            <p className="error" id="allow-auto-error" role="alert">
              {t('quoteAllowAutoError', autoError.error)}
            </p>
          )}
          <p className="muted small">{t('quoteAllowAutoNote')}</p>
        </fieldset>
      )}
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
          data-armed={armed ? 'true' : 'false'}
          disabled={approveDisabled}
          aria-disabled={approveDisabled}
          onPointerDown={() => {
            pressBeganArmed.current = !approveDisabled && attentive();
          }}
          onClick={onApprove}
          aria-busy={paying || undefined}
        >
          {paying ? t('quotePaying') : t(estimated ? 'quoteAuthorizeUpTo' : 'pay', amountText)}
        </button>
      </div>
      <p className="muted hint" role={paying ? 'status' : undefined} data-testid="actions-hint">
        {t(paying ? 'quotePayingHint' : 'escDenies')}
      </p>
      <div className="block" hidden={paying}>
        <button
          type="button"
          className="block-site"
          data-testid="block-site"
          disabled={busy}
          onClick={() => void blockSite(quote.id)}
          aria-describedby="block-site-hint"
        >
          {t('quoteBlockSite')}
        </button>
        <p className="muted small" id="block-site-hint">
          {t('quoteBlockSiteHint', site)}
        </p>
      </div>
    </section>
  );
}

/** The plans the app offers beside this charge, each compared with this site's last 30 days. */
function PlanOffers({ quote }: { quote: QuoteView }) {
  const { busy, subscribe } = useApproveStore();
  const money = (minor: string) => formatMinor(BigInt(minor), quote.currency);
  return (
    <div className="panel plans" data-testid="plans">
      <span className="caption">{t('planOffersCaption')}</span>
      {quote.plans?.map((plan) => {
        const c = plan.comparison;
        const saving = BigInt(c.savingMinor);
        return (
          <div className="plan" key={plan.id} data-testid="plan" data-plan-id={plan.id}>
            <p className="plan-head">
              <span className="caption">{t('planAppNames')}</span>{' '}
              <span className="merchant-text plan-name" dir="auto">
                {plan.name}
              </span>
            </p>
            <p className="plan-price" data-testid="plan-price">
              <strong className="nowrap">
                {planPriceText(plan.priceMinor, quote.currency, plan.interval, plan.intervalCount)}
              </strong>{' '}
              <span className="muted">{t(plan.rail === 'card' ? 'planOnCard' : 'planOnLightning')}</span>
            </p>
            <p className="muted small">
              {includesText(plan, quote.currency)},{' '}
              {plan.overage
                ? t(
                    'planOverage',
                    money(plan.overage.priceMinor),
                    money(plan.overage.capMinor),
                    periodText(plan.interval, plan.intervalCount),
                  )
                : t('planNoOverage')}
            </p>
            <p className="plan-compare" data-testid="plan-compare">
              {c.calls > 0
                ? t('planHistory', String(c.days), money(c.spentMinor), String(c.calls))
                : t('planNoHistory', String(c.days))}{' '}
              {c.calls > 0 &&
                (saving >= 0n
                  ? t('planWouldSave', money(c.planCostMinor), money(c.savingMinor))
                  : t('planWouldCostMore', money(c.planCostMinor), money((-saving).toString())))}
            </p>
            <button
              type="button"
              data-testid="subscribe"
              disabled={busy}
              onClick={() => void subscribe(quote.id, plan.id)}
            >
              {t('planSubscribe', plan.name)}
            </button>
            <p className="muted small">{t('planSubscribeNote')}</p>
          </div>
        );
      })}
    </div>
  );
}

function Approve() {
  // The first load started with the store (store.ts), before this rendered.
  const { quotes, loaded, error, notice, decide, paying } = useApproveStore();
  const first = quotes[0];
  useEffect(() => {
    // Escape only ever denies; no key approves. A quote already approved is past denying.
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && first && first.id !== paying) void decide(first.id, 'deny');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [first, decide, paying]);
  return (
    <main className="approve">
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p className="muted" role="status" data-testid="notice">
          {notice}
        </p>
      )}
      {first ? (
        // Keyed: each quote starts afresh (password, "pay automatically", the arming delay, focus).
        <Quote key={first.id} quote={first} position={1} total={quotes.length} />
      ) : (
        loaded && <p className="muted">{t('noneWaiting')}</p>
      )}
    </main>
  );
}

mount(<Approve />);
