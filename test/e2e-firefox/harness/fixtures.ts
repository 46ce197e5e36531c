/**
 * Firefox fixtures: each test gets a fresh Firefox profile with the built extension installed as
 * a temporary add-on, and the demo app open in its first tab.
 */
import type { Browser, Page } from 'puppeteer-core';
import { test as base, inject } from 'vitest';
import { type LaunchedFirefox, launchFirefoxWithExtension } from '../../../server/dev/firefox';
import type { StackInfo } from '../../../server/dev/stack';

export interface Fixtures {
  stack: StackInfo;
  browser: Browser;
  extensionId: string;
  demoPage: Page;
}

export const test = base.extend<Fixtures & { launched: LaunchedFirefox }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures take their dependencies by destructuring
  stack: async ({}, use) => use(inject('stack')),
  // biome-ignore lint/correctness/noEmptyPattern: as above
  launched: async ({}, use) => {
    const firefox = await launchFirefoxWithExtension({ extensionDir: inject('firefoxExtensionDir') });
    try {
      await use(firefox);
    } finally {
      await firefox.close();
    }
  },
  browser: async ({ launched }, use) => use(launched.browser),
  extensionId: async ({ launched }, use) => use(launched.extensionId),
  demoPage: async ({ browser, stack }, use) => {
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    await page.goto(stack.demo);
    await use(page);
  },
});

export { expect } from 'vitest';
