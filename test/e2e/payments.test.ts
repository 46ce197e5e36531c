/**
 * The paid flow in real Chromium: 402 → quote window → Lightning payment through the stand-in's
 * LNbits API → proof checked → the page's own request resolves with the paid response.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, inject } from 'vitest';
import { formatMsatAsSats } from '../../src/core/money/rates';
import { expect, test } from './harness/fixtures';
import { ledger, nextQuoteWindow, POPUP } from './harness/flows';
import { wallets } from './harness/wallets';

const PROMPT = 'Three lines about a lighthouse keeper';
// The demo prices 2 000 sat + 10 sat per prompt word.
const PRICE_MSAT = (2000n + 10n * BigInt(PROMPT.split(/\s+/).length)) * 1000n;

async function requestQuote(context: BrowserContext, demoPage: Page, button = '#generate'): Promise<Page> {
  await demoPage.fill('#prompt', PROMPT);
  const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click(button)]);
  return quote;
}

afterEach(async () => {
  await wallets(inject('stack')).clearFailures();
});

test('approve: the fetch resolves 200 with the generated text, and the ledger and wallets agree', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const [userBefore, appBefore] = [await w.balance('user'), await w.balance('app')];
  const quote = await requestQuote(context, demoPage);
  expect(await quote.textContent('[data-testid=origin]')).toBe(new URL(stack.demo).origin);
  expect(await quote.textContent('[data-testid=amount-sats]')).toBe(
    `${(PRICE_MSAT / 1000n).toLocaleString('en')} sats`,
  );
  // 2 060 sat at the stand-in's 100 000 USD/BTC is $2.06.
  expect(await quote.textContent('[data-testid=amount-fiat]')).toBe('$2.06');
  // A fixed price is paid, not authorized.
  expect(await quote.textContent('[data-testid=approve]')).toBe('Pay $2.06');
  // The paying wallet and its balance, asked of the wallet once the quote is shown.
  expect(await quote.textContent('[data-testid=wallet]')).toContain('Stand-in LNbits wallet');
  expect(await quote.textContent('[data-testid=wallet-balance]')).toBe(
    `Balance: ${formatMsatAsSats(userBefore)}`,
  );
  expect(await quote.textContent('[data-testid=next]')).toContain('sent again with the proof');
  // The request, the rate and the reasons wait under Details, closed until opened.
  const details = quote.locator('details');
  expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
  expect(await details.locator('[data-testid=request]').textContent()).toBe(
    `POST ${stack.demo}/api/generate`,
  );
  expect(await quote.isVisible('[data-testid=request]')).toBe(false);
  await quote.click('details summary');
  expect(await quote.isVisible('[data-testid=request]')).toBe(true);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('200 OK');
  expect(await demoPage.textContent('#output')).toContain('lighthouse');

  expect(await w.balance('user')).toBe(userBefore - PRICE_MSAT);
  expect(await w.balance('app')).toBe(appBefore + PRICE_MSAT);
  const [row] = await ledger(await openExtensionPage(POPUP));
  expect(row).toMatchObject({
    state: 'paid',
    approval: 'approved',
    origin: new URL(stack.demo).origin,
    amountMsat: PRICE_MSAT.toString(),
    amountMinor: '206',
    currency: 'USD',
    rate: { minorPerBtc: '10000000' },
  });
  expect(row?.rate?.source).toBeTruthy();
});

test('approve: an XMLHttpRequest gets the paid response, not the 402', async ({ context, demoPage }) => {
  const quote = await requestQuote(context, demoPage, '#generate-xhr');
  await quote.click('[data-testid=approve]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('200 OK');
  expect(await demoPage.textContent('#output')).toContain('lighthouse');
});

test('a second request reuses the paid token: no window, nothing paid', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const quote = await requestQuote(context, demoPage);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('200 OK');
  const w = wallets(stack);
  const before = await w.balance('user');

  await demoPage.fill('#prompt', 'Another prompt entirely');
  await demoPage.click('#generate');
  await expect.poll(() => demoPage.textContent('#output')).toContain('prompt');
  expect(await demoPage.textContent('#status')).toBe('200 OK');
  expect(await w.balance('user')).toBe(before);
  expect(await ledger(await openExtensionPage(POPUP))).toHaveLength(1);
});

test('deny: the page gets its 402, nothing is paid, the ledger says denied', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const before = await wallets(stack).balance('user');
  const quote = await requestQuote(context, demoPage);
  await quote.click('[data-testid=deny]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('Payment required (402)');
  expect(await wallets(stack).balance('user')).toBe(before);
  const [row] = await ledger(await openExtensionPage(POPUP));
  expect(row).toMatchObject({ state: 'failed', approval: 'denied', failure: { code: 'denied' } });
});

test('closing the quote window denies', async ({ context, demoPage, stack, openExtensionPage }) => {
  const before = await wallets(stack).balance('user');
  const quote = await requestQuote(context, demoPage);
  await quote.close();
  await expect.poll(() => demoPage.textContent('#status')).toBe('Payment required (402)');
  expect(await wallets(stack).balance('user')).toBe(before);
  const [row] = await ledger(await openExtensionPage(POPUP));
  expect(row).toMatchObject({ state: 'failed', approval: 'denied' });
});

test('Escape in the quote window denies (keyboard)', async ({ context, demoPage }) => {
  const quote = await requestQuote(context, demoPage);
  // keydown alone: the window denies and closes itself on it, before a keyup could be delivered.
  await quote.keyboard.down('Escape');
  await expect.poll(() => demoPage.textContent('#status')).toBe('Payment required (402)');
});

test('two 402s from one tab queue in one window', async ({ context, demoPage, openExtensionPage }) => {
  await demoPage.fill('#prompt', PROMPT);
  const windows: Page[] = [];
  context.on('page', (p) => {
    if (p.url().includes('/src/ui/approve/')) windows.push(p);
  });
  const [quote] = await Promise.all([
    nextQuoteWindow(context),
    demoPage.evaluate(() => {
      const body = JSON.stringify({ prompt: 'one two' });
      const opts = { method: 'POST', headers: { 'content-type': 'application/json' }, body };
      (window as Window & { both?: Promise<number[]> }).both = Promise.all([
        fetch('/api/generate', opts).then((r) => r.status),
        fetch('/api/generate', opts).then((r) => r.status),
      ]);
    }),
  ]);
  await expect.poll(() => quote.textContent('[data-testid=queue]')).toBe('Request 1 of 2 from this tab');
  await quote.click('[data-testid=approve]');
  // The first quote is decided; the second is alone in the queue now.
  await expect.poll(() => quote.locator('[data-testid=queue]').count()).toBe(0);
  await quote.click('[data-testid=approve]');
  const statuses = await demoPage.evaluate(() => (window as Window & { both?: Promise<number[]> }).both);
  expect(statuses).toEqual([200, 200]);
  expect(windows).toHaveLength(1);
  expect(await ledger(await openExtensionPage(POPUP))).toHaveLength(2);
});
