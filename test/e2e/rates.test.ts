/**
 * Exchange rates end to end: the worker reads the stand-in's Coinbase, Kraken and mempool.space
 * (each in its own shape, as the real APIs answer), agrees on the median, and says what it did
 * when a source is down or lies, and when none is left.
 */
import { afterEach } from 'vitest';
import { expect, test } from './harness/fixtures';
import { ask, generate, ledger, nextQuoteWindow, POPUP } from './harness/flows';

const OPTIONS = 'src/ui/options/index.html';

/** Tells the stand-in how each provider misbehaves (null: normally). */
async function faults(ratesUrl: string, set: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${ratesUrl}/_standin/rates`, {
    method: 'POST',
    body: JSON.stringify({ faults: set }),
  });
  if (!res.ok) throw new Error(`stand-in refused the faults: ${await res.text()}`);
}

let ratesUrl: string | undefined;
afterEach(async () => {
  if (ratesUrl) await faults(ratesUrl, { coinbase: null, kraken: null, mempool: null });
});

test('a quote is priced at the median of the three default sources, each named', async ({
  context,
  demoPage,
  stack,
}) => {
  const host = new URL(stack.rates).host;
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  // 2 010 sat at 100 000 USD/BTC.
  expect(await quote.textContent('[data-testid=amount-fiat]')).toBe('$2.01');
  expect(await quote.textContent('[data-testid=rate]')).toContain(
    `from Coinbase (${host}), Kraken (${host}), mempool.space (${host})`,
  );
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
});

test('one source lying 10 % off and then one down: the others still agree, and settings say why', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  ratesUrl = stack.rates;
  const host = new URL(stack.rates).host;
  const popup = await openExtensionPage(POPUP);
  await faults(stack.rates, { kraken: { offsetBps: 1000 } });
  // Setting the currency forgets the rate cached at start-up, so that the sources are asked now.
  await ask(popup, 'settings.set', { currency: 'USD' });
  let status = generate(demoPage);
  let quote = await nextQuoteWindow(context);
  expect(await quote.textContent('[data-testid=amount-fiat]')).toBe('$2.01');
  expect(await quote.textContent('[data-testid=rate]')).toContain(
    `from Coinbase (${host}), mempool.space (${host})`,
  );
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
  const options = await openExtensionPage(`${OPTIONS}#overview`);
  await expect
    .poll(() => options.textContent('[data-testid=rate-check]'))
    .toMatch(
      new RegExp(`Kraken \\(${host.replaceAll('.', '\\.')}\\): not used \\(10\\.00 % from the median\\)`),
    );

  await faults(stack.rates, { kraken: null, mempool: 'down' });
  await ask(popup, 'settings.set', { currency: 'USD' });
  status = generate(demoPage, 'again');
  quote = await nextQuoteWindow(context);
  expect(await quote.textContent('[data-testid=rate]')).toContain(
    `from Coinbase (${host}), Kraken (${host})`,
  );
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
  expect((await ask(popup, 'settings.get', {})).rateCheck?.dropped).toEqual([
    { source: `mempool.space (${host})`, reason: 'HTTP 503' },
  ]);
});

test('a source that never answers is cut off by its timeout; the quote comes from the others', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  ratesUrl = stack.rates;
  const host = new URL(stack.rates).host;
  const popup = await openExtensionPage(POPUP);
  await faults(stack.rates, { kraken: 'hang' });
  await ask(popup, 'settings.set', { currency: 'USD' });
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  expect(await quote.textContent('[data-testid=rate]')).toContain(
    `from Coinbase (${host}), mempool.space (${host})`,
  );
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
  expect((await ask(popup, 'settings.get', {})).rateCheck?.dropped).toEqual([
    { source: `Kraken (${host})`, reason: 'timeout' },
  ]);
});

test('all sources down and nothing cached: refused, saying why, until the user sets a manual rate', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  ratesUrl = stack.rates;
  const host = new URL(stack.rates).host;
  const popup = await openExtensionPage(POPUP);
  await faults(stack.rates, { coinbase: 'down', kraken: 'html', mempool: 'garbage' });
  await ask(popup, 'settings.set', { currency: 'USD' });
  expect(await generate(demoPage)).toBe(402);
  expect((await ask(popup, 'challenges.recent', { limit: 1 }))[0]).toMatchObject({
    url: `${stack.demo}/api/generate`,
    error:
      `too few exchange-rate sources gave a usable rate (Coinbase (${host}): HTTP 503, error: Service unavailable; ` +
      `Kraken (${host}): not JSON; mempool.space (${host}): unknown shape), ` +
      'so there is no rate to check this charge against your budgets',
  });
  expect(await ledger(popup)).toEqual([]);
  await ask(popup, 'rates.setManual', { rate: '50000', validForHours: 1 });
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  // 2 010 sat at 50 000 USD/BTC.
  expect(await quote.textContent('[data-testid=amount-fiat]')).toBe('$1.01');
  expect(await quote.textContent('[data-testid=rate]')).toContain('from manual');
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
});

test('the user picks the sources in settings; saved sources are the ones asked', async ({
  openExtensionPage,
}) => {
  const options = await openExtensionPage(`${OPTIONS}#overview`);
  await options.waitForSelector('[data-testid=rate-sources]');
  expect(await options.isChecked('[data-testid=rate-source-coinbase]')).toBe(true);
  expect(await options.isChecked('[data-testid=rate-source-alby]')).toBe(false);
  await options.uncheck('[data-testid=rate-source-kraken]');
  await options.check('[data-testid=rate-source-alby]');
  await options.fill('[data-testid=rate-source-url-alby]', 'not a url');
  await options.click('[data-testid=general] button[type=submit]');
  await expect.poll(() => options.textContent('[data-testid=general] [role=status]')).toMatch(/URL/);
  await options.fill('[data-testid=rate-source-url-alby]', '');
  await options.click('[data-testid=general] button[type=submit]');
  await expect.poll(() => options.textContent('[data-testid=general] [role=status]')).toBe('Saved.');
  const popup = await openExtensionPage(POPUP);
  expect((await ask(popup, 'settings.get', {})).rateSources.map((s) => s.kind)).toEqual([
    'coinbase',
    'mempool',
    'alby',
  ]);
});
