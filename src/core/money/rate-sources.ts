/**
 * The public BTC price sources Paybound reads, each from its own documented response shape, and
 * how their answers become one rate: exact integers only, the median of the sources that agree.
 *
 * | kind     | request (path on the base URL)              | field read                         |
 * |----------|---------------------------------------------|------------------------------------|
 * | coinbase | `/v2/exchange-rates?currency=BTC`           | `data.rates[CUR]`, decimal string  |
 * | kraken   | `/0/public/Ticker?pair=XBT<CUR>`            | `result[XXBTZ<CUR> or XBT<CUR>].c[0]`, decimal string (last trade) |
 * | mempool  | `/api/v1/prices`                            | `[CUR]`, JSON integer; `time`, unix s |
 * | alby     | `/api/rates/<cur>.json`                     | `rate_float`, JSON number          |
 * | yadio    | `/exrates/<CUR>`                            | `BTC`, JSON number; `timestamp`, unix ms |
 *
 * Pure: no fetch here. The worker fetches; this module says what a body means.
 */
import { minorDigits, minorToInput, parseDecimalRate } from './rates';

export const RATE_SOURCE_KINDS = ['coinbase', 'kraken', 'mempool', 'alby', 'yadio'] as const;
export type RateSourceKind = (typeof RATE_SOURCE_KINDS)[number];

/** One source the user reads: a known kind, at its public address or at a URL that speaks its shape. */
export interface RateSourceSetting {
  kind: RateSourceKind;
  /** Base URL (scheme, host, optional path prefix) answering the kind's own paths; absent: the public one. */
  url?: string;
}

/** Out of the box: three independent sources, so one that is down or lying is outvoted. */
export const DEFAULT_RATE_SOURCES: readonly RateSourceSetting[] = [
  { kind: 'coinbase' },
  { kind: 'kraken' },
  { kind: 'mempool' },
];

/**
 * How far apart the sources may be: those kept lie within half of this of the median of all the
 * answers, so any two kept are at most this far apart (2 %, in basis points). Public sources
 * differ by a few tenths of a percent; 2 % is far beyond that and far below what a lie would need
 * to matter to a budget.
 */
export const RATE_SPREAD_BPS = 200n;

/** A source answer is read only up to this size: Coinbase's full table for BTC is about 20 KB. */
export const RATE_BODY_MAX_BYTES = 256 * 1024;

/** What mempool.space prices (its `/api/v1/prices` has exactly these). */
export const MEMPOOL_CURRENCIES = ['USD', 'EUR', 'GBP', 'CAD', 'CHF', 'AUD', 'JPY'] as const;

interface Provider {
  label: string;
  /** The public API's base URL. */
  base: string;
  path(currency: string): string;
  /** The body (already JSON-parsed) → the rate as an exact decimal, and when the source stated it. */
  read(body: unknown, currency: string): { decimal: string; asOfMs?: number };
}

/** A source's answer that cannot be used, with the reason (short, for the record and the settings page). */
export class RateSourceError extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A source's own error words, cut short and kept to printable ASCII (they are shown as data). */
function theirWords(v: unknown): string {
  return typeof v === 'string' ? v.replace(/[^\x20-\x7E]/g, '').slice(0, 80) : '';
}

