import type { Page } from 'playwright-core';
import type { ChallengeRecordView, Reply, StatusView } from '../../src/messages/map';
import { expect, test } from './harness/fixtures';

const POPUP = 'src/ui/popup/index.html';

/** Sends a message to the worker from an extension page, as our own UI does. */
async function ask<T>(page: Page, type: string, payload: object): Promise<Reply<T>> {
  return page.evaluate(([t, p]) => chrome.runtime.sendMessage({ type: t, payload: p }), [
    type,
    payload,
  ] as const);
}

async function generateUnpaid(demoPage: Page) {
  await demoPage.fill('#prompt', 'Write a haiku about invoices');
  await demoPage.click('#generate');
  await expect.poll(() => demoPage.textContent('#status')).toContain('402');
}

test('the extension loads: worker running, provisioned wallet linked, popup renders it', async ({
  serviceWorker,
  extensionId,
  openExtensionPage,
}) => {
  expect(serviceWorker.url()).toBe(`chrome-extension://${extensionId}/service-worker-loader.js`);
  const popup = await openExtensionPage(POPUP);
  const reply = await ask<StatusView>(popup, 'status.get', {});
  expect(reply.ok && reply.data.rails.map((r) => [r.id, r.kind])).toEqual([['lnbits-standin', 'lnbits']]);
  await expect.poll(() => popup.textContent('[data-testid=status]')).toContain('Stand-in LNbits wallet');
});

test("the main-world script sees the demo app's 402 and the worker records it with the browser's origin", async ({
  demoPage,
  stack,
  openExtensionPage,
}) => {
  await generateUnpaid(demoPage);
  const popup = await openExtensionPage(POPUP);
  const reply = await ask<ChallengeRecordView[]>(popup, 'challenges.recent', { limit: 5 });
  expect(reply.ok).toBe(true);
  const rows = reply.ok ? reply.data : [];
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    origin: new URL(stack.demo).origin,
    url: `${stack.demo}/api/generate`,
    method: 'POST',
    protocols: ['l402'],
  });
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
  const popup = await openExtensionPage(POPUP);
  const reply = await ask<ChallengeRecordView[]>(popup, 'challenges.recent', {});
  expect(reply.ok && reply.data).toEqual([]);
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
  const popup = await openExtensionPage(POPUP);
  const reply = await ask<ChallengeRecordView[]>(popup, 'challenges.recent', {});
  expect(reply.ok && reply.data).toEqual([]);
});

test('after the worker is stopped and woken, 402s are still received and earlier records kept', async ({
  demoPage,
  restartWorker,
  openExtensionPage,
}) => {
  await generateUnpaid(demoPage);
  await restartWorker();
  await generateUnpaid(demoPage);
  const popup = await openExtensionPage(POPUP);
  const reply = await ask<ChallengeRecordView[]>(popup, 'challenges.recent', {});
  expect(reply.ok && reply.data.length).toBe(2);
});
