/**
 * The page's own WebLN wallet as a rail: the worker hands the invoice to the page's main world,
 * `window.webln` pays it, and the worker checks the proof itself (the page can lie).
 */
import type { Page } from 'playwright-core';
import { expect, test } from './harness/fixtures';
import { ask, ledger, nextQuoteWindow, POPUP } from './harness/flows';
import { wallets } from './harness/wallets';
import { pageWithWebln } from './harness/webln';

async function chooseWebln(openExtensionPage: (p: string) => Promise<Page>) {
  const popup = await openExtensionPage(POPUP);
  await ask(popup, 'rails.setDefault', { railId: 'webln-page' });
  return popup;
}

test("the page's WebLN wallet pays an approved quote and the fetch resolves 200", async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const popup = await chooseWebln(openExtensionPage);
  const page = await pageWithWebln(context, stack);
  const before = await wallets(stack).balance('user');
  await page.fill('#prompt', 'paid from the page');
  const [quote] = await Promise.all([nextQuoteWindow(context), page.click('#generate')]);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => page.textContent('#status')).toBe('200 OK');
  expect(await page.evaluate(() => (window as unknown as { weblnPaid?: number }).weblnPaid)).toBe(1);
  const [row] = await ledger(popup);
  expect(row).toMatchObject({ state: 'paid' });
  expect(before - (await wallets(stack).balance('user'))).toBe(BigInt(row?.amountMsat ?? -1));
});

test('a page wallet that reports a wrong preimage is caught: flagged, and the page keeps its 402', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const popup = await chooseWebln(openExtensionPage);
  const page = await pageWithWebln(context, stack, 'wrong-preimage');
  await page.fill('#prompt', 'lying page wallet');
  const [quote] = await Promise.all([nextQuoteWindow(context), page.click('#generate')]);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => page.textContent('#status')).toBe('Payment required (402)');
  expect((await ledger(popup))[0]).toMatchObject({
    state: 'proof_failed',
    failure: { code: 'bad_preimage' },
  });
});

test('a page without a WebLN wallet: nothing charged, and the amount stays reserved (the page’s word cannot release it)', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const popup = await chooseWebln(openExtensionPage);
  const before = await wallets(stack).balance('user');
  await demoPage.fill('#prompt', 'no wallet here');
  const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('Payment required (402)');
  // "No wallet here" is what the page says; a page that lies could have paid all the same. The
  // reservation waits for the invoice to expire (docs/threat-model.md).
  const [row] = await ledger(popup);
  expect(row).toMatchObject({ state: 'unknown', failure: { code: 'page_wallet_unconfirmed' } });
  expect(row?.failure?.reason).toContain('no WebLN wallet in this page');
  expect(await wallets(stack).balance('user')).toBe(before);
});
