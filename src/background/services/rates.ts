/**
 * BTC exchange rates from the public sources the user chose (Coinbase, Kraken and mempool.space
 * unless they chose otherwise), asked at once, each read from its own shape
 * (core/money/rate-sources.ts), agreed on by median, and cached in the database: fresher than 10
 * minutes is used as is; older is refreshed; when the refresh fails (sources down or in
 * disagreement), a rate up to 6 hours old is still used, and an older one gets a 2 % safety margin
 * (charges count slightly more, never less) and a warning. With no rate from the sources at all,
 * only a manual rate the user set, until its expiry, is used; else the charge is refused, saying why.
 */

import {
  type Agreement,
  agreeOnRate,
  answersText,
  DEFAULT_RATE_SOURCES,
  failuresText,
  RATE_BODY_MAX_BYTES,
  RATE_SOURCE_KINDS,
  type RateCheck,
  RateSourceError,
  type RateSourceSetting,
  rateSourceLabel,
  rateSourceUrl,
  readRateBody,
  type SourceFailure,
  type SourceQuote,
} from '../../core/money/rate-sources';
import { parseDecimalRate } from '../../core/money/rates';
import { type Said, said } from '../../core/text/said';
import type { PayboundDb, RateSnapshot } from '../../db/schema';
import {
  deleteSetting,
  deleteSettingFamily,
  getSetting,
  type SettingValue,
  setSetting,
} from '../../db/settings';
import { readCapped } from './read-capped';

export const FRESH_MS = 10 * 60 * 1000;
/**
 * A rate older than this is asked for again when it is used, in the background: the quote takes the
 * cached one at once. So while payments come, none waits for the sources; a quote waits only for a
 * rate older than FRESH_MS (or none).
 */
export const AHEAD_MS = 5 * 60 * 1000;
export const STALE_MS = 6 * 60 * 60 * 1000;
/** Each source gets this long; they are asked in parallel, so a quote waits at most this. */
export const FETCH_TIMEOUT_MS = 5000;

export interface QuotedRate {
  rate: RateSnapshot;
  ageMs: number;
  /** True when the rate is older than 6 h and carries the safety margin. */
  stale: boolean;
}

/** No rate to quote at, and why (for the record and the page). */
export interface RateRefusal {
  refused: Said;
}

export type RateAnswer = QuotedRate | RateRefusal;

export function isRefusal(answer: RateAnswer | undefined): answer is RateRefusal | undefined {
  return answer === undefined || 'refused' in answer;
}

type ManualRate = NonNullable<SettingValue<'manualRate'>>;

/** The user's sources: the setting when it holds any, else the defaults. */
export async function rateSources(db: PayboundDb): Promise<RateSourceSetting[]> {
  const chosen = await getSetting(db, 'rateSources');
  const known = (chosen ?? []).filter((s) => (RATE_SOURCE_KINDS as readonly string[]).includes(s.kind));
  return chosen === null ? [...DEFAULT_RATE_SOURCES] : known;
}

export class RateService {
  private readonly inflight = new Map<string, Promise<Agreement | undefined>>();
  /**
   * The cached rates as this service last read or wrote them, so that a quote need not read them
   * again. Only this service writes the `rate:` rows (`renew`, `forget`), so memory and database agree.
   */
  private readonly known = new Map<string, RateSnapshot>();
  /** When this worker last asked the sources, per currency: a rate is asked for ahead once per AHEAD_MS. */
  private readonly askedAt = new Map<string, number>();

  constructor(
    private readonly db: PayboundDb,
    private readonly now: () => number = Date.now,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
  ) {}

