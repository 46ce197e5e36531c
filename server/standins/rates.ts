/**
 * A stand-in for the public BTC price sources, on one port: each under the same path, with the
 * same JSON shape and the same error shape and status as the real API, so that the extension's
 * own parsers are what the demo and the tests exercise. All five quote one table of rates (decimal
 * strings, units of the currency per 1 BTC), which tests change, and any one of them can be made
 * to fail or to lie.
 *
 * Coinbase   GET /v2/exchange-rates?currency=BTC
 *              200 {"data": {"currency": "BTC", "rates": {"USD": "100000.00", …}}}   (decimal strings)
 *              400 {"errors": [{"id": "invalid_request", "message": "Invalid currency (X)"}]}
 *              (only the BTC base is served; Coinbase itself serves any base, USD by default)
 * Kraken     GET /0/public/Ticker?pair=XBTUSD   (or XXBTZUSD)
 *              200 {"error": [], "result": {"XXBTZUSD": {"a": […], "b": […], "c": ["100000.00000", "0.00100000"], …}}}
 *              USD EUR GBP CAD JPY are keyed XXBTZ<CUR>, CHF and AUD XBT<CUR>, as Kraken keys them
 *              200 {"error": ["EQuery:Unknown asset pair"]}   (Kraken says errors over 200)
 * mempool    GET /api/v1/prices
 *              200 {"time": <unix s>, "USD": 100000, "EUR": 92000, "GBP": …, "CAD", "CHF", "AUD", "JPY"}
 *              (JSON integers, whole units, rounded half up)
 * Alby       GET /api/rates/<cur>.json   (lower-case code)
 *              200 {"code": "USD", "symbol": "$", "rate": "100,000.00", "rate_float": 100000,
 *                   "rate_cents": 10000000, "USD": {…the same…}}
 *              404 {"status": 404, "error": "Not Found"}
 * yadio      GET /exrates/<CUR>
 *              200 {"<CUR>": {"EUR": 0.92, …per 1 <CUR>}, "base": "<CUR>", "timestamp": <unix ms>, "BTC": 100000}
 *              404 {"error": "currency not found"}   (yadio does not document its error; this is a guess)
 *
 * POST /_standin/rates  {rates?: {USD: '…'}, asOf?: ISO string | null, faults?: {<provider>: fault | null}}
 *   replaces the given rates; `asOf` pins the time the sources that state one (mempool's `time`,
 *   yadio's `timestamp`) state (null: the current time again); a fault makes one provider
 *   `down` (503 with its error shape), answer `html` (a 200 page), `garbage` (200 JSON of another
 *   shape), `hang` (hold the connection; clearing the fault cuts it), or lie by `{offsetBps}` (its rates
 *   that much off). Unknown paths: 404.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { closer, listen } from '../lib/listen';

export const DEFAULT_RATES: Readonly<Record<string, string>> = {
  USD: '100000.00',
  EUR: '92000.00',
  GBP: '79000.00',
  CAD: '138000.00',
  CHF: '88000.00',
  AUD: '152000.00',
  JPY: '15000000',
};
export const RATE_PROVIDERS = ['coinbase', 'kraken', 'mempool', 'alby', 'yadio'] as const;
export type RateProvider = (typeof RATE_PROVIDERS)[number];
export type RateFault = 'down' | 'html' | 'garbage' | 'hang' | { offsetBps: number };

const DECIMAL = /^\d{1,15}(\.\d{1,8})?$/;
const CURRENCY = /^[A-Z]{3}$/;
const MEMPOOL = ['USD', 'EUR', 'GBP', 'CAD', 'CHF', 'AUD', 'JPY'];
/** Kraken's older pairs carry its X/Z asset prefixes; CHF and AUD came later without them. */
const KRAKEN_PREFIXED = ['USD', 'EUR', 'GBP', 'CAD', 'JPY'];
const SCALE = 100_000_000n;

export interface RateStandinOptions {
  port?: number;
  host?: string;
  rates?: Record<string, string>;
  now?: () => number;
  /** Serve over TLS with this key and certificate (PEM), as the real hosts do. */
  tls?: { key: string; cert: string };
}

