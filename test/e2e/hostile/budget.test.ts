/**
 * Budgets under a hostile page (docs/threat-model.md): a page cannot flood the user with quotes,
 * hold another site's budget hostage with quotes nobody approved, or release what it reserved by
 * its word; a denial always gives the reservation back, even after the worker restarted.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { QUOTE_LIMITS } from '../../../src/db/ledger';
import { expect, test } from '../harness/fixtures';
import { ask, ledger, nextQuoteWindow, POPUP, setRules } from '../harness/flows';
import { forge, l402Challenge, openOtherSite, otherSite } from '../harness/hostile';
import { pageWithWebln } from '../harness/webln';

const reservedNow = async (popup: Page) => (await ask(popup, 'spend.summary', {}))[0]?.reservedMinor;

test('6. flood: a tab keeps a few quotes waiting, the rest are refused and logged; they do not push another site into overage; "Block this site" ends them', async ({
  context,
  stack,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  // A monthly budget of 5.00; 4.99 needs only a click.
  await setRules(popup, (r) => ({ ...r, budgets: r.budgets.map((b) => ({ ...b, limitMinor: '500' })) }));
  const evil = await openOtherSite(context, stack);
  const evilWindow = nextQuoteWindow(context);
  const forged = await Promise.all(
    Array.from({ length: 5 }, (_, i) => l402Challenge(stack, 4990, `forged ${i}`)),
  );
  const answers = forged.map((c, i) =>
    forge(evil, { url: `${otherSite(stack)}/api/${i}`, headers: [['www-authenticate', c.header]] }),
  );
  const evilQuote = await evilWindow;
  await expect
    .poll(async () => {
      const log = await ask(popup, 'challenges.recent', { limit: 20 });
      return log.filter((c) => c.error?.includes('too many payments waiting')).length;
    })
    .toBe(5 - QUOTE_LIMITS.perTab);
  expect((await ledger(popup)).filter((p) => p.state === 'reserved')).toHaveLength(QUOTE_LIMITS.perTab);
  // The demo's real 2.01 charge is quoted against the budget as if those quotes did not exist.
  await demoPage.fill('#prompt', 'x');
  const [demoQuote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
  const [pending] = await ask(popup, 'approvals.pending', { tabId: (await ledger(popup))[0]?.tabId ?? -1 });
  expect(pending?.tier).toBe('confirm');
  expect(pending?.budgets[0]?.overMinor).toBe('0');
  await demoQuote.click('[data-testid=approve]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('200 OK');
  // Approving one of the forged quotes now would exceed the budget: it is decided again and asks for more.
  await evilQuote.click('[data-testid=approve]');
  await expect.poll(() => evilQuote.textContent('[role=alert]')).toContain('budgets changed');
  await evilQuote.waitForSelector('[data-testid=exceed]');
  // "Block this site": every quote it has waiting is denied, and its next one is refused at once.
  await evilQuote.click('[data-testid=block-site]');
  for (const a of answers) expect((await a)?.retry).toBeUndefined();
  const more = await l402Challenge(stack, 1);
  expect(
    (await forge(evil, { url: `${otherSite(stack)}/api/more`, headers: [['www-authenticate', more.header]] }))
      ?.retry,
  ).toBeUndefined();
  const [last] = await ask(popup, 'challenges.recent', { limit: 1 });
  expect(last?.error).toContain('you blocked payments to this site');
  // Only what was paid is counted; nothing of the forged quotes is held.
  const [month] = await ask(popup, 'spend.summary', {});
  expect(month).toMatchObject({ reservedMinor: '0', spentMinor: '201' });
});

async function quoteAfterRestart(
  context: BrowserContext,
  demoPage: Page,
  restartWorker: () => Promise<void>,
): Promise<Page> {
  await demoPage.fill('#prompt', 'x');
  const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
  await restartWorker();
  return quote;
}

test('7. a Deny, or closing the window, after the worker restarted gives the reservation back', async ({
  context,
  demoPage,
  openExtensionPage,
  restartWorker,
}) => {
  const popup = await openExtensionPage(POPUP);
  const denied = await quoteAfterRestart(context, demoPage, restartWorker);
  expect(await reservedNow(popup)).toBe('201');
  await denied.click('[data-testid=deny]');
  await expect.poll(() => reservedNow(popup)).toBe('0');
  expect((await ledger(popup))[0]).toMatchObject({ state: 'failed', failure: { code: 'denied' } });

  const closed = await quoteAfterRestart(context, demoPage, restartWorker);
  await expect.poll(() => reservedNow(popup)).toBe('201');
  await closed.close();
  await expect.poll(() => reservedNow(popup)).toBe('0');
  expect((await ledger(popup))[0]).toMatchObject({ state: 'failed' });
});

test("12. the page wallet's word does not release budget: an error after it paid keeps the amount reserved until the invoice expires", async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await ask(popup, 'rails.setDefault', { railId: 'webln-page' });
  const page = await pageWithWebln(context, stack, 'error-after-paying');
  await page.fill('#prompt', 'x');
  const [quote] = await Promise.all([nextQuoteWindow(context), page.click('#generate')]);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => page.textContent('#status')).toBe('Payment required (402)');
  const [row] = await ledger(popup);
  expect(row).toMatchObject({ state: 'unknown', failure: { code: 'page_wallet_unconfirmed' } });
  expect(row?.failure?.reason).toContain('stays reserved until the invoice expires');
  expect(await reservedNow(popup)).toBe(row?.amountMinor);
});