export const RATE_PROVIDERS: Record<RateSourceKind, Provider> = {
  coinbase: {
    label: 'Coinbase',
    base: 'https://api.coinbase.com',
    path: () => '/v2/exchange-rates?currency=BTC',
    read(body, currency) {
      // Errors: {"errors": [{"id": "invalid_request", "message": "Invalid currency (X)"}]}.
      if (isObj(body) && Array.isArray(body.errors)) {
        const first: unknown = body.errors[0];
        throw new RateSourceError(`error: ${theirWords(isObj(first) ? first.message : undefined)}`);
      }
      const data = isObj(body) ? body.data : undefined;
      if (!isObj(data) || data.currency !== 'BTC' || !isObj(data.rates))
        throw new RateSourceError('unknown shape');
      const value = data.rates[currency];
      if (value === undefined) throw new RateSourceError(`no ${currency}`);
      if (typeof value !== 'string') throw new RateSourceError('rate is not a decimal string');
      return { decimal: value };
    },
  },
  kraken: {
    label: 'Kraken',
    base: 'https://api.kraken.com',
    path: (currency) => `/0/public/Ticker?pair=XBT${currency}`,
    read(body, currency) {
      // Kraken answers errors with HTTP 200 and {"error": ["EQuery:Unknown asset pair"]}.
      if (!isObj(body) || !Array.isArray(body.error)) throw new RateSourceError('unknown shape');
      if (body.error.length > 0) throw new RateSourceError(`error: ${theirWords(body.error[0])}`);
      if (!isObj(body.result)) throw new RateSourceError('unknown shape');
      // The older pairs carry Kraken's X/Z asset prefixes (XXBTZUSD, XXBTZEUR, XXBTZGBP, XXBTZCAD,
      // XXBTZJPY); the newer ones do not (XBTCHF, XBTAUD).
      const ticker = body.result[`XXBTZ${currency}`] ?? body.result[`XBT${currency}`];
      if (!isObj(ticker)) throw new RateSourceError(`no ${currency}`);
      const last = Array.isArray(ticker.c) ? ticker.c[0] : undefined;
      if (typeof last !== 'string') throw new RateSourceError('last trade is not a decimal string');
      return { decimal: last };
    },
  },
  mempool: {
    label: 'mempool.space',
    base: 'https://mempool.space',
    path: () => '/api/v1/prices',
    read(body, currency) {
      if (!isObj(body) || typeof body.time !== 'number') throw new RateSourceError('unknown shape');
      const value = body[currency];
      if (value === undefined) throw new RateSourceError(`no ${currency}`);
      return { decimal: jsonNumberToDecimal(value), asOfMs: body.time * 1000 };
    },
  },
  alby: {
    label: 'Alby',
    base: 'https://getalby.com',
    path: (currency) => `/api/rates/${currency.toLowerCase()}.json`,
    read(body, currency) {
      // Errors: HTTP 404 and {"status": 404, "error": "Not Found"} (caught by status first).
      if (!isObj(body)) throw new RateSourceError('unknown shape');
      // The rate is at the top, and again under the currency's code: {code, rate_float, USD: {…}}.
      const nested = body[currency];
      const value = body.rate_float ?? (isObj(nested) ? nested.rate_float : undefined);
      if (value === undefined) throw new RateSourceError(`no ${currency}`);
      if (typeof body.code === 'string' && body.code.toUpperCase() !== currency)
        throw new RateSourceError(`answered for ${theirWords(body.code)}`);
      return { decimal: jsonNumberToDecimal(value) };
    },
  },
  yadio: {
    label: 'yadio',
    base: 'https://api.yadio.io',
    path: (currency) => `/exrates/${currency}`,
    read(body, currency) {
      // {"<CUR>": {…other currencies per 1 <CUR>…}, "base": "<CUR>", "timestamp": <ms>, "BTC": <price>}
      if (!isObj(body)) throw new RateSourceError('unknown shape');
      if (typeof body.error === 'string') throw new RateSourceError(`error: ${theirWords(body.error)}`);
      if (body.base !== currency) throw new RateSourceError(`answered for ${theirWords(body.base)}`);
      if (body.BTC === undefined) throw new RateSourceError(`no ${currency}`);
      const ts = body.timestamp;
      return {
        decimal: jsonNumberToDecimal(body.BTC),
        ...(typeof ts === 'number' && Number.isFinite(ts) ? { asOfMs: ts } : {}),
      };
    },
  },
};

/**
 * A JSON number → the decimal it was written as. JSON numbers arrive as doubles; the shortest
 * decimal that reads back as the same double (what `Number#toString` gives) is exactly the text
 * the source sent whenever that text had at most 15 significant digits, which covers every BTC
 * price (e.g. 97123.45, 6236820). Longer texts are rounded to 17 significant digits by the double,
 * an error below 10⁻¹⁵ of the rate; the decimal is then rounded *up* to the currency's minor unit
 * like any decimal string. Exponent forms (below 10⁻⁶ or from 10²¹) are no BTC price and refused.
 */
export function jsonNumberToDecimal(value: unknown): string {
  if (typeof value !== 'number') throw new RateSourceError('rate is not a number');
  if (!Number.isFinite(value) || value <= 0) throw new RateSourceError('rate is not positive');
  const text = value.toString();
  if (!/^\d+(\.\d+)?$/.test(text)) throw new RateSourceError('rate is out of range');
  return text;
}

/** The URL one source is asked for one currency's rate. */
export function rateSourceUrl(source: RateSourceSetting, currency: string): string {
  const base = (source.url ?? RATE_PROVIDERS[source.kind].base).replace(/\/+$/, '');
  return `${base}${RATE_PROVIDERS[source.kind].path(currency)}`;
}

