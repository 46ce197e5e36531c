/**
 * Accessibility of every screen in both themes: axe-core finds no serious or critical violation on
 * the popup, each settings page and the quote window; the pause switch and the sidebar work from the
 * keyboard.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { expect, test } from './harness/fixtures';
import { ask, draft, generate, ledger, nextQuoteWindow, POPUP, setRules } from './harness/flows';
import { wallets } from './harness/wallets';

const OPTIONS = 'src/ui/options/index.html';
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
const SCHEMES = ['light', 'dark'] as const;
const SHOTS = join(import.meta.dirname, '../../.out/screens');

/** Serious and critical violations, each as "rule: target" so a failure names what to fix. */
async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
    .analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' ')} — ${n.failureSummary}`));
}

test('popup and every settings page pass axe in light and dark', async ({ demoPage, openExtensionPage }) => {
  const popup = await openExtensionPage(POPUP);
  // A paid payment, so that tables, badges and bars are on the pages checked.
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  expect(await generate(demoPage)).toBe(200);
  await popup.setViewportSize({ width: 380, height: 600 });
  await popup.reload();
  await popup.waitForSelector('[data-testid=payments]');
  const options = await openExtensionPage(`${OPTIONS}#overview`);
  await options.waitForSelector('[data-testid=general]');
  const found: Record<string, string[]> = {};
  for (const scheme of SCHEMES) {
    await popup.emulateMedia({ colorScheme: scheme });
    found[`popup ${scheme}`] = await violations(popup);
    await options.emulateMedia({ colorScheme: scheme });
    for (const id of SETTINGS_PAGES) {
      await options.evaluate((hash) => {
        location.hash = hash;
      }, id);
      await options.waitForSelector(`#page-${id}:not([hidden])`);
      found[`settings #${id} ${scheme}`] = await violations(options);
    }
  }
  expect(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length > 0))).toEqual({});
});

test('the quote window passes axe in light and dark', async ({ context, demoPage, openExtensionPage }) => {
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '0' }));
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  const found: Record<string, string[]> = {};
  for (const scheme of SCHEMES) {
    await quote.emulateMedia({ colorScheme: scheme });
    found[`quote ${scheme}`] = await violations(quote);
  }
  // Details open: the rate, the reasons and the request are checked too.
  await quote.click('details summary');
  for (const scheme of SCHEMES) {
    await quote.emulateMedia({ colorScheme: scheme });
    found[`quote details ${scheme}`] = await violations(quote);
  }
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
  expect(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length > 0))).toEqual({});
});

test('the quote window while the approved payment runs: it says so, its buttons rest, and it passes axe', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  mkdirSync(SHOTS, { recursive: true });
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '0' }));
  // The wallet holds the payment until released: the window stays on its "Paying…" line.
  await w.injectFailure('user', 'hold');
  const status = generate(demoPage);
  const quote = await nextQuoteWindow(context);
  await quote.waitForSelector('[data-testid=approve][data-armed=true]');
  await quote.click('[data-testid=approve]');
  // The button says what happens now; the hint no longer claims that Esc or closing denies.
  await expect.poll(() => quote.textContent('[data-testid=approve]')).toBe('Paying…');
  expect(await quote.getAttribute('[data-testid=approve]', 'aria-busy')).toBe('true');
  expect(await quote.textContent('[data-testid=actions-hint]')).toMatch(/closing it now does not stop it/);
  expect(await quote.isDisabled('[data-testid=approve]')).toBe(true);
  expect(await quote.isDisabled('[data-testid=deny]')).toBe(true);
  expect(await quote.isVisible('[data-testid=block-site]')).toBe(false);
  // Escape is past denying: no refusal shows.
  await quote.keyboard.press('Escape');
  expect(await quote.locator('[role=alert]').count()).toBe(0);
  const found: Record<string, string[]> = {};
  for (const scheme of SCHEMES) {
    await quote.emulateMedia({ colorScheme: scheme });
    found[scheme] = await violations(quote);
    await quote.screenshot({ path: join(SHOTS, `quote-paying-${scheme}.png`) });
  }
  const closed = quote.waitForEvent('close');
  await w.release();
  expect(await status).toBe(200);
  // Once the payment has its outcome, the window has done its job.
  await closed;
  expect(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length > 0))).toEqual({});
});

