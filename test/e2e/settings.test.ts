/** The user's side: settings that change decisions, milestones, pause, backups, wallets, screenshots. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { inject } from 'vitest';
import { launchWithExtension } from '../../server/dev/chromium';
import { expect, test } from './harness/fixtures';
import { ask, forgetTokens, generate, ledger, nextQuoteWindow, POPUP, setRules } from './harness/flows';

const OPTIONS = 'src/ui/options/index.html';
const SHOTS = join(import.meta.dirname, '../../.out/screens');
const SETTINGS_PAGES = [
  'overview',
  'budgets',
  'sites',
  'plans',
  'wallets',
  'security',
  'history',
  'disputes',
];

const notificationIds = (page: Page) =>
  page.evaluate(async () => Object.keys(await chrome.notifications.getAll()).sort());

test('limits edited on the settings page change the next decision', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const options = await openExtensionPage(`${OPTIONS}#all`);
  await options.fill('[data-testid=auto-limit]', '5.00');
  await options.fill('[data-testid=confirm-limit]', '5.00');
  await options.click('[data-testid=save-rules]');
  await expect.poll(() => options.textContent('[data-testid=rules-message]')).toContain('Saved');
  const windows: string[] = [];
  context.on('page', (p) => windows.push(p.url()));
  expect(await generate(demoPage)).toBe(200);
  expect(windows.filter((u) => u.includes('/src/ui/approve/'))).toEqual([]);
  // A limit that cannot be represented is refused in the form, and nothing is saved.
  await options.fill('[data-testid=auto-limit]', '1.234');
  await options.click('[data-testid=save-rules]');
  await expect.poll(() => options.textContent('[data-testid=rules-message]')).toContain('at most 2 decimals');
  expect((await ask(options, 'rules.get', {})).autoMaxMinor).toBe('500');
});

test('a budget milestone is notified once per period, also across a worker restart', async ({
  demoPage,
  openExtensionPage,
  restartWorker,
}) => {
  const popup = await openExtensionPage(POPUP);
  // Prompt "x" costs $2.01; 20 % of $10.00 is crossed by the first payment only.
  await setRules(popup, (r) => ({
    ...r,
    autoMaxMinor: '500',
    confirmMaxMinor: '500',
    budgets: r.budgets.map((b) => ({ ...b, limitMinor: '1000', milestones: [20] })),
  }));
  expect(await generate(demoPage)).toBe(200);
  // Both notices of the first payment (they follow its record, after the page has its answer).
  await expect
    .poll(async () => (await notificationIds(popup)).filter((id) => id.startsWith('milestone|')))
    .toHaveLength(1);
  await expect
    .poll(async () => (await notificationIds(popup)).filter((id) => id.startsWith('paid-')))
    .toHaveLength(1);
  await popup.evaluate(async () => {
    for (const id of Object.keys(await chrome.notifications.getAll())) await chrome.notifications.clear(id);
  });
  await restartWorker();
  const again = await openExtensionPage(POPUP);
  // A fresh challenge: without its token this request pays again.
  await forgetTokens(again, demoPage);
  expect(await generate(demoPage, 'second')).toBe(200);
  await expect.poll(async () => (await ledger(again)).filter((p) => p.state === 'paid').length).toBe(2);
  // The second payment's "paid automatically" notice is its last word: after it, no milestone.
  await expect
    .poll(async () => (await notificationIds(again)).filter((id) => id.startsWith('paid-')))
    .toHaveLength(1);
  expect((await notificationIds(again)).filter((id) => id.startsWith('milestone|'))).toEqual([]);
});

test('pause refuses every charge until resumed', async ({ context, demoPage, openExtensionPage }) => {
  const popup = await openExtensionPage(POPUP);
  // The switch reflects the worker's state once it has answered: click, then wait for it.
  await popup.click('[data-testid=pause]');
  await expect.poll(() => popup.locator('[data-testid=paused]').count()).toBe(1);
  const windows: string[] = [];
  context.on('page', (p) => windows.push(p.url()));
  expect(await generate(demoPage)).toBe(402);
  expect(windows.filter((u) => u.includes('/src/ui/approve/'))).toEqual([]);
  expect(await ledger(popup)).toEqual([]);
  expect((await ask(popup, 'challenges.recent', { limit: 1 }))[0]?.error).toMatch(/paused/);
  await popup.click('[data-testid=pause]');
  await expect.poll(() => popup.locator('[data-testid=paused]').count()).toBe(0);
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
});

test('export → import into another profile is lossless, and importing twice adds nothing', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  const status = generate(demoPage);
  await (await nextQuoteWindow(context)).click('[data-testid=deny]');
  expect(await status).toBe(402);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  expect(await generate(demoPage, 'paid')).toBe(200);
  const backup = await ask(popup, 'ledger.export', {});
  expect(backup.payments).toHaveLength(2);

  const other = await launchWithExtension({ extensionDir: inject('extensionDir') });
  try {
    const page = await other.context.newPage();
    await page.goto(`chrome-extension://${other.extensionId}/${POPUP}`);
    expect(await ask(page, 'ledger.import', { backup })).toEqual({
      added: 2,
      alreadyThere: 0,
      refused: 0,
      reasons: [],
    });
    expect(await ask(page, 'ledger.import', { backup })).toMatchObject({ added: 0, alreadyThere: 2 });
    const roundTrip = await ask(page, 'ledger.export', {});
    const strip = (rows: unknown[]) =>
      rows.map((r) => {
        const { reservations: _r, reservationState: _s, ...rest } = r as Record<string, unknown>;
        return rest;
      });
    expect(strip(roundTrip.payments)).toEqual(strip(backup.payments));
    const first = backup.payments[0] as { amount: { unit: string; value: string } };
    const forged = { ...backup, payments: [{ ...first, amount: { ...first.amount, value: '-5x' } }] };
    expect(await ask(page, 'ledger.import', { backup: forged })).toMatchObject({ added: 0, refused: 1 });
  } finally {
    await other.close();
  }
});

test('link an LNbits wallet on the settings page: test shows its balance; a malformed NWC string is refused', async ({
  stack,
  openExtensionPage,
}) => {
  const options = await openExtensionPage(`${OPTIONS}#all`);
  await options.fill('[data-testid=add-rail] input >> nth=0', 'My LNbits');
  await options.locator('[data-testid=add-rail] select').nth(1).selectOption('regtest');
  await options.fill('[data-testid=add-rail] input[placeholder^="https"]', stack.lnbits);
  await options.locator('[data-testid=add-rail] input').nth(2).fill(stack.wallets.user.adminKey);
  await options.click('[data-testid=add-rail] button[type=submit]');
  await expect
    .poll(() => options.locator('[data-testid^=rail-test-]', { hasText: /^balance [\d,]+ sats$/ }).count(), {
      timeout: 10_000,
    })
    .toBe(1);
  // What the form said, if linking failed, makes a failure here readable.
  expect(await options.locator('[data-testid=add-rail] [role=status]').count()).toBe(0);
  expect(await options.locator('[data-testid=rails]').textContent()).toContain('My LNbits');
  // An address where no wallet answers is refused, and nothing is linked.
  const railsBefore = (await ask(options, 'status.get', {})).rails.length;
  await options.fill('[data-testid=add-rail] input[placeholder^="https"]', 'http://127.0.0.1:9');
  await options.locator('[data-testid=add-rail] input').nth(2).fill(stack.wallets.user.adminKey);
  await options.click('[data-testid=add-rail] button[type=submit]');
  await expect
    .poll(() => options.textContent('[data-testid=add-rail] [role=status]'))
    .toContain('did not answer');
  expect((await ask(options, 'status.get', {})).rails).toHaveLength(railsBefore);
  await options.locator('[data-testid=add-rail] select').first().selectOption('nwc');
  await options.fill(
    '[data-testid=add-rail] input[placeholder^="nostr"]',
    'nostr+walletconnect://nothex?relay=x',
  );
  await options.click('[data-testid=add-rail] button[type=submit]');
  await expect
    .poll(() => options.textContent('[data-testid=add-rail] [role=status]'))
    .toContain('Nostr Wallet Connect string');
});

test('a web page cannot change settings or read the ledger', async ({ demoPage, openExtensionPage }) => {
  const popup = await openExtensionPage(POPUP);
  const before = await ask(popup, 'rules.get', {});
  // No messaging API is exposed to pages, and forged bridge messages only reach page-callable types.
  expect(
    await demoPage.evaluate(
      () =>
        typeof (globalThis as { chrome?: { runtime?: { sendMessage?: unknown } } }).chrome?.runtime
          ?.sendMessage,
    ),
  ).toBe('undefined');
  await demoPage.evaluate(() => {
    for (const kind of ['rules.set', 'query', 'pay-result']) {
      window.postMessage(
        { channel: 'paybound:v1', kind, id: 7, type: 'rules.set', payload: { autoMaxMinor: '999999' } },
        '*',
      );
    }
  });
  await demoPage.evaluate(() => fetch('/health'));
  expect(await ask(popup, 'rules.get', {})).toEqual(before);
  expect(await ledger(popup)).toEqual([]);
});

test('screenshots of each page, light and dark', async ({ context, demoPage, openExtensionPage }) => {
  mkdirSync(SHOTS, { recursive: true });
  const popup = await openExtensionPage(POPUP);
  // One payment paid automatically, so that the tables and bars have something to show.
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  expect(await generate(demoPage, 'a paid one')).toBe(200);
  // A fresh challenge for the quote: drop the token the paid request left.
  await forgetTokens(popup, demoPage);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '0' }));
  const status = generate(demoPage, 'a quote to look at');
  const quote = await nextQuoteWindow(context);
  const options = await openExtensionPage(`${OPTIONS}#overview`);
  await options.waitForSelector('[data-testid=rules]', { state: 'attached' });
  await popup.setViewportSize({ width: 400, height: 600 });
  await popup.reload();
  await popup.waitForSelector('[data-testid=budget-bars]');
  for (const scheme of ['light', 'dark'] as const) {
    for (const [name, page] of [
      ['quote', quote],
      ['popup', popup],
    ] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`) });
    }
    await options.emulateMedia({ colorScheme: scheme });
    for (const id of SETTINGS_PAGES) {
      await options.evaluate((hash) => {
        location.hash = hash;
      }, id);
      await options.waitForSelector(`#page-${id}:not([hidden])`);
      const name = id === 'overview' ? `settings-${scheme}` : `settings-${id}-${scheme}`;
      await options.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    }
  }
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
});

test('wallet keys are encrypted once a password is set; locked, nothing pays; unlocked in the popup, it pays', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const options = await openExtensionPage(`${OPTIONS}#all`);
  await expect.poll(() => options.locator('[data-testid=unencrypted]').count()).toBe(1);
  await options.fill('[data-testid=new-password]', 'correct horse battery');
  await options.click('[data-testid=save-password]');
  await expect.poll(() => options.locator('[data-testid=unencrypted]').count()).toBe(0);
  // A dump of everything the extension stores holds neither the LNbits key nor the NWC secret.
  const dump = await options.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve) => {
      const req = indexedDB.open('paybound');
      req.onsuccess = () => resolve(req.result);
    });
    const out: unknown[] = [];
    for (const name of Array.from(db.objectStoreNames)) {
      const rows = await new Promise<unknown[]>((resolve) => {
        const req = db.transaction(name).objectStore(name).getAll();
        req.onsuccess = () => resolve(req.result);
      });
      out.push(rows);
    }
    const local = await chrome.storage.local.get(null);
    return JSON.stringify([out, local], (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  });
  expect(dump).not.toContain(stack.wallets.user.adminKey);
  expect(dump).not.toContain(
    new URL(stack.nwcUri.replace('nostr+walletconnect://', 'http://x/')).searchParams.get('secret'),
  );

  await ask(options, 'vault.lock', {});
  expect(await generate(demoPage)).toBe(402);
  expect((await ask(options, 'challenges.recent', { limit: 1 }))[0]?.error).toMatch(/locked/);

  const popup = await openExtensionPage(POPUP);
  await popup.fill('[data-testid=unlock] input', 'correct horse battery');
  await popup.click('[data-testid=unlock] button');
  await expect.poll(() => popup.locator('[data-testid=unlock]').count()).toBe(0);
  const status = generate(demoPage);
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  expect(await status).toBe(200);
});

test('a waiting quote shows on the badge and raises "approval needed"; deciding clears the badge', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  await expect.poll(() => popup.evaluate(() => chrome.action.getBadgeText({}))).toBe('1');
  expect((await notificationIds(popup)).filter((id) => id.startsWith('approve-'))).toHaveLength(1);
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
  await expect.poll(() => popup.evaluate(() => chrome.action.getBadgeText({}))).toBe('');
});

test('muted automatic-payment notices stay quiet; malformed general settings are refused whole', async ({
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await expect(ask(popup, 'settings.set', { currency: 'usd', muteAutoNotices: true })).rejects.toThrow(
    /currency code/,
  );
  expect(await ask(popup, 'settings.get', {})).toMatchObject({ currency: 'USD', muteAutoNotices: false });
  await ask(popup, 'settings.set', { muteAutoNotices: true });
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  expect(await generate(demoPage)).toBe(200);
  expect((await ledger(popup))[0]).toMatchObject({ state: 'paid', approval: 'auto' });
  expect((await notificationIds(popup)).filter((id) => id.startsWith('paid-'))).toEqual([]);
});