export interface RateStandin {
  url: string;
  rates(): Record<string, string>;
  /** Replaces the given currencies' rates (validated like the HTTP endpoint). */
  setRates(rates: Record<string, string>, asOf?: string | null): void;
  /** Makes one provider fail or lie (null: answer normally again). */
  setFault(provider: RateProvider, fault: RateFault | null): void;
  close(): Promise<void>;
}

function checkRates(rates: unknown): Record<string, string> {
  if (typeof rates !== 'object' || rates === null || Array.isArray(rates))
    throw new Error('rates must be an object');
  const out: Record<string, string> = {};
  for (const [code, value] of Object.entries(rates)) {
    if (!CURRENCY.test(code)) throw new Error(`"${code}" is not a currency code`);
    if (typeof value !== 'string' || !DECIMAL.test(value) || !/[1-9]/.test(value)) {
      throw new Error(`rate for ${code} must be a positive decimal string`);
    }
    out[code] = value;
  }
  return out;
}

function checkAsOf(asOf: unknown): string | null {
  if (asOf === null) return null;
  if (typeof asOf !== 'string' || Number.isNaN(Date.parse(asOf)))
    throw new Error('asOf must be an ISO date string or null');
  return new Date(asOf).toISOString();
}

function checkFault(fault: unknown): RateFault | null {
  if (fault === null) return null;
  if (fault === 'down' || fault === 'html' || fault === 'garbage' || fault === 'hang') return fault;
  if (typeof fault === 'object' && fault !== null && !Array.isArray(fault)) {
    const { offsetBps } = fault as { offsetBps?: unknown };
    if (Number.isInteger(offsetBps) && Math.abs(offsetBps as number) < 10_000_000)
      return { offsetBps: offsetBps as number };
  }
  throw new Error('a fault is down, html, garbage, hang, {offsetBps: integer} or null');
}

/** "97123.45" → units of 10⁻⁸, exactly. */
function scaled(decimal: string): bigint {
  const [whole = '0', frac = ''] = decimal.split('.');
  return BigInt(whole) * SCALE + BigInt(frac.padEnd(8, '0'));
}

/** Units of 10⁻⁸ → a decimal with `places` decimals, rounded half up. */
function decimalOf(value: bigint, places: number): string {
  const unit = 10n ** BigInt(8 - places);
  const rounded = (value + unit / 2n) / unit;
  if (places === 0) return rounded.toString();
  const p = 10n ** BigInt(places);
  return `${rounded / p}.${(rounded % p).toString().padStart(places, '0')}`;
}

function minorDigits(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}

