/**
 * `npm start`: the stack, a development build provisioned with the stand-in wallet, and Chromium
 * with Paybound loaded on the demo app. With a display: a normal window, until you close it.
 * Without one: a headless scripted tour that prints each step and saves screenshots.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { installEthWallet } from '../standins/eth-wallet';
import { buildExtension, ROOT } from './build';
import { extensionUrl, launchWithExtension } from './chromium';
import { PortInUseError, portsFromEnv, provisionFor, startStack } from './stack';

/** The settings pages, by their address's hash. */
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

/** How many headless tours' screenshot folders stay in .out/. */
const KEEP_TOURS = 5;

const stack = await startStack({ ports: portsFromEnv() }).catch((e: unknown) => {
  // A taken port is the newcomer's most likely first error: say which part, and what to set.
  if (e instanceof PortInUseError) {
    console.error(`paybound: ${e.message}`);
    process.exit(1);
  }
  throw e;
});
console.log(`paybound stack ready ${JSON.stringify(stack.info)}`);
const extensionDir = buildExtension({ outDir: '.out/start/dist', provision: provisionFor(stack.info) });
console.log(`built the extension into ${extensionDir}`);

const headed = Boolean(process.env.DISPLAY) && process.env.PAYBOUND_HEADLESS !== '1';
const browser = await launchWithExtension({ extensionDir, headless: !headed });
// A stand-in Ethereum wallet in every page, as a wallet extension would put one there, with test
// USDC at the facilitator stand-in: the demo's x402 routes are paid with it.
const ethWallet = await installEthWallet(browser.context);
stack.facilitator.fund(ethWallet.address, 5_000_000n);
console.log(`stand-in Ethereum wallet ${ethWallet.address} (5 test USDC on Base Sepolia)`);

