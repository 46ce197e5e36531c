/**
 * The settings page's sidebar: a hash opens one page, the bare address the Overview, #all them all;
 * the history page rejects a charge and the disputes page tells it in words, with money formatted;
 * the history chart has axes and reads a day by pointer and by keyboard.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { linkCard } from './harness/cards';
import { expect, test } from './harness/fixtures';
import { ask, generate, ledger, POPUP, setRules } from './harness/flows';
import { wallets } from './harness/wallets';

const OPTIONS = 'src/ui/options/index.html';
const SHOTS = join(import.meta.dirname, '../../.out/screens');

test('a hash shows one page; the bare address is the Overview; #all shows every page', async ({
  openExtensionPage,
}) => {
  const all = await openExtensionPage(`${OPTIONS}#all`);
  for (const id of ['rules', 'site-rules', 'add-rail', 'new-password', 'general']) {
    await all.locator(`[data-testid=${id}]`).waitFor();
  }
  // The browser's own "Options" link opens the bare address: one page, the Overview.
  const bare = await openExtensionPage(OPTIONS);
  await bare.locator('nav a[aria-current=page][href="#overview"]').waitFor();
  await bare.locator('[data-testid=rules]').waitFor({ state: 'attached' });
  expect(await bare.isVisible('[data-testid=rules]')).toBe(false);
  const page = await openExtensionPage(`${OPTIONS}#wallets`);
  await page.locator('[data-testid=add-rail]').waitFor();
  // The other pages stay mounted, hidden.
  expect(await page.locator('[data-testid=rules]').count()).toBe(1);
  expect(await page.isVisible('[data-testid=rules]')).toBe(false);
  expect(await page.locator('nav a[aria-current=page]').getAttribute('href')).toBe('#wallets');
  await page.click('nav a[href="#sites"]');
  await page.locator('[data-testid=site-rules]').waitFor();
  expect(page.url()).toMatch(/#sites$/);
  expect(await page.isVisible('[data-testid=add-rail]')).toBe(false);
  // Back goes to the page before.
  await page.goBack();
  await page.locator('[data-testid=add-rail]').waitFor();
});

test('milestones are chips that keep the saved percentages', async ({ openExtensionPage }) => {
  const page = await openExtensionPage(`${OPTIONS}#budgets`);
  const budget = page
    .locator('[data-testid^=budget-]')
    .filter({ has: page.locator('.chips') })
    .first();
  await budget.waitFor();
  const chip = (n: number) => budget.locator('button.chip', { hasText: new RegExp(`^${n}\\s%$`) });
  await chip(25).click();
  expect(await chip(25).getAttribute('aria-pressed')).toBe('true');
  await budget.locator('.chips input').fill('65');
  await budget.locator('.chips input').press('Enter');
  await page.click('[data-testid=save-rules]');
  await expect.poll(() => page.textContent('[data-testid=rules-message]')).toContain('Saved');
  const rules = await ask(page, 'rules.get', {});
  expect(rules.budgets[0]?.milestones).toEqual([25, 50, 65, 80, 100]);
});

test('a charge rejected on the history page shows on the disputes page in words', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  expect(await generate(demoPage, 'not what I asked for')).toBe(200);
  const [paid] = await ledger(popup);
  // #all, as the older tests open it: every page at once, the dispute list once.
  const history = await openExtensionPage(`${OPTIONS}#all`);
  const row = history.locator(`tr[data-state=paid]`);
  await expect.poll(() => row.locator('.badge').textContent()).toBe('Paid');
  await history.click(`[data-testid=reject-${paid?.id}]`);
  await history.fill('[data-testid=reject-form] input >> nth=0', 'The text ignored my prompt');
  await history.click('[data-testid=reject-form] button[type=submit]');
  await expect.poll(() => history.locator('[data-testid=disputes] [data-status=refunded]').count()).toBe(1);
  await history.click('nav a[href="#history"]');
  // On the history page the dispute shows below the charges; the disputes page shows the same list.
  await expect.poll(() => history.locator('#page-history [data-testid=disputes]').count()).toBe(1);
  await history.click('nav a[href="#disputes"]');
  const dispute = history.locator('[data-testid=disputes] [data-status=refunded]');
  await expect.poll(() => dispute.count()).toBe(1);
  const text = (await dispute.textContent()) ?? '';
  expect(text).toContain('Refunded');
  expect(text).toContain('You rejected it');
  expect(text).toMatch(/\$\d+\.\d\d/);
  expect(text).not.toMatch(/\b(?:refund_requested|partially_refunded|proof_failed)\b/);
  mkdirSync(SHOTS, { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    await history.emulateMedia({ colorScheme: scheme });
    await history.screenshot({ path: join(SHOTS, `settings-disputes-filled-${scheme}.png`), fullPage: true });
  }
  await history.emulateMedia({ colorScheme: 'light' });
  // The history filter offers the words, refunded among them.
  await history.click('nav a[href="#history"]');
  const options = await history
    .locator('[data-testid=chart] ~ search select')
    .nth(2)
    .locator('option')
    .allTextContents();
  expect(options).toEqual(expect.arrayContaining(['Refunded', 'Accepted', 'Rejected', 'Paid']));
});

test('the popup fits 360 px without wrapping; its footer names the paying wallet, its balance and how many are linked', async ({
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  expect(await generate(demoPage)).toBe(200);
  await popup.setViewportSize({ width: 360, height: 600 });
  await popup.reload();
  await popup.waitForSelector('[data-testid=payments] .badge');
  const footer = popup.locator('[data-testid=status]');
  await expect.poll(() => footer.textContent()).toContain('Stand-in LNbits wallet');
  expect(await footer.textContent()).toMatch(/4 wallets linked/);
  // The paying wallet's balance, as the wallet itself reports it.
  const sats = (await wallets(stack).balance('user')) / 1000n;
  await expect
    .poll(async () => (await popup.locator('[data-testid=balance]').textContent())?.replace(/\D/g, ''))
    .toBe(sats.toString());
  // Nothing is wider than a 360 px popup, and no line of the tables wraps.
  expect(await popup.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  const wrapped = await popup.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.badge, .nowrap, time, button')]
      .filter((el) => el.getClientRects().length > 1 || el.offsetHeight > 34)
      .map((el) => el.textContent),
  );
  expect(wrapped).toEqual([]);
  expect(await popup.locator('[data-testid=payments] time').first().textContent()).toMatch(/just now|min/);
});

test('the history chart has axes in money and dates, and reads a day on hover and on focus', async ({
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  expect(await generate(demoPage)).toBe(200);
  const [paid] = await ledger(popup);
  const amount = `$${(Number(paid?.amountMinor) / 100).toFixed(2)}`;
  const page = await openExtensionPage(`${OPTIONS}#history`);
  const chart = page.locator('[data-testid=day-chart]');
  await chart.locator('canvas').waitFor();
  const day = (back: number) => {
    const d = new Date();
    d.setDate(d.getDate() - back);
    return new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric' }).format(d);
  };
  // Every 5th day is labelled, counted back from today; the y axis is in dollars from $0.00.
  await expect.poll(() => chart.getAttribute('data-x-axis')).toBe([25, 20, 15, 10, 5, 0].map(day).join('|'));
  const y = (await chart.getAttribute('data-y-axis'))?.split('|') ?? [];
  expect(y[0]).toBe('$0.00');
  expect(y.length).toBeGreaterThanOrEqual(3);
  for (const label of y) expect(label).toMatch(/^\$\d+\.\d\d$/);
  expect(await page.textContent('[data-testid=chart-total]')).toBe(`Total: ${amount}`);
  const readout = page.locator('[data-testid=day-readout]');
  // The keyboard: focus starts on today, the arrow keys step through the days.
  await chart.focus();
  await expect.poll(() => readout.textContent()).toBe(`${day(0)}: ${amount}`);
  expect(await chart.getAttribute('aria-valuetext')).toBe(`${day(0)}: ${amount}`);
  await page.keyboard.press('ArrowLeft');
  await expect.poll(() => readout.textContent()).toBe(`${day(1)}: $0.00`);
  await page.keyboard.press('Home');
  await expect.poll(() => chart.getAttribute('aria-valuetext')).toBe(`${day(29)}: $0.00`);
  // The pointer: the last bar is today's, the first the oldest day's.
  await chart.blur();
  const plot = await chart.locator('.u-over').boundingBox();
  if (!plot) throw new Error('the chart has no plotting area');
  await page.mouse.move(plot.x + plot.width - 4, plot.y + plot.height / 2);
  await expect.poll(() => readout.textContent()).toBe(`${day(0)}: ${amount}`);
  await page.mouse.move(plot.x + 4, plot.y + plot.height / 2);
  await expect.poll(() => readout.textContent()).toBe(`${day(29)}: $0.00`);
  // The same numbers for a screen reader, in a table.
  expect(await page.locator('[data-testid=chart] table tbody tr').count()).toBe(30);
  // Per site: the demo app and its amount; the import is a labelled control.
  expect(await page.textContent('[data-testid=by-site] li')).toContain(amount);
  expect(await page.locator('label:has([data-testid=import])').textContent()).toBe('Import a backup…');
});