export async function startRateStandin(opts: RateStandinOptions = {}): Promise<RateStandin> {
  let rates = checkRates(opts.rates ?? DEFAULT_RATES);
  let pinnedAsOf: string | null = null;
  const faults = new Map<RateProvider, RateFault>();
  /** Answers held by a `hang` fault, let go when it is cleared. */
  const held = new Map<ServerResponse, RateProvider>();
  const now = opts.now ?? Date.now;

  const setRates = (next: Record<string, string>, asOf?: string | null) => {
    const checked = checkRates(next);
    const pinned = asOf === undefined ? pinnedAsOf : checkAsOf(asOf);
    rates = { ...rates, ...checked };
    pinnedAsOf = pinned;
  };
  const setFault = (provider: RateProvider, fault: RateFault | null) => {
    if (fault === null) faults.delete(provider);
    else faults.set(provider, fault);
    if (fault === 'hang') return;
    for (const [res, of] of held) {
      if (of !== provider) continue;
      res.destroy();
      held.delete(res);
    }
  };

  const send = (res: ServerResponse, status: number, text: string, type: string) => {
    res.writeHead(status, {
      'Access-Control-Allow-Origin': '*',
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  };
  const answer = (res: ServerResponse, status: number, body: unknown) =>
    send(res, status, JSON.stringify(body), 'application/json; charset=utf-8');

  /** A provider's rate for a currency in units of 10⁻⁸, with its lie applied. */
  const rateOf = (provider: RateProvider, currency: string): bigint | undefined => {
    const decimal = rates[currency];
    if (decimal === undefined) return undefined;
    const fault = faults.get(provider);
    const bps = typeof fault === 'object' ? BigInt(fault.offsetBps) : 0n;
    return (scaled(decimal) * (10_000n + bps)) / 10_000n;
  };
  const asOfMs = () => (pinnedAsOf ? Date.parse(pinnedAsOf) : now());

  const coinbase = (url: URL, res: ServerResponse) => {
    const base = url.searchParams.get('currency') ?? 'USD';
    if (base.toUpperCase() !== 'BTC')
      return answer(res, 400, { errors: [{ id: 'invalid_request', message: `Invalid currency (${base})` }] });
    const table: Record<string, string> = { BTC: '1' };
    for (const code of Object.keys(rates)) {
      const r = rateOf('coinbase', code);
      if (r !== undefined) table[code] = decimalOf(r, Math.max(2, minorDigits(code)));
    }
    return answer(res, 200, { data: { currency: 'BTC', rates: table } });
  };

  const kraken = (url: URL, res: ServerResponse) => {
    const pair = (url.searchParams.get('pair') ?? '').toUpperCase();
    const m = /^(?:XBT|XXBTZ)([A-Z]{3})$/.exec(pair);
    const code = m?.[1];
    const r = code ? rateOf('kraken', code) : undefined;
    if (!code || r === undefined) return answer(res, 200, { error: ['EQuery:Unknown asset pair'] });
    const key = KRAKEN_PREFIXED.includes(code) ? `XXBTZ${code}` : `XBT${code}`;
    const price = (v: bigint) => decimalOf(v, 5);
    const spread = r / 10_000n;
    return answer(res, 200, {
      error: [],
      result: {
        [key]: {
          a: [price(r + spread), '1', '1.000'],
          b: [price(r - spread), '2', '2.000'],
          c: [price(r), '0.00100000'],
          v: ['1000.00000000', '2000.00000000'],
          p: [price(r), price(r)],
          t: [10000, 20000],
          l: [price(r - 100n * spread), price(r - 100n * spread)],
          h: [price(r + 100n * spread), price(r + 100n * spread)],
          o: price(r),
        },
      },
    });
  };

  const mempool = (res: ServerResponse) => {
    const body: Record<string, number> = { time: Math.floor(asOfMs() / 1000) };
    for (const code of MEMPOOL) {
      const r = rateOf('mempool', code);
      if (r !== undefined) body[code] = Number(decimalOf(r, 0));
    }
    return answer(res, 200, body);
  };

  const alby = (cur: string, res: ServerResponse) => {
    const code = cur.toUpperCase();
    const r = rateOf('alby', code);
    if (cur !== cur.toLowerCase() || r === undefined)
      return answer(res, 404, { status: 404, error: 'Not Found' });
    const digits = minorDigits(code);
    const symbol =
      new Intl.NumberFormat('en', { style: 'currency', currency: code, currencyDisplay: 'narrowSymbol' })
        .formatToParts(0)
        .find((p) => p.type === 'currency')?.value ?? code;
    const entry = {
      code,
      symbol,
      rate: new Intl.NumberFormat('en', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      }).format(Number(decimalOf(r, digits))),
      rate_float: Number(decimalOf(r, 8)),
      rate_cents: Number(decimalOf(r * 100n, 0)),
    };
    return answer(res, 200, { ...entry, [code]: entry });
  };

  const yadio = (cur: string, res: ServerResponse) => {
    const code = cur.toUpperCase();
    const r = rateOf('yadio', code);
    if (r === undefined) return answer(res, 404, { error: 'currency not found' });
    const others: Record<string, number> = {};
    for (const other of Object.keys(rates)) {
      const o = rateOf('yadio', other);
      if (o !== undefined && other !== code) others[other] = Number(o) / Number(r);
    }
    return answer(res, 200, {
      [code]: others,
      base: code,
      timestamp: asOfMs(),
      BTC: Number(decimalOf(r, 2)),
    });
  };

  /** The provider a path belongs to, and its handler. */
  const route = (url: URL): [RateProvider, (res: ServerResponse) => void] | undefined => {
    if (url.pathname === '/v2/exchange-rates') return ['coinbase', (res) => coinbase(url, res)];
    if (url.pathname === '/0/public/Ticker') return ['kraken', (res) => kraken(url, res)];
    if (url.pathname === '/api/v1/prices') return ['mempool', (res) => mempool(res)];
    const a = /^\/api\/rates\/([A-Za-z]{3})\.json$/.exec(url.pathname);
    if (a?.[1]) {
      const cur = a[1];
      return ['alby', (res) => alby(cur, res)];
    }
    const y = /^\/exrates\/([A-Za-z]{3})$/.exec(url.pathname);
    if (y?.[1]) {
      const cur = y[1];
      return ['yadio', (res) => yadio(cur, res)];
    }
    return undefined;
  };

  /** A provider that is down answers 503 in its own error shape. */
  const down = (provider: RateProvider, res: ServerResponse) => {
    const bodies: Record<RateProvider, unknown> = {
      coinbase: { errors: [{ id: 'internal_server_error', message: 'Service unavailable' }] },
      kraken: { error: ['EService:Unavailable'] },
      mempool: { error: 'Service Unavailable' },
      alby: { status: 503, error: 'Service Unavailable' },
      yadio: { error: 'Service Unavailable' },
    };
    return answer(res, 503, bodies[provider]);
  };

  const control = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST') return answer(res, 405, { error: 'method not allowed' });
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 64 * 1024) return answer(res, 413, { error: 'body too large' });
      chunks.push(chunk as Buffer);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return answer(res, 400, { error: 'body is not JSON' });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return answer(res, 400, { error: 'body must be an object' });
    }
    const {
      rates: next,
      asOf,
      faults: nextFaults,
    } = body as { rates?: unknown; asOf?: unknown; faults?: unknown };
    try {
      const checkedFaults: [RateProvider, RateFault | null][] = [];
      if (nextFaults !== undefined) {
        if (typeof nextFaults !== 'object' || nextFaults === null || Array.isArray(nextFaults))
          throw new Error('faults must be an object');
        for (const [name, fault] of Object.entries(nextFaults)) {
          if (!(RATE_PROVIDERS as readonly string[]).includes(name)) throw new Error(`no provider "${name}"`);
          checkedFaults.push([name as RateProvider, checkFault(fault)]);
        }
      }
      setRates(checkRates(next ?? {}), asOf === undefined ? undefined : checkAsOf(asOf));
      for (const [name, fault] of checkedFaults) setFault(name, fault);
    } catch (err) {
      return answer(res, 400, { error: err instanceof Error ? err.message : 'invalid rates' });
    }
    return answer(res, 200, { rates: { ...rates }, asOf: pinnedAsOf, faults: Object.fromEntries(faults) });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://standin.invalid');
    if (url.pathname === '/_standin/rates') return control(req, res);
    const found = route(url);
    if (!found) return answer(res, 404, { error: 'not found' });
    if (req.method !== 'GET') return answer(res, 405, { error: 'method not allowed' });
    const [provider, serve] = found;
    const fault = faults.get(provider);
    if (fault === 'down') return down(provider, res);
    if (fault === 'html')
      return send(
        res,
        200,
        '<!doctype html><title>Just a moment…</title><p>Checking your browser</p>',
        'text/html',
      );
    if (fault === 'garbage') return answer(res, 200, { price: 'high', rates: [1, 2, 3] });
    if (fault === 'hang') {
      held.set(res, provider);
      res.on('close', () => held.delete(res));
      return;
    }
    return serve(res);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) answer(res, 500, { error: 'internal error' });
    });
  };
  const server = opts.tls ? createTlsServer(opts.tls, onRequest) : createServer(onRequest);
  const close = closer(server);
  const url = await listen(server, opts.port, opts.host);
  return {
    url: opts.tls ? url.replace(/^http:/, 'https:') : url,
    rates: () => ({ ...rates }),
    setRates,
    setFault,
    close: async () => {
      for (const res of held.keys()) res.destroy();
      held.clear();
      await close();
    },
  };
}
