import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  isRefusal,
  migrateRateSettings,
  type RateAnswer,
  RateService,
  rateSources,
} from '../../../src/background/services/rates';
import { english } from '../../../src/core/text/said';
import { PayboundDb } from '../../../src/db/schema';
import { getSetting, type SettingValue, setSetting } from '../../../src/db/settings';

let now = Date.parse('2026-11-25T12:00:00Z');
let db: PayboundDb;
const MIN = 60_000;

type Answer = string | null | ((init: RequestInit | undefined) => Promise<Response>);
/** What each provider answers: a USD decimal, null (connection refused), or a function. */
interface World {
  coinbase?: Answer;
  kraken?: Answer;
  mempool?: Answer;
  alby?: Answer;
  yadio?: Answer;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** Each provider's own shape for one USD price. */
function shaped(kind: keyof World, usd: string): Response {
  switch (kind) {
    case 'coinbase':
      return json({ data: { currency: 'BTC', rates: { USD: usd, EUR: '1' } } });
    case 'kraken':
      return json({ error: [], result: { XXBTZUSD: { a: [usd, '1', '1'], c: [usd, '0.1'], o: usd } } });
    case 'mempool':
      return json({ time: Math.floor(now / 1000), USD: Number(usd), EUR: 1 });
    case 'alby':
      return json({ code: 'USD', rate_float: Number(usd) });
    case 'yadio':
      return json({ USD: {}, base: 'USD', timestamp: now, BTC: Number(usd) });
  }
}

const KIND_OF_HOST: Record<string, keyof World> = {
  'api.coinbase.com': 'coinbase',
  'api.kraken.com': 'kraken',
  'mempool.space': 'mempool',
  'getalby.com': 'alby',
  'api.yadio.io': 'yadio',
};

function world(w: World) {
  return vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    // A mirror is known by the provider path it serves.
    const kind = KIND_OF_HOST[url.host] ?? (url.pathname.includes('/exrates/') ? 'yadio' : undefined);
    const answer = kind ? w[kind] : undefined;
    if (answer === undefined || answer === null) throw new TypeError('connection refused');
    if (typeof answer === 'function') return answer(init);
    return shaped(kind as keyof World, answer);
  });
}

let fetchImpl = world({});
async function make(w: World, sources?: SettingValue<'rateSources'>) {
  db = new PayboundDb(`r-${Math.random()}`);
  if (sources !== undefined) await setSetting(db, 'rateSources', sources);
  fetchImpl = world(w);
  return new RateService(db, () => now, fetchImpl as unknown as typeof fetch);
}
function answer(w: World) {
  fetchImpl.mockImplementation(world(w));
}
const rateOf = (a: RateAnswer) => {
  if (isRefusal(a)) throw new Error(`refused: ${a ? english(a.refused) : 'nothing'}`);
  return a;
};
const refusalOf = (a: RateAnswer) => {
  if (!isRefusal(a) || !a) throw new Error('not refused');
  return english(a.refused);
};

const THREE = { coinbase: '100000.00', kraken: '100010.00000', mempool: '99990' };

afterEach(async () => {
  await db.delete();
});