  /** One source, one currency: its quote, or why not. Never throws. */
  private async ask(source: RateSourceSetting, currency: string): Promise<SourceQuote | SourceFailure> {
    const name = rateSourceLabel(source);
    try {
      let res: Response;
      try {
        res = await this.fetchImpl(rateSourceUrl(source, currency), {
          signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
          credentials: 'omit',
          cache: 'no-store',
          headers: { accept: 'application/json' },
        });
      } catch (e) {
        return { source: name, reason: isTimeout(e) ? 'timeout' : 'unreachable' };
      }
      let text: string | undefined;
      try {
        text = await readCapped(res, RATE_BODY_MAX_BYTES);
      } catch (e) {
        // The timeout covers the body too: a source that starts answering and then stalls.
        return { source: name, reason: isTimeout(e) ? 'timeout' : 'answer cut off' };
      }
      if (text === undefined) return { source: name, reason: 'answer too large' };
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return { source: name, reason: res.ok ? 'not JSON' : `HTTP ${res.status}` };
      }
      // Kraken says its errors over 200; the others with a status. A body is read either way,
      // so that a source's own error words are kept.
      if (!res.ok) {
        try {
          readRateBody(source, body, currency, this.now());
        } catch (e) {
          if (e instanceof RateSourceError && e.message.startsWith('error:'))
            return { source: name, reason: `HTTP ${res.status}, ${e.message}` };
        }
        return { source: name, reason: `HTTP ${res.status}` };
      }
      return readRateBody(source, body, currency, this.now());
    } catch (e) {
      return { source: name, reason: e instanceof RateSourceError ? e.message : 'unreadable answer' };
    }
  }

  /** Asks the sources and keeps the rate they agree on (`rate`: undefined when they did not). */
  private async renew(currency: string): Promise<{ agreement: Agreement | undefined; rate?: RateSnapshot }> {
    const agreement = await this.refresh(currency);
    if (!agreement?.ok) return { agreement };
    const rate = {
      currency,
      minorPerBtc: agreement.minorPerBtc,
      source: agreement.used.map((a) => a.source).join(', '),
      asOf: agreement.asOf,
    };
    await setSetting(this.db, `rate:${currency}`, rate);
    this.known.set(currency, rate);
    return { agreement, rate };
  }

  /** Asks every chosen source at once and agrees on one rate; undefined when none is chosen. */
  private refresh(currency: string): Promise<Agreement | undefined> {
    let flow = this.inflight.get(currency);
    if (!flow) {
      this.askedAt.set(currency, this.now());
      flow = this.askAll(currency).finally(() => this.inflight.delete(currency));
      this.inflight.set(currency, flow);
    }
    return flow;
  }

  private async askAll(currency: string): Promise<Agreement | undefined> {
    const sources = await rateSources(this.db);
    if (sources.length === 0) return undefined;
    const results = await Promise.all(sources.map((s) => this.ask(s, currency)));
    const answers = results.filter((r): r is SourceQuote => 'minorPerBtc' in r);
    const failures = results.filter((r): r is SourceFailure => 'reason' in r);
    // One source chosen is the user's own decision; with more, no single one decides.
    const agreement = agreeOnRate(answers, failures, Math.min(2, sources.length));
    const check: RateCheck = {
      at: this.now(),
      currency,
      used: (agreement.ok ? agreement.used : []).map((a) => ({
        source: a.source,
        minorPerBtc: a.minorPerBtc.toString(),
      })),
      dropped: agreement.dropped,
    };
    await setSetting(this.db, 'rateCheck', check);
    if (!agreement.ok) console.warn('paybound: no agreed rate', currency, agreement.why, agreement.dropped);
    return agreement;
  }

  /** The user's own rate (major units per BTC, e.g. "97000.00"), used only while no source answers. */
  async setManual(decimal: string, currency: string, validForMs: number): Promise<void> {
    const manual: ManualRate = {
      currency,
      minorPerBtc: parseDecimalRate(decimal, currency),
      setAt: this.now(),
      expiresAt: this.now() + validForMs,
    };
    await setSetting(this.db, 'manualRate', manual);
  }

  /** Forgets cached rates, so that the next quote asks the sources (after the user changed them). */
  async forget(): Promise<void> {
    this.known.clear();
    await deleteSettingFamily(this.db, 'rate:');
    // A quote read meanwhile may have kept one: forgotten too.
    this.known.clear();
  }

  private async manual(currency: string): Promise<QuotedRate | undefined> {
    const m = await getSetting(this.db, 'manualRate');
    if (!m || m.currency !== currency || m.expiresAt <= this.now()) return undefined;
    return {
      rate: { currency, minorPerBtc: m.minorPerBtc, source: 'manual', asOf: m.setAt },
      ageMs: this.now() - m.setAt,
      stale: false,
    };
  }

  async current(currency: string): Promise<RateAnswer> {
    let rate = this.known.get(currency) ?? (await getSetting(this.db, `rate:${currency}`));
    if (rate) this.known.set(currency, rate);
    let agreement: Agreement | undefined;
    if (!rate || this.now() - rate.asOf > FRESH_MS) {
      const renewed = await this.renew(currency);
      agreement = renewed.agreement;
      // The sources did not agree: the cached rate, if any, as before.
      rate = renewed.rate ?? rate;
    } else if (
      this.now() - rate.asOf > AHEAD_MS &&
      // Sources that state an older time than they are asked at would otherwise be asked at every quote.
      this.now() - (this.askedAt.get(currency) ?? Number.NEGATIVE_INFINITY) > AHEAD_MS
    ) {
      void this.renew(currency).catch(() => {});
    }
    if (!rate) return (await this.manual(currency)) ?? { refused: refusalFor(agreement, currency) };
    const ageMs = this.now() - rate.asOf;
    if (ageMs <= STALE_MS) return { rate, ageMs, stale: false };
    const margined = { ...rate, minorPerBtc: (rate.minorPerBtc * 102n + 99n) / 100n };
    return { rate: margined, ageMs, stale: true };
  }
}

function isTimeout(e: unknown): boolean {
  return e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError');
}

/**
 * The rate source used to be one URL speaking a format of Paybound's own, which no public source
 * speaks: that setting is dropped, and the public sources apply until the user picks others.
 */
export async function migrateRateSettings(db: PayboundDb): Promise<void> {
  if ((await getSetting(db, 'rateSourceUrl')) !== null) await deleteSetting(db, 'rateSourceUrl');
}

function refusalFor(agreement: Agreement | undefined, currency: string): Said {
  if (!agreement || agreement.ok) return said('refusedNoRate');
  if (agreement.why === 'disagree')
    return said('refusedRatesDisagree', answersText(agreement.answers, currency));
  return said('refusedRatesTooFew', failuresText(agreement.dropped) || 'none answered');
}
