/**
 * `npm start`: the stack, a development build provisioned with the stand-in wallet, and Chromium
 * with Paybound loaded on the demo app. With a display: a normal window, until you close it.
 * Without one: a headless scripted tour that prints each step and saves screenshots.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildExtension, ROOT } from './build';
import { extensionUrl, launchWithExtension } from './chromium';
import { portsFromEnv, provisionFor, startStack } from './stack';

const stack = await startStack({ ports: portsFromEnv() });
console.log(`paybound stack ready ${JSON.stringify(stack.info)}`);
const extensionDir = buildExtension({ outDir: '.out/start/dist', provision: provisionFor(stack.info) });
console.log(`built the extension into ${extensionDir}`);

const headed = Boolean(process.env.DISPLAY) && process.env.PAYBOUND_HEADLESS !== '1';
const browser = await launchWithExtension({ extensionDir, headless: !headed });

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
  mkdirSync(dir, { recursive: true });
  let n = 0;
  const shot = async (page: Page, name: string, what: string) => {
    n += 1;
    const file = join(dir, `${String(n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    console.log(`step ${n}: ${what}\n        screenshot ${file}`);
  };
  try {
    const demo = await browser.context.newPage();
    await demo.goto(stack.info.demo);
    await shot(demo, 'demo-app', `the demo AI writing assistant at ${stack.info.demo}`);

    await demo.fill('#prompt', 'A short poem about paying for what you use');
    await demo.click('#generate');
    await demo.waitForFunction(() => document.querySelector('#status')?.textContent?.includes('402'));
    await shot(
      demo,
      'payment-required',
      'Generate: the app answers 402 with an L402 challenge; Paybound hands it to its worker',
    );

    const popup = await browser.context.newPage();
    await popup.setViewportSize({ width: 400, height: 420 });
    await popup.goto(extensionUrl(browser.extensionId, 'src/ui/popup/index.html'));
    await popup.waitForSelector('[data-testid=recent-challenges]');
    await shot(
      popup,
      'popup',
      'the toolbar popup: the linked stand-in wallet and the payment request it saw',
    );

    const options = await browser.context.newPage();
    await options.goto(extensionUrl(browser.extensionId, 'src/ui/options/index.html'));
    await options.waitForSelector('[data-testid=recent-challenges]');
    await shot(options, 'settings', 'the settings page');
    console.log(`tour done: ${n} screenshots in ${dir}`);
  } finally {
    await browser.close();
    await stack.close();
  }
}