test('the pause switch and the settings sidebar work from the keyboard', async ({ openExtensionPage }) => {
  const popup = await openExtensionPage(POPUP);
  const pause = popup.locator('[data-testid=pause]');
  await expect.poll(() => pause.getAttribute('aria-checked')).toBe('false');
  expect(await pause.getAttribute('role')).toBe('switch');
  // Tab reaches the switch: it is the first control of the popup.
  await popup.keyboard.press('Tab');
  expect(await popup.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('pause');
  await popup.keyboard.press('Space');
  await expect.poll(() => popup.locator('[data-testid=paused]').count()).toBe(1);
  await expect.poll(() => pause.getAttribute('aria-checked')).toBe('true');
  await popup.keyboard.press('Enter');
  await expect.poll(() => popup.locator('[data-testid=paused]').count()).toBe(0);

  const options = await openExtensionPage(`${OPTIONS}#overview`);
  await options.waitForSelector('[data-testid=general]');
  expect(await options.isVisible('[data-testid=rules]')).toBe(false);
  const link = options.locator('nav a[href="#budgets"]');
  await link.focus();
  await options.keyboard.press('Enter');
  await options.waitForSelector('[data-testid=rules]');
  expect(await link.getAttribute('aria-current')).toBe('page');
  expect(await options.isVisible('[data-testid=general]')).toBe(false);
  // The focused control shows a visible outline.
  await options.keyboard.press('Tab');
  const outline = await options.evaluate(() => {
    const el = document.activeElement;
    return el ? getComputedStyle(el).outlineStyle : 'none';
  });
  expect(outline).not.toBe('none');
});

test('the states in between pass axe too: under review, the refund form, paused, locked', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  mkdirSync(SHOTS, { recursive: true });
  const popup = await openExtensionPage(POPUP);
  // A charge under review (the demo's estimated route), then its Reject form open in the popup.
  const status = draft(demoPage, 'a short note');
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  expect(await status).toBe(200);
  const [paid] = await ledger(popup);
  await popup.setViewportSize({ width: 380, height: 640 });
  await popup.reload();
  await popup.click(`[data-testid=reject-${paid?.id}]`);
  await popup.waitForSelector('[data-testid=reject-form]');
  const found: Record<string, string[]> = {};
  const check = async (page: Page, name: string) => {
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      found[`${name} ${scheme}`] = await violations(page);
      await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
    }
  };
  await check(popup, 'popup-review');
  // Accepted in the popup: the settlement note (sats back) shows on the history page.
  await popup.click('[data-testid=reject-form] button[type=button]');
  await popup.click(`[data-testid=accept-${paid?.id}]`);
  await expect.poll(async () => (await ledger(popup))[0]?.state).toBe('accepted');
  const history = await openExtensionPage(`${OPTIONS}#history`);
  await history.waitForSelector('tr[data-state=accepted]');
  await check(history, 'settings-history-accepted');
  // Paused.
  await popup.click('[data-testid=pause]');
  await popup.waitForSelector('[data-testid=paused]');
  await check(popup, 'popup-paused');
  await popup.click('[data-testid=pause]');
  // Locked: a password, then the lock.
  await ask(popup, 'auth.setPassword', { password: 'correct horse battery' });
  await ask(popup, 'vault.lock', {});
  await popup.reload();
  await popup.waitForSelector('[data-testid=unlock]');
  await check(popup, 'popup-locked');
  expect(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length > 0))).toEqual({});
});

test('unlinking a wallet asks first: "Keep it" has the focus, Escape keeps it, the question passes axe; unlinking removes it', async ({
  openExtensionPage,
}) => {
  const options = await openExtensionPage(`${OPTIONS}#wallets`);
  const { id } = await ask(options, 'rails.add', {
    kind: 'webln',
    label: 'Spare wallet',
    network: 'regtest',
  });
  await options.reload();
  const unlink = options.locator(`[data-testid=unlink-${id}]`);
  const question = options.locator(`[data-testid=unlink-confirm-${id}]`);
  await unlink.click();
  await expect.poll(() => question.textContent()).toContain('Unlink Spare wallet?');
  await expect.poll(() => options.evaluate(() => document.activeElement?.textContent)).toBe('Keep it');
  expect(await unlink.getAttribute('aria-expanded')).toBe('true');
  mkdirSync(SHOTS, { recursive: true });
  for (const scheme of SCHEMES) {
    await options.emulateMedia({ colorScheme: scheme });
    expect(await violations(options)).toEqual([]);
    await question.screenshot({ path: join(SHOTS, `wallets-unlink-${scheme}.png`) });
  }
  // Escape keeps the wallet, and the focus goes back where it was.
  await options.keyboard.press('Escape');
  await expect.poll(() => question.count()).toBe(0);
  await expect
    .poll(() => options.evaluate(() => document.activeElement?.getAttribute('data-testid')))
    .toBe(`unlink-${id}`);
  expect((await ask(options, 'status.get', {})).rails.map((r) => r.id)).toContain(id);
  // Asked again and confirmed: the wallet is gone.
  await options.keyboard.press('Enter');
  await question.locator('[data-testid=unlink-yes]').click();
  await expect
    .poll(async () => (await ask(options, 'status.get', {})).rails.map((r) => r.id))
    .not.toContain(id);
  // The page lists the wallets again once the worker has answered.
  await expect.poll(() => unlink.count()).toBe(0);
});
