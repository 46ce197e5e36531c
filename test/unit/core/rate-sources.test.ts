import { describe, expect, it } from 'vitest';
import {
  agreeOnRate,
  jsonNumberToDecimal,
  median,
  RateSourceError,
  type RateSourceSetting,
  rateSourceLabel,
  rateSourceUrl,
  readRateBody,
  type SourceQuote,
} from '../../../src/core/money/rate-sources';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const read = (kind: RateSourceSetting['kind'], body: unknown, currency = 'USD') =>
  readRateBody({ kind }, body, currency, NOW);
/** The reason a body is refused with. */
const refusal = (kind: RateSourceSetting['kind'], body: unknown, currency = 'USD') => {
  try {
    read(kind, body, currency);
  } catch (e) {
    expect(e).toBeInstanceOf(RateSourceError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

// Shaped as each API answers (field names, strings vs numbers, nesting), values made up.
const COINBASE = {
  data: {
    currency: 'BTC',
    rates: { AED: '357077.685', EUR: '83842.365', JPY: '15170325', USD: '97216.505' },
  },
};
const KRAKEN_USD = {
  error: [],
  result: {
    XXBTZUSD: {
      a: ['97216.60000', '1', '1.000'],
      b: ['97216.50000', '3', '3.000'],
      c: ['97216.50000', '0.00029000'],
      v: ['1273.71826335', '2531.92374912'],
      p: ['96989.04183', '97060.52613'],
      t: [35171, 70412],
      l: ['96100.00000', '96100.00000'],
      h: ['97700.00000', '97800.00000'],
      o: '96800.10000',
    },
  },
};
const MEMPOOL = {
  time: 1_764_072_000,
  USD: 97217,
  EUR: 83842,
  GBP: 73320,
  CAD: 136012,
  CHF: 78310,
  AUD: 149120,
  JPY: 15170325,
};
const ALBY = {
  code: 'USD',
  symbol: '$',
  rate: '97,216.51',
  rate_float: 97216.5061,
  rate_cents: 9721651,
  USD: { code: 'USD', symbol: '$', rate: '97,216.51', rate_float: 97216.5061, rate_cents: 9721651 },
};
const YADIO = { USD: { EUR: 0.8625, GBP: 0.7541 }, base: 'USD', timestamp: 1_764_071_940_000, BTC: 97216.51 };

describe('each source read from its own shape, exactly', () => {
  it('Coinbase: data.rates[CUR], a decimal string, extra decimals rounded up', () => {
    expect(read('coinbase', COINBASE)).toEqual({ source: 'Coinbase', minorPerBtc: 9_721_651n, asOf: NOW });
    expect(read('coinbase', COINBASE, 'JPY').minorPerBtc).toBe(15_170_325n);
    expect(refusal('coinbase', COINBASE, 'GBP')).toBe('no GBP');
    expect(
      refusal('coinbase', { errors: [{ id: 'invalid_request', message: 'Invalid currency (BTC)' }] }),
    ).toBe('error: Invalid currency (BTC)');
    // Coinbase quotes decimal strings; a number there is not its shape.
    expect(refusal('coinbase', { data: { currency: 'BTC', rates: { USD: 97216.5 } } })).toBe(
      'rate is not a decimal string',
    );
    // A table for another base is no BTC price.
    expect(refusal('coinbase', { data: { currency: 'USD', rates: { USD: '1' } } })).toBe('unknown shape');
  });

  it('Kraken: result[XXBTZ<CUR> | XBT<CUR>].c[0], the last trade, a decimal string', () => {
    expect(read('kraken', KRAKEN_USD).minorPerBtc).toBe(9_721_650n);
    const chf = {
      error: [],
      result: { XBTCHF: { ...KRAKEN_USD.result.XXBTZUSD, c: ['78310.10000', '0.1'] } },
    };
    expect(read('kraken', chf, 'CHF').minorPerBtc).toBe(7_831_010n);
    expect(refusal('kraken', { error: ['EQuery:Unknown asset pair'] }, 'BRL')).toBe(
      'error: EQuery:Unknown asset pair',
    );
    // An answer for another pair than asked is not this currency's rate.
    expect(refusal('kraken', KRAKEN_USD, 'EUR')).toBe('no EUR');
    expect(refusal('kraken', { result: KRAKEN_USD.result })).toBe('unknown shape');
  });

  it('mempool.space: [CUR], a JSON integer, stated at `time` (unix seconds)', () => {
    expect(read('mempool', MEMPOOL)).toEqual({
      source: 'mempool.space',
      minorPerBtc: 9_721_700n,
      asOf: 1_764_072_000_000,
    });
    expect(read('mempool', MEMPOOL, 'JPY').minorPerBtc).toBe(15_170_325n);
    expect(refusal('mempool', MEMPOOL, 'BRL')).toBe('no BRL');
    expect(refusal('mempool', { USD: 97217 })).toBe('unknown shape');
    expect(refusal('mempool', { ...MEMPOOL, USD: '97217' })).toBe('rate is not a number');
  });

  it('Alby: rate_float, a JSON number (or under the code), checked to be for the currency asked', () => {
    expect(read('alby', ALBY).minorPerBtc).toBe(9_721_651n);
    expect(read('alby', { USD: ALBY.USD }).minorPerBtc).toBe(9_721_651n);
    expect(refusal('alby', { ...ALBY, code: 'EUR' })).toBe('answered for EUR');
    expect(refusal('alby', { status: 404, error: 'Not Found' })).toBe('no USD');
  });

  it('yadio: BTC, a JSON number, for `base`, stated at `timestamp` (unix ms)', () => {
    expect(read('yadio', YADIO)).toEqual({
      source: 'yadio',
      minorPerBtc: 9_721_651n,
      asOf: 1_764_071_940_000,
    });
    expect(refusal('yadio', { ...YADIO, base: 'EUR' })).toBe('answered for EUR');
    expect(refusal('yadio', { error: 'currency not found' })).toBe('error: currency not found');
  });

  it('a source clock ahead of ours does not make a rate look fresher', () => {
    expect(read('mempool', { ...MEMPOOL, time: NOW / 1000 + 3600 }).asOf).toBe(NOW);
  });

  it.each([
    ['zero', { ...MEMPOOL, USD: 0 }, 'rate is not positive'],
    ['negative', { ...MEMPOOL, USD: -97217 }, 'rate is not positive'],
    ['huge (exponent form)', { ...MEMPOOL, USD: 1e22 }, 'rate is out of range'],
    ['tiny (exponent form)', { ...MEMPOOL, USD: 1e-9 }, 'rate is out of range'],
    ['more digits than any price', { ...MEMPOOL, USD: 1e16 }, 'not a usable rate: 10000000000000000'],
    ['null', { ...MEMPOOL, USD: null }, 'rate is not a number'],
  ])('refuses a %s number', (_name, body, reason) => {
    expect(refusal('mempool', body)).toBe(reason);
  });

  it.each([
    ['negative', '-97216.50'],
    ['zero', '0.00'],
    ['exponent', '9.7e4'],
    ['grouped', '97,216.50'],
    ['empty', ''],
    ['word', 'high'],
  ])('refuses a %s decimal string', (_name, value) => {
    const reason = refusal('coinbase', { data: { currency: 'BTC', rates: { USD: value } } });
    expect(reason).toMatch(/^not a usable rate/);
  });

  it('refuses what is not an object of the shape', () => {
    for (const kind of ['coinbase', 'kraken', 'mempool', 'alby', 'yadio'] as const) {
      expect(() => read(kind, 'just text')).toThrow(RateSourceError);
      expect(() => read(kind, [1, 2, 3])).toThrow(RateSourceError);
      expect(() => read(kind, null)).toThrow(RateSourceError);
    }
  });

  it("keeps a source's own error words short and printable", () => {
    const reason = refusal('kraken', { error: [`EGeneral:\u202Eevil\u0007${'x'.repeat(200)}`] });
    expect(reason).toMatch(/^error: EGeneral:evilx+$/);
    expect(reason.length).toBeLessThanOrEqual(7 + 80);
  });
});

describe('JSON numbers to decimals', () => {
  it('gives the text a source wrote when it had at most 15 significant digits', () => {
    expect(jsonNumberToDecimal(97216.5061)).toBe('97216.5061');
    expect(jsonNumberToDecimal(JSON.parse('97216.51'))).toBe('97216.51');
    expect(jsonNumberToDecimal(JSON.parse('123456789012.345'))).toBe('123456789012.345');
    expect(jsonNumberToDecimal(15170325)).toBe('15170325');
  });
  it('a longer text arrives as its double, which is then rounded up to the minor unit', () => {
    // 97216.124 computed in doubles is 97216.12400000001: a cent more, never less.
    const computed = 97216.123 + 0.001;
    expect(jsonNumberToDecimal(computed)).toBe('97216.12400000001');
    expect(read('alby', { ...ALBY, rate_float: computed }).minorPerBtc).toBe(9_721_613n);
  });
});

describe('addresses and names', () => {
  it('asks the public API, or the URL given, on the kind’s own path', () => {
    expect(rateSourceUrl({ kind: 'coinbase' }, 'USD')).toBe(
      'https://api.coinbase.com/v2/exchange-rates?currency=BTC',
    );
    expect(rateSourceUrl({ kind: 'kraken' }, 'EUR')).toBe(
      'https://api.kraken.com/0/public/Ticker?pair=XBTEUR',
    );
    expect(rateSourceUrl({ kind: 'mempool' }, 'USD')).toBe('https://mempool.space/api/v1/prices');
    expect(rateSourceUrl({ kind: 'alby' }, 'EUR')).toBe('https://getalby.com/api/rates/eur.json');
    expect(rateSourceUrl({ kind: 'yadio' }, 'ARS')).toBe('https://api.yadio.io/exrates/ARS');
    expect(rateSourceUrl({ kind: 'mempool', url: 'https://mempool.example/' }, 'USD')).toBe(
      'https://mempool.example/api/v1/prices',
    );
    expect(rateSourceLabel({ kind: 'mempool', url: 'https://mempool.example:8999' })).toBe(
      'mempool.space (mempool.example:8999)',
    );
  });
});

const q = (source: string, minorPerBtc: bigint, asOf = NOW): SourceQuote => ({ source, minorPerBtc, asOf });

describe('agreeing on one rate', () => {
  it('takes the median; an even count gives the mean of the middle two, rounded up', () => {
    expect(median([3n, 1n, 2n])).toBe(2n);
    expect(median([10n, 13n])).toBe(12n);
    expect(median([10n, 12n])).toBe(11n);
  });

  it('uses the median of three that agree, stated as of the oldest', () => {
    const r = agreeOnRate(
      [q('A', 10_000_000n, NOW - 60_000), q('B', 10_050_000n), q('C', 9_990_000n)],
      [],
      2,
    );
    expect(r).toMatchObject({ ok: true, minorPerBtc: 10_000_000n, asOf: NOW - 60_000, dropped: [] });
  });

  it('drops a liar 10 % off and uses the two that agree', () => {
    const r = agreeOnRate([q('A', 10_000_000n), q('Liar', 11_000_000n), q('C', 10_010_000n)], [], 2);
    expect(r).toMatchObject({ ok: true, minorPerBtc: 10_005_000n });
    expect(r.dropped).toEqual([{ source: 'Liar', reason: '9.89 % from the median' }]);
  });

  it('drops an absurd answer (more than 10× the others)', () => {
    const r = agreeOnRate([q('A', 10_000_000n), q('B', 10_000_100n), q('Absurd', 1_000_000_000n)], [], 2);
    expect(r).toMatchObject({ ok: true, minorPerBtc: 10_000_050n });
    expect(r.dropped.map((d) => d.source)).toEqual(['Absurd']);
  });

  it('keeps answers within 1 % of the median (so within 2 % of each other), no further', () => {
    expect(agreeOnRate([q('A', 10_000_000n), q('B', 10_200_000n)], [], 2)).toMatchObject({
      ok: true,
      minorPerBtc: 10_100_000n,
    });
    expect(agreeOnRate([q('A', 10_000_000n), q('B', 10_203_000n)], [], 2)).toMatchObject({
      ok: false,
      why: 'disagree',
    });
  });

  it('refuses when two disagree, or when no majority of the answers agrees', () => {
    expect(agreeOnRate([q('A', 10_000_000n), q('B', 11_000_000n)], [], 2)).toMatchObject({
      ok: false,
      why: 'disagree',
    });
    const scattered = [q('A', 9_000_000n), q('B', 10_000_000n), q('C', 10_050_000n), q('D', 11_000_000n)];
    expect(agreeOnRate(scattered, [], 2)).toMatchObject({ ok: false, why: 'disagree' });
  });

  it('refuses when fewer than needed answered, keeping every reason', () => {
    const failures = [
      { source: 'Kraken', reason: 'timeout' },
      { source: 'mempool.space', reason: 'HTTP 503' },
    ];
    const r = agreeOnRate([q('Coinbase', 10_000_000n)], failures, 2);
    expect(r).toMatchObject({ ok: false, why: 'too-few', dropped: failures });
    expect(agreeOnRate([], failures, 1)).toMatchObject({ ok: false, why: 'too-few' });
  });

  it('with one source needed, one answer is the rate', () => {
    expect(agreeOnRate([q('Coinbase', 10_000_000n)], [], 1)).toMatchObject({
      ok: true,
      minorPerBtc: 10_000_000n,
    });
  });
});