describe('RateService', () => {
  it('asks Coinbase, Kraken and mempool.space by default, at their public addresses', async () => {
    const rates = await make(THREE);
    expect(rateOf(await rates.current('USD')).rate).toMatchObject({
      minorPerBtc: 10_000_000n,
      source: 'Coinbase, Kraken, mempool.space',
    });
    expect(fetchImpl.mock.calls.map(([u]) => String(u)).sort()).toEqual([
      'https://api.coinbase.com/v2/exchange-rates?currency=BTC',
      'https://api.kraken.com/0/public/Ticker?pair=XBTUSD',
      'https://mempool.space/api/v1/prices',
    ]);
    // Every request can be cut short, and carries no cookies.
    for (const [, init] of fetchImpl.mock.calls) {
      expect(init?.signal).toBeInstanceOf(AbortSignal);
      expect(init?.credentials).toBe('omit');
    }
  });

  it('fetches, caches for 10 minutes, then refreshes', async () => {
    const rates = await make(THREE);
    await rates.current('USD');
    now += 4 * MIN;
    await rates.current('USD');
    expect(fetchImpl).toHaveBeenCalledTimes(3);
    now += 7 * MIN;
    answer({ coinbase: '90000.00', kraken: '90000.00000', mempool: '90010' });
    expect(rateOf(await rates.current('USD')).rate.minorPerBtc).toBe(9_000_000n);
    expect(fetchImpl).toHaveBeenCalledTimes(6);
  });

  it('a rate past 5 minutes is used at once and asked for again ahead, so the next quote has the new one', async () => {
    const rates = await make(THREE);
    await rates.current('USD');
    now += 6 * MIN;
    let release!: () => void;
    const held = new Promise<void>((go) => {
      release = go;
    });
    // The sources answer only when let: the quote does not wait for them.
    fetchImpl.mockImplementation(async (input, init) => {
      await held;
      return world({ coinbase: '90000.00', kraken: '90000.00000', mempool: '90010' })(input, init);
    });
    const first = rateOf(await rates.current('USD'));
    expect(first.rate.minorPerBtc).toBe(10_000_000n);
    expect(first.ageMs).toBe(6 * MIN);
    // Asked meanwhile, the quote already answered.
    await vi.waitFor(() => expect(fetchImpl).toHaveBeenCalledTimes(6));
    release();
    await vi.waitFor(async () => expect((await getSetting(db, 'rate:USD'))?.minorPerBtc).toBe(9_000_000n));
    expect(rateOf(await rates.current('USD')).rate.minorPerBtc).toBe(9_000_000n);
    expect(fetchImpl).toHaveBeenCalledTimes(6);
  });

  it('keeps the rate it read or fetched in memory: a quote reads no row, until the cache is forgotten', async () => {
    const rates = await make(THREE);
    await rates.current('USD');
    const reads = vi.spyOn(db.settings, 'get');
    expect(rateOf(await rates.current('USD')).rate.minorPerBtc).toBe(10_000_000n);
    expect(reads.mock.calls.map(([k]) => k)).not.toContain('rate:USD');
    await rates.forget();
    answer({ coinbase: '90000.00', kraken: '90000.00000', mempool: '90010' });
    expect(rateOf(await rates.current('USD')).rate.minorPerBtc).toBe(9_000_000n);
    expect(reads.mock.calls.map(([k]) => k)).toContain('rate:USD');
  });

  it('sources that state an older time are asked ahead once per 5 minutes, not at every quote', async () => {
    const rates = await make({
      ...THREE,
      mempool: async () => json({ time: Math.floor((now - 6 * MIN) / 1000), USD: 99990 }),
    });
    // Six minutes old as soon as it is fetched: past the refresh-ahead age, younger than 10 minutes.
    expect(rateOf(await rates.current('USD')).ageMs).toBe(6 * MIN);
    expect(fetchImpl).toHaveBeenCalledTimes(3);
    // Asking the sources begins by reading which ones the user chose: no such read, no asking.
    const reads = vi.spyOn(db.settings, 'get');
    const asked = () => reads.mock.calls.filter(([k]) => String(k) === 'rateSources').length;
    await rates.current('USD');
    await rates.current('USD');
    // Asked 3 minutes ago: not again yet.
    now += 3 * MIN;
    await rates.current('USD');
    expect(asked()).toBe(0);
    // Over 10 minutes past the time the sources stated: the quote waits for them again.
    now += 3 * MIN;
    answer(THREE);
    await rates.current('USD');
    expect(asked()).toBe(1);
  });

  it('asks once for quotes that arrive together', async () => {
    const rates = await make(THREE);
    const all = await Promise.all([rates.current('USD'), rates.current('USD'), rates.current('USD')]);
    expect(all.map((a) => rateOf(a).rate.minorPerBtc)).toEqual([10_000_000n, 10_000_000n, 10_000_000n]);
    expect(fetchImpl).toHaveBeenCalledTimes(3);
  });

  it('one source down: the other two agree, and the reason is kept for the settings page', async () => {
    const rates = await make({ ...THREE, kraken: null });
    expect(rateOf(await rates.current('USD')).rate).toMatchObject({
      minorPerBtc: 9_999_500n,
      source: 'Coinbase, mempool.space',
    });
    expect(await getSetting(db, 'rateCheck')).toMatchObject({
      dropped: [{ source: 'Kraken', reason: 'unreachable' }],
      used: [{ source: 'Coinbase' }, { source: 'mempool.space' }],
    });
  });

  it('one source lying 10 % off: dropped, the two that agree are used', async () => {
    const rates = await make({ ...THREE, kraken: '110000.00000' });
    expect(rateOf(await rates.current('USD')).rate.minorPerBtc).toBe(9_999_500n);
    expect(await getSetting(db, 'rateCheck')).toMatchObject({
      dropped: [{ source: 'Kraken', reason: expect.stringMatching(/from the median$/) }],
    });
  });

  it.each([
    [
      'an HTML page',
      async () => new Response('<!doctype html><p>Just a moment…</p>', { status: 200 }),
      'not JSON',
    ],
    ['garbage JSON', async () => json({ price: 'high' }), 'unknown shape'],
    [
      'a negative price',
      async () => json({ error: [], result: { XXBTZUSD: { c: ['-1.0', '1'] } } }),
      'not a usable rate: -1.0',
    ],
    [
      'its own error over 200',
      async () => json({ error: ['EService:Unavailable'] }),
      'error: EService:Unavailable',
    ],
    [
      'an error status',
      async () => json({ error: ['EService:Busy'] }, 503),
      'HTTP 503, error: EService:Busy',
    ],
    ['a 502 page', async () => new Response('<html>Bad gateway</html>', { status: 502 }), 'HTTP 502'],
    ['too much', async () => new Response('x'.repeat(300 * 1024), { status: 200 }), 'answer too large'],
    [
      'nothing in time',
      async (init: RequestInit | undefined) => {
        // What the fetch does when its AbortSignal.timeout fires.
        expect(init?.signal).toBeInstanceOf(AbortSignal);
        throw new DOMException('The operation timed out.', 'TimeoutError');
      },
      'timeout',
    ],
  ])('a source answering %s is dropped with its reason', async (_name, kraken, reason) => {
    const rates = await make({ ...THREE, kraken });
    expect(rateOf(await rates.current('USD')).rate.source).toBe('Coinbase, mempool.space');
    expect(await getSetting(db, 'rateCheck')).toMatchObject({
      dropped: [{ source: 'Kraken', reason }],
    });
  });

  it('all down: refused, saying which source failed how', async () => {
    const rates = await make({});
    expect(refusalOf(await rates.current('USD'))).toBe(
      'too few exchange-rate sources gave a usable rate (Coinbase: unreachable; Kraken: unreachable; mempool.space: unreachable), so there is no rate to check this charge against your budgets',
    );
  });

  it('only one of three answering is not enough: no single source decides', async () => {
    const rates = await make({ coinbase: '100000.00' });
    expect(refusalOf(await rates.current('USD'))).toMatch(/^too few exchange-rate sources/);
  });

  it('two sources that disagree: refused as such, naming their rates', async () => {
    const rates = await make({ coinbase: '100000.00', kraken: '110000.00000' });
    expect(refusalOf(await rates.current('USD'))).toBe(
      'the exchange-rate sources disagree (Coinbase 100000.00, Kraken 110000.00 USD), so there is no rate to check this charge against your budgets',
    );
  });

  it('sources that disagree later: the cached rate is still used, as when they are down', async () => {
    const rates = await make(THREE);
    await rates.current('USD');
    now += 30 * MIN;
    answer({ coinbase: '100000.00', kraken: '150000.00000', mempool: '50000' });
    expect(rateOf(await rates.current('USD'))).toMatchObject({
      stale: false,
      rate: { minorPerBtc: 10_000_000n },
    });
  });

  it('with the sources down, uses a cached rate up to 6 h old, and adds a 2 % margin past that', async () => {
    const rates = await make(THREE);
    await rates.current('USD');
    answer({});
    now += 5 * 60 * MIN;
    expect(await rates.current('USD')).toMatchObject({ stale: false, rate: { minorPerBtc: 10_000_000n } });
    now += 2 * 60 * MIN;
    expect(await rates.current('USD')).toMatchObject({ stale: true, rate: { minorPerBtc: 10_200_000n } });
  });

  it('with no rate at all, only a manual rate until its expiry', async () => {
    const rates = await make({});
    expect(isRefusal(await rates.current('USD'))).toBe(true);
    await rates.setManual('95000.50', 'USD', 60 * MIN);
    expect(await rates.current('USD')).toMatchObject({ rate: { minorPerBtc: 9_500_050n, source: 'manual' } });
    expect(isRefusal(await rates.current('EUR'))).toBe(true);
    now += 61 * MIN;
    expect(isRefusal(await rates.current('USD'))).toBe(true);
  });

  it('reads the sources the user chose, at their own addresses, in the shape they declared', async () => {
    const rates = await make({ alby: '100000.12', yadio: '100001.00' }, [
      { kind: 'alby' },
      { kind: 'yadio', url: 'https://yadio.mirror.example/base/' },
    ]);
    expect(rateOf(await rates.current('USD')).rate).toMatchObject({
      minorPerBtc: 10_000_056n,
      source: 'Alby, yadio (yadio.mirror.example)',
    });
    expect(fetchImpl.mock.calls.map(([u]) => String(u)).sort()).toEqual([
      'https://getalby.com/api/rates/usd.json',
      'https://yadio.mirror.example/base/exrates/USD',
    ]);
  });

  it('one source chosen by the user is enough on its own', async () => {
    const rates = await make({ mempool: '97000' }, [{ kind: 'mempool' }]);
    expect(rateOf(await rates.current('USD')).rate.minorPerBtc).toBe(9_700_000n);
  });

  it('no source chosen: only the manual rate', async () => {
    const rates = await make(THREE, []);
    expect(refusalOf(await rates.current('USD'))).toBe(
      'no exchange rate is available to check this charge against your budgets',
    );
    expect(fetchImpl).not.toHaveBeenCalled();
  });

  it('forgets cached rates when asked (the user changed sources or currency)', async () => {
    const rates = await make(THREE);
    await rates.current('USD');
    await rates.forget();
    await rates.current('USD');
    expect(fetchImpl).toHaveBeenCalledTimes(6);
  });
});

describe('the rate settings of an older version', () => {
  it('drops the single URL of the old format; the public sources apply', async () => {
    db = new PayboundDb(`r-${Math.random()}`);
    await setSetting(db, 'rateSourceUrl', 'http://127.0.0.1:8404');
    await migrateRateSettings(db);
    expect(await getSetting(db, 'rateSourceUrl')).toBeNull();
    expect(await rateSources(db)).toEqual([{ kind: 'coinbase' }, { kind: 'kraken' }, { kind: 'mempool' }]);
  });
});
