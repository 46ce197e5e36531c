/**
 * A browser in German shows the popup and the settings page in German: Chrome picks the extension's
 * locale from the browser's language. The launch is the harness's, with the language set.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { extensionUrl, findChromium } from '../../server/dev/chromium';
import { draft, nextQuoteWindow, POPUP, setRules } from './harness/flows';
import { forgeLater, l402Challenge, openSite } from './harness/hostile';

const SHOTS = join(import.meta.dirname, '../../.out/screens');
let context: BrowserContext;
let extensionId: string;

beforeAll(async () => {
  const extensionDir = inject('extensionDir');
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'paybound-de-')), {
    executablePath: findChromium(),
    headless: true,
    locale: 'de-DE',
    args: [
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
      '--disable-component-update',
      // Chrome picks the extension's messages from --lang; 'de-DE' there finds no bundle, 'de' does.
      '--lang=de',
    ],
    viewport: { width: 1100, height: 760 },
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  extensionId = new URL(worker.url()).host;
});

afterAll(async () => {
  await context?.close();
});

/** Message names that leaked through untranslated: t() falls back to the key itself. */
const KEY_LIKE = /\b(?:options|rules|wallets|security|history|overview|popup|state|tier)[A-Z][A-Za-z]+\b/;

test('the popup reads German', async () => {
  const page = await context.newPage();
  await page.goto(extensionUrl(extensionId, POPUP));
  expect(await page.evaluate(() => chrome.i18n.getUILanguage())).toMatch(/^de/);
  await page.waitForSelector('[data-testid=pause]');
  const text = (await page.textContent('body')) ?? '';
  expect(text).toContain('Alle Zahlungen pausieren');
  expect(text).toContain('Dieser Zeitraum');
  expect(text).toContain('Letzte Zahlungen');
  expect(text).toContain('Einstellungen');
  expect(text).not.toMatch(KEY_LIKE);
  expect(text).not.toContain('Pause all payments');
  expect(await page.evaluate(() => document.documentElement.lang)).toBe('de');
  mkdirSync(SHOTS, { recursive: true });
  await page.setViewportSize({ width: 360, height: 560 });
  await page.screenshot({ path: join(SHOTS, 'popup-de.png') });
});

test('every settings page reads German', async () => {
  const page = await context.newPage();
  await page.goto(extensionUrl(extensionId, 'src/ui/options/index.html#overview'));
  await page.waitForSelector('[data-testid=general]');
  const nav = (await page.textContent('nav')) ?? '';
  for (const word of [
    'Übersicht',
    'Budgets & Freigaben',
    'Websites',
    'Wallets',
    'Sicherheit',
    'Verlauf',
    'Streitfälle',
  ]) {
    expect(nav).toContain(word);
  }
  const expected: Record<string, string> = {
    overview: 'Ihre Währung',
    budgets: 'Freigabestufen',
    sites: 'Website-Regel hinzufügen',
    wallets: 'Wallet verknüpfen',
    security: 'Passwort speichern',
    history: 'Sicherung importieren',
    disputes: 'Keine Streitfälle.',
  };
  for (const [id, words] of Object.entries(expected)) {
    await page.evaluate((hash) => {
      location.hash = hash;
    }, id);
    const section = page.locator(`#page-${id}`);
    await section.waitFor();
    await expect.poll(() => section.textContent()).toContain(words);
    expect((await section.textContent()) ?? '').not.toMatch(KEY_LIKE);
    // Amounts are German numbers, never a number that failed to parse.
    if (id === 'overview') {
      await expect
        .poll(async () => (await section.locator('[data-testid=budget-bars]').textContent()) ?? '')
        .toMatch(/\d+,\d\d\u00a0\$ von 50,00\u00a0\$/);
    }
    if (id === 'budgets') {
      expect(await section.locator('input[inputmode=decimal]').first().inputValue()).toMatch(/^\d+,\d\d$/);
    }
    expect((await section.textContent()) ?? '').not.toMatch(/NaN/);
    await page.screenshot({ path: join(SHOTS, `settings-${id}-de.png`), fullPage: true });
  }
  expect(await page.title()).toBe('Streitfälle · Paybound-Einstellungen');
});

test('the quote window reads German, an estimate authorizing its maximum', async () => {
  const popup = await context.newPage();
  await popup.goto(extensionUrl(extensionId, POPUP));
  // The demo may pay small charges alone: make this one ask.
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '0' }));
  const demo = await context.newPage();
  await demo.goto(inject('stack').demo);
  const status = draft(demo, 'ein kurzer Entwurf');
  const quote = await nextQuoteWindow(context);
  const text = (await quote.textContent('body')) ?? '';
  for (const words of ['bittet um eine Zahlung', 'Die App sagt', 'Geschätzt', 'Zahlen mit', 'Details']) {
    expect(text).toContain(words);
  }
  expect(await quote.textContent('[data-testid=approve]')).toMatch(/^Bis zu \d+,\d\d\s\$ autorisieren$/);
  expect(await quote.textContent('[data-testid=next]')).toContain('Maximum autorisiert');
  // Why it asks is the worker's reason, said in German, not the worker's English.
  const reasons = (await quote.textContent('[data-testid=reasons]')) ?? '';
  expect(reasons).toContain('Über der Grenze für automatische Zahlungen an diese Website');
  expect(reasons).not.toContain('automatic');
  expect(text).not.toMatch(KEY_LIKE);
  expect(text).not.toMatch(/\bquote[A-Z][A-Za-z]+\b/);
  mkdirSync(SHOTS, { recursive: true });
  await quote.setViewportSize({ width: 460, height: 600 });
  await quote.screenshot({ path: join(SHOTS, 'quote-de.png') });
  await quote.click('[data-testid=deny]');
  expect(await status).toBe(402);
  // The ledger's words for it, on the history page, are German too.
  await popup.goto(extensionUrl(extensionId, 'src/ui/options/index.html#history'));
  await expect
    .poll(() => popup.locator('[data-testid=payments]').textContent())
    .toContain('Sie haben die Zahlung abgelehnt');
});

test('plans the quote leaves out are said in German; the reason stays among the details', async () => {
  const site = await openSite(context, 'http://plans.example/');
  const c = await l402Challenge(inject('stack'), 1, 'ein Satoshi');
  // One plan without a name: the plans are left out, the charge itself is still quoted.
  const offer = JSON.stringify({ v: 1, plans: [{ id: 'pro' }] });
  const terms = Buffer.from(offer).toString('base64url');
  const opened = nextQuoteWindow(context);
  forgeLater(site, {
    url: 'http://plans.example/api/x',
    headers: [['www-authenticate', `${c.header}, paybound="${terms}"`]],
  });
  const quote = await opened;
  const said = (await quote.textContent('[data-testid=plans-refused]')) ?? '';
  expect(said).toContain('Tarife');
  expect(said).not.toMatch(/unusable|plan "pro"/);
  await quote.click('.details summary');
  expect(await quote.textContent('[data-testid=plans-refused-why]')).toContain('it has no name');
  expect((await quote.textContent('body')) ?? '').not.toMatch(KEY_LIKE);
  mkdirSync(SHOTS, { recursive: true });
  await quote.setViewportSize({ width: 460, height: 900 });
  for (const scheme of ['light', 'dark'] as const) {
    await quote.emulateMedia({ colorScheme: scheme });
    await quote.screenshot({ path: join(SHOTS, `quote-plans-refused-de-${scheme}.png`), fullPage: true });
  }
  await quote.click('[data-testid=deny]');
});
