/**
 * A rate-source stand-in. Prices are decimal strings (units of the currency per 1 BTC), never
 * floats, so a client can convert them exactly.
 *
 *   GET  /v1/rates?base=BTC   → {base: 'BTC', rates: {USD: '100000.00', ...}, source, asOf}
 *   POST /_standin/rates      {rates?: {USD: '…'}, asOf?: ISO string | null}
 *        replaces the given rates; `asOf` pins the quote time (null: the current time again),
 *        which lets tests present a stale rate.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closer, listen } from '../lib/listen';

export const DEFAULT_RATES: Readonly<Record<string, string>> = {
  USD: '100000.00',
  EUR: '92000.00',
  GBP: '79000.00',
};
const SOURCE = 'paybound-standin';
const DECIMAL = /^\d{1,15}(\.\d{1,8})?$/;
const CURRENCY = /^[A-Z]{3}$/;

export interface RateStandinOptions {
  port?: number;
  host?: string;
  rates?: Record<string, string>;
  now?: () => number;
}

export interface RateStandin {
  url: string;
  rates(): Record<string, string>;
  /** Replaces the given currencies' rates (validated like the HTTP endpoint). */
  setRates(rates: Record<string, string>, asOf?: string | null): void;
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

export async function startRateStandin(opts: RateStandinOptions = {}): Promise<RateStandin> {
  let rates = checkRates(opts.rates ?? DEFAULT_RATES);
  let pinnedAsOf: string | null = null;
  const now = opts.now ?? Date.now;

  const setRates = (next: Record<string, string>, asOf?: string | null) => {
    const checked = checkRates(next);
    const pinned = asOf === undefined ? pinnedAsOf : checkAsOf(asOf);
    rates = { ...rates, ...checked };
    pinnedAsOf = pinned;
  };

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Access-Control-Allow-Origin': '*',
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const quote = () => ({
    base: 'BTC',
    rates: { ...rates },
    source: SOURCE,
    asOf: pinnedAsOf ?? new Date(now()).toISOString(),
  });

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
    if (url.pathname === '/v1/rates') {
      if (req.method !== 'GET') return answer(res, 405, { error: 'method not allowed' });
      const base = (url.searchParams.get('base') ?? 'BTC').toUpperCase();
      if (base !== 'BTC') return answer(res, 400, { error: `unsupported base "${base}"; only BTC` });
      return answer(res, 200, quote());
    }
    if (url.pathname === '/_standin/rates') {
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
      const { rates: next, asOf } = body as { rates?: unknown; asOf?: unknown };
      try {
        setRates(checkRates(next ?? {}), asOf === undefined ? undefined : checkAsOf(asOf));
      } catch (err) {
        return answer(res, 400, { error: err instanceof Error ? err.message : 'invalid rates' });
      }
      return answer(res, 200, quote());
    }
    return answer(res, 404, { error: 'not found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) answer(res, 500, { error: 'internal error' });
    });
  });
  return {
    url: await listen(server, opts.port, opts.host),
    rates: () => ({ ...rates }),
    setRates,
    close: closer(server),
  };
}
