/** Spending rules end to end: every tier, the password and its lockout, budgets under concurrency. */
import { Secret, TOTP } from 'otpauth';
import { afterEach, inject } from 'vitest';
import { stopServiceWorkers } from '../../server/dev/chromium';
import { QUOTE_LIMITS } from '../../src/db/ledger';
import { expect, test } from './harness/fixtures';
import { ask, generate, ledger, nextQuoteWindow, POPUP, setRules, step } from './harness/flows';
import { wallets } from './harness/wallets';

const PASSWORD = 'correct horse battery';

afterEach(async () => {
  const w = wallets(inject('stack'));
  await w.clearFailures();
  await w.release();
});

test('auto tier: a charge under the auto limit pays at once, with no window', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '300', confirmMaxMinor: '500' }));
  const windows: string[] = [];
  context.on('page', (p) => windows.push(p.url()));
  expect(await generate(demoPage)).toBe(200);
  expect(windows.filter((u) => u.includes('/src/ui/approve/'))).toEqual([]);
  const [row] = await ledger(popup);
  expect(row).toMatchObject({ state: 'paid', approval: 'auto' });
  // A quiet notice says what was paid: one per site (here an address, its own site), which the
  // site's next automatic payment replaces.
  await expect
    .poll(() => popup.evaluate(async () => Object.keys(await chrome.notifications.getAll())))
    .toEqual([`paid-${new URL(row?.origin ?? 'http://x').hostname}`]);
});

test('strong tier: no password set → cannot approve; wrong password → refused; right one → paid', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '0', confirmMaxMinor: '100' }));
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  await quote.fill('[data-testid=password]', 'anything');
  await quote.click('[data-testid=approve]');
  await expect.poll(() => quote.textContent('[role=alert]')).toContain('set a password or 2FA');

  await ask(popup, 'auth.setPassword', { password: PASSWORD });
  await quote.fill('[data-testid=password]', 'wrong password');
  await quote.click('[data-testid=approve]');
  await expect.poll(() => quote.textContent('[role=alert]')).toBe('wrong password or code');
  expect((await ledger(popup))[0]).toMatchObject({ state: 'reserved' });

  await quote.fill('[data-testid=password]', PASSWORD);
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
  expect((await ledger(popup))[0]).toMatchObject({ state: 'paid', approval: 'approved' });
});

test('five wrong passwords lock strong approvals, even for the right password', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await ask(popup, 'auth.setPassword', { password: PASSWORD });
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '0', confirmMaxMinor: '100' }));
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  for (let i = 0; i < 5; i++) {
    await quote.fill('[data-testid=password]', `wrong ${i}`);
    await quote.click('[data-testid=approve]');
    await expect.poll(() => quote.textContent('[role=alert]')).toMatch(/wrong password or code/);
  }
  expect(await quote.textContent('[role=alert]')).toMatch(/locked/);
  await quote.fill('[data-testid=password]', PASSWORD);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => quote.textContent('[role=alert]')).toMatch(/locked until/);
  expect(await ask(popup, 'auth.status', {})).toMatchObject({
    hasPassword: true,
    lockedUntil: expect.any(Number),
  });
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
});

test('overage: needs the password and a separate "exceed" confirmation naming the budget', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await ask(popup, 'auth.setPassword', { password: PASSWORD });
  await setRules(popup, (r) => ({
    ...r,
    autoMaxMinor: '0',
    budgets: r.budgets.map((b) => ({ ...b, limitMinor: '100' })),
  }));
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  expect(await quote.textContent('[data-testid=budget]')).toContain('over by $1.01');
  await quote.fill('[data-testid=password]', PASSWORD);
  expect(await quote.isDisabled('[data-testid=approve]')).toBe(true);
  expect(await quote.textContent('label.exceed')).toContain('Exceed Monthly budget by $1.01');
  await quote.check('[data-testid=exceed]');
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
  expect((await ledger(popup))[0]).toMatchObject({ state: 'paid' });
});

