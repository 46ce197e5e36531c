/**
 * The page's own WebLN wallet as a rail: the worker hands the invoice to the page's main world,
 * `window.webln` pays it, and the worker checks the proof itself (the page can lie).
 */
import type { Page } from 'playwright-core';
import type { BridgeAnswer } from '../../src/content/channel';
import { expect, test } from './harness/fixtures';
import { ask, ledger, nextQuoteWindow, POPUP } from './harness/flows';
import { openOtherSite } from './harness/hostile';
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
  expect(row?.failure?.reason).toContain('no webln wallet');
  expect(await wallets(stack).balance('user')).toBe(before);
});

/** Posts a page-wallet result on the page's channel, as any script of the page can, and returns the bridge's answer. */
function forgeResult(
  target: Page,
  payload: { paymentId: string; wallet: string; answer?: unknown; error?: string },
) {
  return target.evaluate(
    (p) =>
      new Promise<BridgeAnswer | undefined>((resolve) => {
        const id = 3_000_000_000 + Math.floor(Math.random() * 1_000_000);
        const timer = setTimeout(() => resolve(undefined), 20_000);
        addEventListener('message', (ev: MessageEvent<BridgeAnswer>) => {
          if (ev.data?.channel === 'paybound:v1' && ev.data.kind === 'answer' && ev.data.id === id) {
            clearTimeout(timer);
            resolve(ev.data);
          }
        });
        postMessage({ channel: 'paybound:v1', kind: 'pay-result', id, payload: p }, '*');
      }),
    payload,
  );
}

test("another tab cannot answer for a page wallet's payment: its forged results change nothing, and the real one pays", async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const popup = await chooseWebln(openExtensionPage);
  const page = await pageWithWebln(context, stack, 'held');
  await page.fill('#prompt', 'held in the wallet');
  const [quote] = await Promise.all([nextQuoteWindow(context), page.click('#generate')]);
  await quote.click('[data-testid=approve]');
  // The wallet has been asked and waits: the payment is paying, handed to this tab.
  await expect.poll(() => page.evaluate(() => (window as { weblnAsked?: number }).weblnAsked)).toBe(1);
  const [row] = await ledger(popup);
  expect(row).toMatchObject({ state: 'paying' });
  const paymentId = row?.id ?? '';
  // Another site, and the same site in another tab, each claim a forged proof for it.
  const evil = await openOtherSite(context, stack);
  const sameSite = await context.newPage();
  await sameSite.goto(stack.demo);
  for (const forger of [evil, sameSite]) {
    const answer = await forgeResult(forger, {
      paymentId,
      wallet: 'webln',
      answer: { preimage: 'ab'.repeat(32) },
    });
    expect(answer).toMatchObject({ kind: 'answer' });
    expect(answer?.retry).toBeUndefined();
  }
  // Not turned into a failed proof or a dispute by someone else's word.
  expect((await ledger(popup))[0]).toMatchObject({ id: paymentId, state: 'paying' });
  await page.evaluate(() => (window as { weblnRelease?: () => void }).weblnRelease?.());
  await expect.poll(() => page.textContent('#status')).toBe('200 OK');
  expect((await ledger(popup))[0]).toMatchObject({ id: paymentId, state: 'paid' });
  // Once paid, a second result, even from the tab that paid, is refused.
  expect(
    (await forgeResult(page, { paymentId, wallet: 'webln', answer: { preimage: 'ab'.repeat(32) } }))?.retry,
  ).toBeUndefined();
  expect((await ledger(popup))[0]).toMatchObject({ id: paymentId, state: 'paid' });
});
