/** The ground the payment flow stands on: loading, interception, sender checks, worker restarts. */
import type { BrowserContext, Page } from 'playwright-core';
import { expect, test } from './harness/fixtures';
import { ask, nextQuoteWindow, POPUP } from './harness/flows';

/** Asks the demo app for a generation, and denies the quote that opens: the page keeps its 402. */
async function generateAndDeny(context: BrowserContext, demoPage: Page) {
  await demoPage.fill('#prompt', 'Write a haiku about invoices');
  const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
  await quote.click('[data-testid=deny]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('Payment required (402)');
}

test('the extension loads: worker running, provisioned wallet linked, popup renders it', async ({
  serviceWorker,
  extensionId,
  openExtensionPage,
}) => {
  expect(serviceWorker.url()).toBe(`chrome-extension://${extensionId}/service-worker-loader.js`);
  const popup = await openExtensionPage(POPUP);
  const status = await ask(popup, 'status.get', {});
  expect(status.rails.map((r) => [r.id, r.kind])).toEqual([
    ['eth-page', 'ethereum'],
    ['lnbits-standin', 'lnbits'],
    ['nwc-standin', 'nwc'],
    ['webln-page', 'webln'],
  ]);
  // The first rail of the provisioning file pays by default.
  expect(status.defaultRailId).toBe('lnbits-standin');
  await expect.poll(() => popup.textContent('[data-testid=status]')).toContain('Stand-in LNbits wallet');
});

test("the main-world script sees the demo app's 402 and the worker records it with the browser's origin", async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  await generateAndDeny(context, demoPage);
  const rows = await ask(await openExtensionPage(POPUP), 'challenges.recent', { limit: 5 });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    origin: new URL(stack.demo).origin,
    url: `${stack.demo}/api/generate`,
    method: 'POST',
  });
  // The demo offers L402 (and, next to it, MPP methods).
  expect(rows[0]?.protocols).toContain('l402');
  expect(rows[0]?.error).toBeUndefined();
});

test("the fetch wrapper is in place before the page's first inline script", async ({ context, stack }) => {
  const page = await context.newPage();
  const probeUrl = `${stack.demo}/__probe`;
  await page.route(probeUrl, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: '<script>window.firstSawWrapped = !/\\[native code\\]/.test(String(window.fetch));</script>',
    }),
  );
  await page.goto(probeUrl);
  expect(await page.evaluate(() => (window as Window & { firstSawWrapped?: boolean }).firstSawWrapped)).toBe(
    true,
  );
});

test('a plain 200 passes through the wrapper untouched and nothing is recorded', async ({
  demoPage,
  openExtensionPage,
}) => {
  const body = await demoPage.evaluate(async () => (await fetch('/health')).json());
  expect(body).toEqual({ ok: true });
  expect(await ask(await openExtensionPage(POPUP), 'challenges.recent', {})).toEqual([]);
});

test('a page cannot reach extension-only messages through the bridge', async ({
  demoPage,
  openExtensionPage,
}) => {
  // Forge a bridge query asking for the ledger; the bridge only ever sends challenge.seen, and the
  // worker's schema refuses the extra field, so nothing is recorded and no credential comes back.
  const answer = await demoPage.evaluate(
    () =>
      new Promise((resolve) => {
        window.addEventListener('message', (ev) => {
          if (ev.data?.channel === 'paybound:v1' && ev.data.kind === 'answer' && ev.data.id === 999)
            resolve(ev.data);
        });
        window.postMessage(
          {
            channel: 'paybound:v1',
            kind: 'query',
            id: 999,
            type: 'challenges.recent',
            payload: { url: 'https://evil.example/', method: 'GET', status: 402, headers: [], origin: 'x' },
          },
          '*',
        );
      }),
  );
  expect(answer).toEqual({ channel: 'paybound:v1', kind: 'answer', id: 999 });
  expect(await ask(await openExtensionPage(POPUP), 'challenges.recent', {})).toEqual([]);
});

test('after the worker is stopped and woken, 402s are still received and earlier records kept', async ({
  context,
  demoPage,
  restartWorker,
  openExtensionPage,
}) => {
  await generateAndDeny(context, demoPage);
  await restartWorker();
  await generateAndDeny(context, demoPage);
  expect(await ask(await openExtensionPage(POPUP), 'challenges.recent', {})).toHaveLength(2);
});
