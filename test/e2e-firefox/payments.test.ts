/**
 * The paid flow in real Firefox (the event-page build): 402 from the demo app → quote window →
 * Lightning payment through the stand-in's LNbits API → the page's own request resolves with the
 * paid response; the paid token serves the next request; the event page stopped as when idle
 * starts again on the next event and keeps every record.
 */
import type { Browser, Page } from 'puppeteer-core';
import { GECKO_ID } from '../../manifest.config';
import { backgroundState, extensionWindowsClosed, stopEventPage } from '../../server/dev/firefox';
import { step } from '../e2e/harness/flows';
import { wallets } from '../e2e/harness/wallets';
import { expect, test } from './harness/fixtures';
import { approve, ask, ledger, nextQuoteWindow, statusBecomes, textOf, watchNewPages } from './harness/flows';

const PROMPT = 'Three lines about a lighthouse keeper';
// The demo prices 2 000 sat + 10 sat per prompt word.
const PRICE_MSAT = (2000n + 10n * BigInt(PROMPT.split(/\s+/).length)) * 1000n;

async function requestQuote(browser: Browser, demoPage: Page, button = '#generate'): Promise<Page> {
  await demoPage.locator('#prompt').fill(PROMPT);
  const [quote] = await step(
    'the quote window',
    Promise.all([nextQuoteWindow(browser), demoPage.click(button)]),
  );
  return quote;
}

test('the extension loads: its scripts wrap the page, the event page answers with the provisioned wallet', async ({
  browser,
  extensionId,
  demoPage,
  stack,
}) => {
  expect(extensionId).toBe(GECKO_ID);
  // The main-world script replaced fetch before the page's scripts ran.
  expect(await demoPage.evaluate(() => /\[native code\]/.test(String(window.fetch)))).toBe(false);
  const quote = await requestQuote(browser, demoPage);
  const status = await ask(quote, 'status.get', {});
  expect(status.rails.map((r) => [r.id, r.kind])).toEqual([
    ['eth-page', 'ethereum'],
    ['lnbits-standin', 'lnbits'],
  ]);
  expect(status.defaultRailId).toBe('lnbits-standin');
  expect(await textOf(quote, '[data-testid=origin]')).toBe(new URL(stack.demo).origin);
  await quote.click('[data-testid=deny]');
  await statusBecomes(demoPage, 'Payment required (402)');
});

test('approve: the fetch resolves 200 with the generated text, and the wallets agree', async ({
  browser,
  demoPage,
  stack,
}) => {
  const w = wallets(stack);
  const [userBefore, appBefore] = [await w.balance('user'), await w.balance('app')];
  const quote = await requestQuote(browser, demoPage);
  expect(await textOf(quote, '[data-testid=amount-sats]')).toBe(
    `${(PRICE_MSAT / 1000n).toLocaleString('en')} sats`,
  );
  // 2 060 sat at the stand-in's 100 000 USD/BTC is $2.06.
  expect(await textOf(quote, '[data-testid=amount-fiat]')).toBe('$2.06');
  await approve(quote);
  await statusBecomes(demoPage, '200 OK');
  expect(await textOf(demoPage, '#output')).toContain('lighthouse');
  expect(await w.balance('user')).toBe(userBefore - PRICE_MSAT);
  expect(await w.balance('app')).toBe(appBefore + PRICE_MSAT);
});

test('approve: an XMLHttpRequest gets the paid response, not the 402', async ({ browser, demoPage }) => {
  const quote = await requestQuote(browser, demoPage, '#generate-xhr');
  await approve(quote);
  await statusBecomes(demoPage, '200 OK');
  expect(await textOf(demoPage, '#output')).toContain('lighthouse');
});

test('a second request reuses the paid token: no window, nothing paid', async ({
  browser,
  demoPage,
  stack,
}) => {
  const quote = await requestQuote(browser, demoPage);
  await approve(quote);
  await statusBecomes(demoPage, '200 OK');
  const w = wallets(stack);
  const before = await w.balance('user');

  const opened = watchNewPages(browser);
  await demoPage.locator('#prompt').fill('Another prompt entirely');
  await demoPage.click('#generate');
  await demoPage.waitForFunction(() => document.querySelector('#output')?.textContent?.includes('prompt'));
  opened.stop();
  expect(await textOf(demoPage, '#status')).toBe('200 OK');
  expect(opened.count()).toBe(0);
  expect(await w.balance('user')).toBe(before);
});

test('the event page stopped as when idle: the next 402 starts it, records are kept, paying and the token work', async ({
  browser,
  extensionId,
  demoPage,
  stack,
}) => {
  const first = await requestQuote(browser, demoPage);
  await first.click('[data-testid=deny]');
  await statusBecomes(demoPage, 'Payment required (402)');
  // A window closing is an event that starts the event page again: stop it once the window is gone.
  await extensionWindowsClosed(browser);

  await stopEventPage(browser, extensionId);
  expect(await backgroundState(browser, extensionId)).toBe('stopped');
  // The page's report of the next 402 is the event that starts it again.
  const quote = await requestQuote(browser, demoPage);
  expect(await backgroundState(browser, extensionId)).toBe('running');
  const rows = await ledger(quote);
  expect(rows.map((r) => r.approval)).toEqual(['waiting', 'denied']);
  expect(await ask(quote, 'challenges.recent', {})).toHaveLength(2);
  const w = wallets(stack);
  const before = await w.balance('user');
  await approve(quote);
  await statusBecomes(demoPage, '200 OK');
  expect(await w.balance('user')).toBe(before - PRICE_MSAT);

  // Stopped again: the token the stopped page set up still serves the next request.
  await stopEventPage(browser, extensionId);
  const opened = watchNewPages(browser);
  await demoPage.locator('#prompt').fill('Another prompt entirely');
  await demoPage.click('#generate');
  await demoPage.waitForFunction(() => document.querySelector('#output')?.textContent?.includes('prompt'));
  opened.stop();
  expect(await textOf(demoPage, '#status')).toBe('200 OK');
  expect(opened.count()).toBe(0);
  expect(await w.balance('user')).toBe(before - PRICE_MSAT);
});

test('a paid article page: quote, approve, the tab reloads with the credential and shows the article', async ({
  browser,
  demoPage,
  stack,
}) => {
  const w = wallets(stack);
  const before = await w.balance('user');
  const [quote] = await step(
    'the quote window for the page load',
    Promise.all([nextQuoteWindow(browser), demoPage.goto(`${stack.demo}/article/paying-per-request`)]),
  );
  expect(await textOf(quote, '[data-testid=origin]')).toBe(new URL(stack.demo).origin);
  await approve(quote);
  await demoPage.waitForSelector('#article');
  expect(await w.balance('user')).toBeLessThan(before);
});
