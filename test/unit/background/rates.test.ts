import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateService } from '../../../src/background/services/rates';
import { PayboundDb } from '../../../src/db/schema';
import { setSetting } from '../../../src/db/settings';

let now = Date.parse('2026-11-25T12:00:00Z');
let db: PayboundDb;
const MIN = 60_000;

function source(rate: string | null) {
  const fetchMock = vi.fn(async () => {
    if (rate === null) throw new TypeError('connection refused');
    return new Response(
      JSON.stringify({
        base: 'BTC',
        rates: { USD: rate },
        source: 'test-source',
        asOf: new Date(now).toISOString(),
      }),
    );
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

async function make() {
  db = new PayboundDb(`r-${Math.random()}`);
  await setSetting(db, 'rateSourceUrl', 'http://rates.invalid');
  return new RateService(db, () => now);
}

afterEach(async () => {
  vi.unstubAllGlobals();
  await db.delete();
});

describe('RateService', () => {
  it('fetches, caches for 10 minutes, then refreshes', async () => {
    const rates = await make();
    const f = source('100000.00');
    expect((await rates.current('USD'))?.rate).toMatchObject({
      minorPerBtc: 10_000_000n,
      source: 'test-source',
    });
    now += 9 * MIN;
    await rates.current('USD');
    expect(f).toHaveBeenCalledTimes(1);
    now += 2 * MIN;
    source('90000.00');
    expect((await rates.current('USD'))?.rate.minorPerBtc).toBe(9_000_000n);
  });

  it('with the source down, uses a cached rate up to 6 h old, and adds a 2 % margin past that', async () => {
    const rates = await make();
    source('100000.00');
    await rates.current('USD');
    source(null);
    now += 5 * 60 * MIN;
    expect(await rates.current('USD')).toMatchObject({ stale: false, rate: { minorPerBtc: 10_000_000n } });
    now += 2 * 60 * MIN;
    expect(await rates.current('USD')).toMatchObject({ stale: true, rate: { minorPerBtc: 10_200_000n } });
  });

  it('with no rate at all, only a manual rate until its expiry', async () => {
    const rates = await make();
    source(null);
    expect(await rates.current('USD')).toBeUndefined();
    await rates.setManual('95000.50', 'USD', 60 * MIN);
    expect(await rates.current('USD')).toMatchObject({ rate: { minorPerBtc: 9_500_050n, source: 'manual' } });
    expect(await rates.current('EUR')).toBeUndefined();
    now += 61 * MIN;
    expect(await rates.current('USD')).toBeUndefined();
  });
});
