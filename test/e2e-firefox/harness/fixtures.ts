/**
 * Firefox fixtures. One Firefox per test file (starting one takes seconds); each test installs
 * the built extension afresh as a temporary add-on, which gives it a new moz-extension: origin and
 * so empty storage, no token rules and no windows, and removes it afterwards. The demo app is open
 * in the first tab.
 */
import type { Browser, Page } from 'puppeteer-core';
import { test as base, inject } from 'vitest';
import { installExtension, launchFirefox } from '../../../server/dev/firefox';
import type { StackInfo } from '../../../server/dev/stack';

export interface Fixtures {
  stack: StackInfo;
  browser: Browser;
  extensionId: string;
  demoPage: Page;
}

/** Leaves one blank tab and returns it: what the previous test opened is closed. */
async function oneBlankTab(browser: Browser): Promise<Page> {
  const keep = await browser.newPage();
  for (const page of await browser.pages()) if (page !== keep) await page.close();
  return keep;
}

export const test = base.extend<Fixtures & { tab: Page }>({
  stack: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures take their dependencies by destructuring
    async ({}, use) => use(inject('stack')),
    { scope: 'file' },
  ],
  browser: [
    // biome-ignore lint/correctness/noEmptyPattern: as above
    async ({}, use) => {
      const browser = await launchFirefox();
      try {
        await use(browser);
      } finally {
        await browser.close();
      }
    },
    { scope: 'file' },
  ],
  tab: async ({ browser }, use) => use(await oneBlankTab(browser)),
  extensionId: async ({ browser, tab: _cleared }, use) => {
    const id = await installExtension(browser, inject('firefoxExtensionDir'));
    try {
      await use(id);
    } finally {
      await browser.uninstallExtension(id);
    }
  },
  // After the install: the extension's content scripts are declared for this load.
  demoPage: async ({ tab, extensionId: _installed, stack }, use) => {
    await tab.goto(stack.demo);
    await use(tab);
  },
});

export { expect } from 'vitest';
