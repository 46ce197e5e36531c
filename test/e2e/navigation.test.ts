/**
 * A 402 on a page load: seen by the worker, quoted, paid, then the paid page takes the 402 page's
 * place in the tab (Chromium: written into the same document, with no second page load).
 */

import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { l402Header, macaroonFor } from '../fixtures/l402';
import { expect, test } from './harness/fixtures';
import { ledger, nextQuoteWindow, POPUP } from './harness/flows';
import { wallets } from './harness/wallets';

const ARTICLE = '/article/paying-per-request';

/** Runs `use` with the URL of /paid on a server of its own (another origin), answered by `handle`. */
async function withServer(handle: RequestListener, use: (url: string) => Promise<void>): Promise<void> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}/paid`);
  } finally {
    server.close();
  }
}

test('a paid article page: quote, approve, the tab shows the article in place; later loads in that tab pay nothing, another tab asks', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const before = await w.balance('user');
  const page = await context.newPage();
  const [quote] = await Promise.all([nextQuoteWindow(context), page.goto(`${stack.demo}${ARTICLE}`)]);
  expect(await quote.textContent('[data-testid=origin]')).toBe(new URL(stack.demo).origin);
  const pagesBefore = await page.evaluate(() => history.length);
  await quote.click('[data-testid=approve]');
  await page.waitForSelector('#article');
  // The same page load, its 402 page replaced: no reload, no new history entry, the same address.
  expect(
    await page.evaluate(
      () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).responseStatus,
    ),
  ).toBe(402);
  expect(await page.evaluate(() => history.length)).toBe(pagesBefore);
  expect(page.url()).toBe(`${stack.demo}${ARTICLE}`);
  const [row] = await ledger(await openExtensionPage(POPUP));
  expect(row).toMatchObject({ via: 'navigation', state: 'paid' });
  const paid = before - (await w.balance('user'));
  expect(paid).toBe(BigInt(row?.amountMsat ?? -1));

  // The token stays for this tab: loading the article again in it pays nothing and asks nothing.
  await page.goto(`${stack.demo}${ARTICLE}`);
  await page.waitForSelector('#article');
  expect(before - (await w.balance('user'))).toBe(paid);
  // A page-load token belongs to the tab that paid: another tab (which any site can open on
  // this URL) does not get it, and is asked again.
  const again = await context.newPage();
  const [asked] = await Promise.all([nextQuoteWindow(context), again.goto(`${stack.demo}${ARTICLE}`)]);
  await asked.click('[data-testid=deny]');
  expect(await again.locator('#payment-required').count()).toBe(1);
  expect(before - (await w.balance('user'))).toBe(paid);
});

test('denying a paid page leaves it on its 402 page', async ({ context, stack, openExtensionPage }) => {
  const page = await context.newPage();
  const [quote] = await Promise.all([
    nextQuoteWindow(context),
    page.goto(`${stack.demo}/article/editing-with-ai`),
  ]);
  await quote.click('[data-testid=deny]');
  expect(await page.locator('#payment-required').count()).toBe(1);
  const [row] = await ledger(await openExtensionPage(POPUP));
  expect(row).toMatchObject({ via: 'navigation', state: 'failed', approval: 'denied' });
});

test('a page load whose L402 challenge is the second of two WWW-Authenticate headers is quoted', async ({
  context,
  stack,
}) => {
  // Every copy of the header must reach the worker (the bridge reads them as fetch() joins them).
  const invoice = await wallets(stack).createInvoice('app', 700, 'second header');
  const challenge = l402Header(macaroonFor(invoice.paymentHash), invoice.bolt11);
  const handle: RequestListener = (_req, res) => {
    res.writeHead(402, [
      ['Content-Type', 'text/html'],
      ['WWW-Authenticate', 'Basic realm="members"'],
      ['WWW-Authenticate', challenge],
    ]);
    res.end('<!doctype html><title>pay</title><p id="payment-required">pay first</p>');
  };
  await withServer(handle, async (url) => {
    const page = await context.newPage();
    const [quote] = await Promise.all([nextQuoteWindow(context), page.goto(url)]);
    expect(await quote.textContent('[data-testid=origin]')).toBe(new URL(url).origin);
    await quote.click('[data-testid=deny]');
    expect(await page.locator('#payment-required').count()).toBe(1);
  });
});

test("the paid page's own scripts run, and its credential reached the server only on the paid request", async ({
  context,
  stack,
}) => {
  const invoice = await wallets(stack).createInvoice('app', 500, 'scripted page');
  const challenge = l402Header(macaroonFor(invoice.paymentHash), invoice.bolt11);
  const seen: (string | undefined)[] = [];
  const handle: RequestListener = (req, res) => {
    // The browser's own favicon request is not the page's.
    if (req.url === '/paid') seen.push(req.headers.authorization);
    if (req.headers.authorization?.startsWith('L402 ')) {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(
        '<!doctype html><title>paid</title><p id="paid">paid</p><script>document.body.dataset.ran = "yes"</script>',
      );
      return;
    }
    res.writeHead(402, { 'Content-Type': 'text/html', 'WWW-Authenticate': challenge });
    res.end('<!doctype html><title>pay</title><p id="payment-required">pay first</p>');
  };
  await withServer(handle, async (url) => {
    const page = await context.newPage();
    const [quote] = await Promise.all([nextQuoteWindow(context), page.goto(url)]);
    await quote.click('[data-testid=approve]');
    await page.waitForSelector('#paid');
    await expect.poll(() => page.evaluate(() => document.body.dataset.ran)).toBe('yes');
    // The page load and the bridge's look at its challenge went bare; the paid one carried L402.
    expect(seen.slice(0, 2)).toEqual([undefined, undefined]);
    expect(seen).toHaveLength(3);
    expect(seen[2]).toMatch(/^L402 /);
  });
});