test('50 concurrent 402s against a budget that fits 10: exactly 10 paid, none twice', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  // Prompt "x" costs 2 010 sat = $2.01 at the stand-in's rate; the budget fits ten of them.
  await setRules(popup, (r) => ({
    ...r,
    autoMaxMinor: '500',
    confirmMaxMinor: '500',
    budgets: r.budgets.map((b) => ({ ...b, limitMinor: '2010' })),
  }));
  const w = wallets(stack);
  const before = await w.balance('user');
  // Fifty requests in fifty scopes, so that no token paid for one serves another: each asks at
  // /api/<n>/generate, which reaches the app's /api/generate.
  await demoPage.route(/\/api\/\d+\/generate$/, (route) =>
    route.continue({ url: `${stack.demo}/api/generate` }),
  );
  const quoteOpened = nextQuoteWindow(context);
  const all = demoPage.evaluate(() =>
    Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        fetch(`/api/${n}/generate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'x' }),
        }).then((r) => r.status),
      ),
    ),
  );
  const quote = await quoteOpened;
  // Of the 40 that do not fit, a tab may keep only a few waiting for an explicit authorization in
  // the one window; the rest are refused as a flood. Close the window to refuse those too.
  await expect
    .poll(
      async () => {
        const refused = (await ask(popup, 'challenges.recent', { limit: 100 })).filter((c) =>
          c.error?.includes('too many payments waiting'),
        ).length;
        const waiting = (await ledger(popup)).filter((p) => p.state === 'reserved').length;
        return [waiting, refused];
      },
      { timeout: 30_000 },
    )
    .toEqual([QUOTE_LIMITS.perTab, 40 - QUOTE_LIMITS.perTab]);
  await quote.close();
  const statuses = await all;
  expect(statuses.filter((s) => s === 200)).toHaveLength(10);
  expect(statuses.filter((s) => s === 402)).toHaveLength(40);
  const rows = await ledger(popup);
  expect(rows.filter((p) => p.state === 'paid')).toHaveLength(10);
  expect(new Set(rows.map((p) => p.paymentHash)).size).toBe(10 + QUOTE_LIMITS.perTab);
  expect(before - (await w.balance('user'))).toBe(10n * 2_010_000n);
});

test('strong tier with 2FA: a code from the authenticator app approves', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  const { secret } = await ask(popup, 'auth.totpSetup', {});
  const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
  await ask(popup, 'auth.totpConfirm', { code: totp.generate() });
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '0', confirmMaxMinor: '100' }));
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  // The confirming code is spent; the next step's code is fresh (the worker allows one step of drift).
  await quote.fill('[data-testid=password]', totp.generate({ timestamp: Date.now() + 30_000 }));
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
});

test('the worker dies while a quote waits: approving later pays once, and the next request uses the token', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const before = await w.balance('user');
  const status = generate(demoPage, 'survive a restart');
  const quote = await nextQuoteWindow(context);
  // Kill the worker between reserve and pay: the page's pending answer is lost with it.
  await stopServiceWorkers(context, quote);
  expect(await step('the page gets its 402 once the worker is gone', status)).toBe(402);
  // The quote is still on the ledger; approving it wakes a new worker, which pays it.
  await step(
    'Pay arms in the quote window',
    quote.waitForSelector('[data-testid=approve][data-armed=true]'),
    () =>
      quote.evaluate(() => ({
        focused: document.hasFocus(),
        visibility: document.visibilityState,
        text: (document.body.textContent ?? '').slice(0, 400),
      })),
  );
  await quote.click('[data-testid=approve]');
  const popup = await openExtensionPage(POPUP);
  await expect.poll(async () => (await ledger(popup))[0]?.state).toBe('paid');
  const price = BigInt((await ledger(popup))[0]?.amountMsat ?? -1);
  expect(before - (await w.balance('user'))).toBe(price);
  // The page asks again: the browser attaches the paid token, nothing more is paid.
  expect(
    await step('the next request is served with the paid token', generate(demoPage, 'survive a restart')),
  ).toBe(200);
  expect(before - (await w.balance('user'))).toBe(price);
  expect(await ledger(popup)).toHaveLength(1);
});

test('the worker dies while its wallet is paying: the next worker asks the wallet, records it paid, never pays twice', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  await w.injectFailure('user', 'hold');
  const before = await w.balance('user');
  const status = generate(demoPage, 'paid while the worker died');
  await expect.poll(async () => (await ledger(popup))[0]?.state).toBe('paying');
  // Kill the worker between pay and retry, then let the wallet finish the payment it was given.
  await stopServiceWorkers(context, popup);
  expect(await status).toBe(402);
  await w.release();
  await expect.poll(() => w.balance('user')).toBeLessThan(before);
  // A new worker reconciles with the wallet on start.
  await expect.poll(async () => (await ledger(popup))[0]?.state).toBe('paid');
  const price = before - (await w.balance('user'));
  expect(price).toBe(BigInt((await ledger(popup))[0]?.amountMsat ?? -1));
  expect(
    await step(
      'the next request is served with the paid token',
      generate(demoPage, 'paid while the worker died'),
    ),
  ).toBe(200);
  expect(before - (await w.balance('user'))).toBe(price);
  expect(await ledger(popup)).toHaveLength(1);
});

test('deny tier: a blocked site is refused without a window, nothing reserved; invalid rules are refused', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await expect(
    ask(popup, 'rules.set', {
      ...(await ask(popup, 'rules.get', {})),
      autoMaxMinor: '900',
      confirmMaxMinor: '100',
    }),
  ).rejects.toThrow(/auto limit must not be above the confirm limit/);
  await setRules(popup, (r) => ({ ...r, sites: [{ site: new URL(stack.demo).hostname, mode: 'block' }] }));
  const windows: string[] = [];
  context.on('page', (p) => windows.push(p.url()));
  expect(await generate(demoPage)).toBe(402);
  expect(windows.filter((u) => u.includes('/src/ui/approve/'))).toEqual([]);
  expect((await ledger(popup))[0]).toMatchObject({
    state: 'failed',
    failure: { code: 'policy', reason: 'you blocked payments to this site' },
  });
});