/** How a source is named in a quote: the provider, and the host when it is not the public one. */
export function rateSourceLabel(source: RateSourceSetting): string {
  const { label } = RATE_PROVIDERS[source.kind];
  if (!source.url) return label;
  let host = source.url;
  try {
    host = new URL(source.url).host;
  } catch {}
  return `${label} (${host})`;
}

export interface SourceQuote {
  source: string;
  minorPerBtc: bigint;
  /** When the source stated it (unix ms), or when it was fetched when the source does not say. */
  asOf: number;
}

/** One source's parsed body → its quote, or a RateSourceError saying why not. */
export function readRateBody(
  source: RateSourceSetting,
  body: unknown,
  currency: string,
  fetchedAt: number,
): SourceQuote {
  const { decimal, asOfMs } = RATE_PROVIDERS[source.kind].read(body, currency);
  let minorPerBtc: bigint;
  try {
    minorPerBtc = parseDecimalRate(decimal, currency);
  } catch {
    throw new RateSourceError(`not a usable rate: ${theirWords(decimal).slice(0, 24)}`);
  }
  return {
    source: rateSourceLabel(source),
    minorPerBtc,
    // A source's clock ahead of ours would make its rate look fresher than it is.
    asOf: asOfMs !== undefined && Number.isFinite(asOfMs) ? Math.min(asOfMs, fetchedAt) : fetchedAt,
  };
}

export interface SourceFailure {
  source: string;
  reason: string;
}

/** The last time the sources were asked: what each said (kept for the settings page). */
export interface RateCheck {
  at: number;
  currency: string;
  used: { source: string; minorPerBtc: string }[];
  dropped: SourceFailure[];
}

export type Agreement =
  | { ok: true; minorPerBtc: bigint; asOf: number; used: SourceQuote[]; dropped: SourceFailure[] }
  | { ok: false; why: 'disagree' | 'too-few'; answers: SourceQuote[]; dropped: SourceFailure[] };

/**
 * The sources' answers → one rate. The median of all answers is the reference (a minority of
 * liars cannot move it far); an answer further than half the spread from it is dropped as "far
 * from the others". What is kept must be a strict majority of the answers and at least `need`
 * sources; its median (for an even count the mean of the middle two, rounded up) is the rate,
 * stated as of the oldest answer kept.
 */
export function agreeOnRate(
  answers: SourceQuote[],
  failures: SourceFailure[],
  need: number,
  spreadBps: bigint = RATE_SPREAD_BPS,
): Agreement {
  const dropped = [...failures];
  if (answers.length === 0 || answers.length < need) return { ok: false, why: 'too-few', answers, dropped };
  const reference = median(answers.map((a) => a.minorPerBtc));
  const used: SourceQuote[] = [];
  for (const a of answers) {
    const off = a.minorPerBtc > reference ? a.minorPerBtc - reference : reference - a.minorPerBtc;
    // off / reference > spread / 2, in integers.
    if (off * 20_000n > reference * spreadBps) {
      dropped.push({ source: a.source, reason: `${bpsText((off * 10_000n) / reference)} from the median` });
    } else used.push(a);
  }
  if (used.length < need || used.length * 2 <= answers.length)
    return { ok: false, why: used.length < answers.length ? 'disagree' : 'too-few', answers, dropped };
  return {
    ok: true,
    minorPerBtc: median(used.map((a) => a.minorPerBtc)),
    asOf: Math.min(...used.map((a) => a.asOf)),
    used,
    dropped,
  };
}

/** The median of integers; for an even count the mean of the middle two, rounded up. */
export function median(values: bigint[]): bigint {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] as bigint;
  if (sorted.length % 2 === 1) return hi;
  const lo = sorted[mid - 1] as bigint;
  return (lo + hi + 1n) / 2n;
}

function bpsText(bps: bigint): string {
  return `${bps / 100n}.${(bps % 100n).toString().padStart(2, '0')} %`;
}

/** The answers as data for a refusal: "Coinbase 100000.00, Kraken 110000.00 USD". */
export function answersText(answers: SourceQuote[], currency: string): string {
  minorDigits(currency); // throws for a code Intl does not know, before any text is made
  const list = answers.map((a) => `${a.source} ${minorToInput(a.minorPerBtc, currency)}`).join(', ');
  return `${list} ${currency}`;
}

/** The failures as data for a refusal: "Kraken: timeout; mempool.space: no BRL". */
export function failuresText(dropped: SourceFailure[]): string {
  return dropped.map((d) => `${d.source}: ${d.reason}`).join('; ');
}