if (headed) {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.goto(stack.info.demo);
  console.log(
    `Chromium is open on ${stack.info.demo} with Paybound loaded. Close the window or press Ctrl+C to stop.`,
  );
  const stop = async () => {
    await browser.close().catch(() => {});
    await stack.close();
    process.exit(0);
  };
  browser.context.on('close', () => void stop());
  process.on('SIGINT', () => void stop());
} else {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(ROOT, '.out', `tour-${stamp}`);
  // Old tours go: the last few stay to compare with.
  const out = join(ROOT, '.out');
  const old = existsSync(out)
    ? readdirSync(out)
        .filter((d) => d.startsWith('tour-'))
        .sort()
    : [];
  for (const d of old.slice(0, Math.max(0, old.length - KEEP_TOURS + 1)))
    rmSync(join(out, d), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let n = 0;
  let lastDone = 'the start';
  const shot = async (page: Page, name: string, what: string) => {
    n += 1;
    const file = join(dir, `${String(n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    console.log(`step ${n}: ${what}\n        screenshot ${file}`);
    lastDone = `step ${n} (${what})`;
  };
  const approveWindow = () =>
    browser.context
      .waitForEvent('page', (p) => p.url().includes('/src/ui/approve/'))
      .then(async (p) => {
        await p.waitForSelector('[data-testid=quote]');
        return p;
      });
  /** The popup, each settings page and a quote window, light then dark, in the browser's language. */
  const gallery = async (context: BrowserContext, extensionId: string, lang: string) => {
    const pages: [string, string, { width: number; height: number }][] = [
      ['popup', 'src/ui/popup/index.html', { width: 400, height: 600 }],
      ...SETTINGS_PAGES.map((id): [string, string, { width: number; height: number }] => [
        `settings-${id}`,
        `src/ui/options/index.html#${id}`,
        { width: 1100, height: 760 },
      ]),
    ];
    const demo = await context.newPage();
    await demo.goto(stack.info.demo);
    for (const theme of ['light', 'dark'] as const) {
      for (const [name, path, size] of pages) {
        const page = await context.newPage();
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme: theme });
        await page.goto(extensionUrl(extensionId, path));
        await page.waitForSelector('main');
        await page.waitForLoadState('networkidle');
        await shot(page, `${lang}-${theme}-${name}`, `${name} (${lang}, ${theme})`);
        await page.close();
      }
      await demo.fill('#prompt', `A line for the ${theme} quote window`);
      const quoteOpened = context.waitForEvent('page', (p) => p.url().includes('/src/ui/approve/'));
      const answered = demo.evaluate(() =>
        fetch('/drafts/generate', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: (document.querySelector('#prompt') as HTMLTextAreaElement).value }),
        }).then((r) => r.status),
      );
      const quote = await quoteOpened;
      await quote.emulateMedia({ colorScheme: theme });
      await quote.waitForSelector('[data-testid=quote]');
      await shot(quote, `${lang}-${theme}-quote`, `the quote window (${lang}, ${theme})`);
      await quote.click('[data-testid=deny]');
      await answered;
    }
    await demo.close();
  };

  /**
   * Quill Pro: two drafts paid per use, then the quote compares the plan with them; subscribing
   * quotes the first period in the same window; drafts are then the plan's; the Plans page, and
   * the popup with the plan and a budget's forecast.
   */
  const planTour = async (context: BrowserContext, extensionId: string) => {
    const ask = async (page: Page, type: string, payload: object) => {
      const reply = (await page.evaluate(([t, p]) => chrome.runtime.sendMessage({ type: t, payload: p }), [
        type,
        payload,
      ] as const)) as { ok: boolean; data?: unknown };
      if (!reply.ok) throw new Error(`${type} refused`);
      return reply.data;
    };
    const draftFrom = (page: Page, prompt: string) =>
      page.evaluate(
        (p) =>
          fetch('/drafts/generate', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ prompt: p }),
          }).then((r) => r.status),
        prompt,
      );
    const quoteIn = () =>
      context
        .waitForEvent('page', (p) => p.url().includes('/src/ui/approve/'))
        .then(async (p) => {
          await p.waitForSelector('[data-testid=quote]');
          return p;
        });
    const popup = await context.newPage();
    await popup.setViewportSize({ width: 400, height: 640 });
    await popup.goto(extensionUrl(extensionId, 'src/ui/popup/index.html'));
    // A plan's month is above the default confirm limit (5.00): it is asked with a click here. A
    // daily budget of 30.00 that today's pace (about 28 by evening) runs out before midnight: its
    // forecast shows in the popup (early in the day the pace says too little to forecast).
    const rules = (await ask(popup, 'rules.get', {})) as { confirmMaxMinor: string; budgets: object[] };
    await ask(popup, 'rules.set', {
      ...rules,
      confirmMaxMinor: '5000',
      budgets: [
        ...rules.budgets,
        {
          id: 'tour-day',
          label: 'Daily',
          scope: { kind: 'global' },
          period: 'day',
          limitMinor: '3000',
          milestones: [50, 80, 100],
        },
      ],
    });
    const demo = await context.newPage();
    await demo.goto(stack.info.demo);
    for (const prompt of ['A first draft, paid per use', 'A second one']) {
      const answered = draftFrom(demo, prompt);
      const q = await quoteIn();
      await q.click('[data-testid=approve]');
      await answered;
    }
    const answered = draftFrom(demo, 'A third, on the plan');
    const quote = await quoteIn();
    await quote.setViewportSize({ width: 480, height: 1000 });
    await quote.locator('[data-testid=plans]').scrollIntoViewIfNeeded();
    await shot(
      quote,
      'plan-quote',
      "Quill Pro beside the per-use price: compared with this site's own last 30 days",
    );
    await quote.click('[data-testid=subscribe]');
    await quote.waitForSelector('[data-testid=plan-charge]');
    await shot(quote, 'plan-first-period', 'Subscribe: the plan’s first month is quoted in the same window');
    await quote.click('[data-testid=approve]');
    await answered;
    await shot(
      demo,
      'plan-drafts',
      'Subscribed: the browser sends the subscriber credential; drafts are the plan’s',
    );
    // Past the 200 included drafts: the next is overage, paid within the plan's cap without a window.
    await demo.evaluate(async () => {
      for (let i = 0; i < 200; i++)
        await fetch('/drafts/generate', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: `draft ${i}` }),
        });
    });
    const plans = await context.newPage();
    await plans.setViewportSize({ width: 1100, height: 760 });
    await plans.goto(extensionUrl(extensionId, 'src/ui/options/index.html#plans'));
    await plans.waitForSelector('[data-testid=subscription] [data-testid=usage]');
    await shot(
      plans,
      'plans-page',
      'The Plans page: renewal date, included drafts used, overage against its cap',
    );
    await popup.reload();
    await popup.waitForSelector('[data-testid=popup-plans]');
    await shot(
      popup,
      'plan-popup',
      'The popup: the plan in force, and where each budget is heading at this pace',
    );
    for (const page of [plans, popup]) await page.emulateMedia({ colorScheme: 'dark' });
    await shot(plans, 'plans-page-dark', 'The Plans page, dark');
    await shot(popup, 'plan-popup-dark', 'The popup with the plan and the forecast, dark');
  };

  try {
    const demo = await browser.context.newPage();
    await demo.goto(stack.info.demo);
    await shot(demo, 'demo-app', `the demo AI writing assistant at ${stack.info.demo}`);

    // Link a card on the Stripe stand-in's hosted page, then pay by card.
    const options = await browser.context.newPage();
    await options.goto(extensionUrl(browser.extensionId, 'src/ui/options/index.html#wallets'));
    await options.waitForSelector('[data-testid=link-card] button');
    const [cardTab] = await Promise.all([
      browser.context.waitForEvent('page'),
      options.click('[data-testid=link-card] button'),
    ]);
    await cardTab.waitForSelector('#cardNumber');
    await cardTab.fill('#cardNumber', '4242 4242 4242 4242');
    await cardTab.fill('#cardExpiry', '12 / 34');
    await cardTab.fill('#cardCvc', '123');
    await shot(
      cardTab,
      'card-page',
      "Link a card: the card service opens Stripe's page (the stand-in) in a tab; a test card is typed",
    );
    await cardTab.click('#submit');
    await cardTab.waitForURL(/\/link\/done/);
    await options.bringToFront();
    await options.locator('[data-testid=link-card] [role=status]', { hasText: /^Linked/ }).waitFor();
    await options.locator('[data-testid=rails] label', { hasText: '•••• 4242' }).click();
    await options.waitForFunction(
      () =>
        [...document.querySelectorAll<HTMLInputElement>('[data-testid=rails] input[type=radio]')].some(
          (r) => r.checked && r.parentElement?.textContent?.includes('4242'),
        ),
      undefined,
      { polling: 250 },
    );
    await shot(options, 'card-linked', 'The card is linked (brand and last 4 only) and chosen to pay');
    await cardTab.close();
    await demo.bringToFront();
    await demo.fill('#prompt', 'A haiku, paid by card');
    const [cardQuote] = await Promise.all([approveWindow(), demo.click('#generate')]);
    await shot(
      cardQuote,
      'card-quote',
      'By card: the quote is an authorization up to the price; the actual amount is charged after review',
    );
    await cardQuote.click('[data-testid=approve]');
    await demo.waitForFunction(() => document.querySelector('#status')?.textContent === '200 OK');
    await shot(
      demo,
      'card-paid',
      'Approved: the card service authorized it, the app verified the signed receipt and answered',
    );

    // Back to the Lightning wallet for the rest of the tour.
    await options.bringToFront();
    await options.locator('[data-testid=rails] label', { hasText: 'Stand-in LNbits wallet' }).click();
    await options.waitForFunction(
      () =>
        [...document.querySelectorAll<HTMLInputElement>('[data-testid=rails] input[type=radio]')].some(
          (r) => r.checked && r.parentElement?.textContent?.includes('LNbits'),
        ),
      undefined,
      { polling: 250 },
    );
    await demo.bringToFront();

    await demo.fill('#prompt', 'A short poem about paying for what you use');
    const [quote] = await Promise.all([approveWindow(), demo.click('#generate')]);
    await shot(
      quote,
      'quote',
      'Generate: the app answers 402 (L402); Paybound checks the invoice and shows a quote',
    );

    await quote.click('[data-testid=approve]');
    await demo.waitForFunction(() => document.querySelector('#status')?.textContent === '200 OK');
    await shot(demo, 'paid', 'Approve: paid from the stand-in wallet, proof checked, the page got its text');

    // x402: the app asks for USDC on Base Sepolia; the page's Ethereum wallet signs, the app settles.
    await demo.fill('#prompt', 'A limerick, paid in test USDC');
    const [x402Quote] = await Promise.all([approveWindow(), demo.click('#generate-x402')]);
    await shot(
      x402Quote,
      'x402-quote',
      'x402: the app asks for 0.01 USDC on Base Sepolia (a test network); the quote names the chain and the address paid',
    );
    await x402Quote.click('[data-testid=approve]');
    await demo.waitForFunction(() => document.querySelector('#status')?.textContent === '200 OK');
    await shot(
      demo,
      'x402-paid',
      "Approve: the page's Ethereum wallet signed exactly that transfer, Paybound checked the signature, the app settled it",
    );

    await demo.fill('#prompt', 'And a second one, about tea');
    await demo.click('#generate');
    await demo.waitForFunction(() => document.querySelector('#output')?.textContent?.includes('tea'));
    await shot(demo, 'token-reused', 'Generate again: the paid token is reused, no quote and nothing paid');

    // An estimated request: the quote shows the range; the charge is under review; a reject refunds.
    await demo.fill('#prompt', 'A draft whose length only the writer knows');
    const [draftQuote] = await Promise.all([approveWindow(), demo.click('#draft')]);
    await shot(
      draftQuote,
      'estimate-quote',
      'An estimated request: the quote shows the range and the review window; the maximum is authorized',
    );
    await draftQuote.click('[data-testid=approve]');
    await demo.waitForFunction(() => document.querySelector('#status')?.textContent === '200 OK');
    const history = await browser.context.newPage();
    await history.goto(extensionUrl(browser.extensionId, 'src/ui/options/index.html#history'));
    const reject = history.locator('tr:has([data-testid=under-review]) button[data-testid^=reject-]').first();
    await reject.waitFor();
    await reject.scrollIntoViewIfNeeded();
    await shot(history, 'under-review', 'The charge is provisional: Accept or Reject until the window ends');
    await reject.click();
    await history.fill('[data-testid=reject-form] input >> nth=0', 'The draft missed the point');
    await history.click('[data-testid=reject-form] button[type=submit]');
    await history.locator('[data-testid=disputes] [data-status=refunded]').waitFor();
    await history.locator('#h-history').scrollIntoViewIfNeeded();
    await shot(
      history,
      'rejected-refunded',
      'Reject: the app paid the refund to an invoice the wallet made; the dispute says refunded',
    );
    await history.close();

    const article = await browser.context.newPage();
    const [articleQuote] = await Promise.all([
      approveWindow(),
      article.goto(`${stack.info.demo}/article/paying-per-request`),
    ]);
    await shot(
      articleQuote,
      'article-quote',
      'A paid article page (402 on navigation): the same quote window',
    );
    await articleQuote.click('[data-testid=approve]');
    await article.waitForSelector('#article');
    await shot(
      article,
      'article',
      "Approve: the paid article takes the 402 page's place in the tab, with no reload",
    );

    const popup = await browser.context.newPage();
    await popup.setViewportSize({ width: 400, height: 460 });
    await popup.goto(extensionUrl(browser.extensionId, 'src/ui/popup/index.html'));
    await popup.waitForSelector('[data-testid=payments]');
    await shot(
      popup,
      'popup',
      'the toolbar popup: the linked wallet and the payments, with amounts in USD and sats',
    );

    await options.goto(extensionUrl(browser.extensionId, 'src/ui/options/index.html#all'));
    await options.reload();
    await options.waitForSelector('[data-testid=payments]');
    await shot(options, 'settings', 'the settings page: budgets, wallets, security and history');

    // Every screen in both themes, in English here and then in German in a second browser.
    await gallery(browser.context, browser.extensionId, 'en');
    await browser.close();
    // Plans, in a browser of their own (a subscriber's drafts no longer ask, which the gallery needs).
    const planned = await launchWithExtension({ extensionDir, headless: true });
    try {
      await planTour(planned.context, planned.extensionId);
    } finally {
      await planned.close();
    }
    const german = await launchWithExtension({ extensionDir, headless: true, lang: 'de' });
    try {
      await gallery(german.context, german.extensionId, 'de');
    } finally {
      await german.close();
    }
    console.log(`tour done: ${n} screenshots in ${dir}`);
  } catch (e) {
    // Say where it stopped and keep what the browser showed then, beside the steps that worked.
    const pages = browser.context.pages();
    for (const [i, page] of pages.entries())
      await page.screenshot({ path: join(dir, `failed-${i + 1}.png`) }).catch(() => {});
    console.error(
      `the tour stopped after ${lastDone}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
    );
    console.error(`screenshots so far, and of the ${pages.length} open pages when it stopped: ${dir}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
    await stack.close();
  }
}
