/**
 * E2E fixtures: each test gets a fresh Chromium profile with the built extension loaded, its service
 * worker, its id, the demo app open in a tab, and helpers for extension pages and worker restarts.
 */
import type { BrowserContext, Page, Worker } from 'playwright-core';
import { test as base, inject } from 'vitest';
import { extensionUrl, launchWithExtension, restartServiceWorker } from '../../../server/dev/chromium';
import type { StackInfo } from '../../../server/dev/stack';

export interface Fixtures {
  stack: StackInfo;
  context: BrowserContext;
  serviceWorker: Worker;
  extensionId: string;
  demoPage: Page;
  /** Opens one of the extension's pages (e.g. 'src/ui/popup/index.html') in a tab. */
  openExtensionPage(path: string): Promise<Page>;
  /** Stops the worker as the browser does when idle, then wakes it. */
  restartWorker(): Promise<void>;
}

interface Launched {
  context: BrowserContext;
  serviceWorker: Worker;
  extensionId: string;
}

export const test = base.extend<Fixtures & { launched: Launched }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures take their dependencies by destructuring
  stack: async ({}, use) => use(inject('stack')),
  // biome-ignore lint/correctness/noEmptyPattern: as above
  launched: async ({}, use) => {
    const browser = await launchWithExtension({ extensionDir: inject('extensionDir') });
    try {
      await use(browser);
    } finally {
      await browser.close();
    }
  },
  context: async ({ launched }, use) => use(launched.context),
  serviceWorker: async ({ launched }, use) => use(launched.serviceWorker),
  extensionId: async ({ launched }, use) => use(launched.extensionId),
  demoPage: async ({ context, stack }, use) => {
    const page = await context.newPage();
    await page.goto(stack.demo);
    await use(page);
  },
  openExtensionPage: async ({ context, extensionId }, use) => {
    await use(async (path) => {
      const page = await context.newPage();
      await page.goto(extensionUrl(extensionId, path));
      return page;
    });
  },
  restartWorker: async ({ context, openExtensionPage }, use) => {
    await use(async () => {
      const page = await openExtensionPage('src/ui/popup/index.html');
      await restartServiceWorker(context, page);
      await page.close();
    });
  },
});

export { expect } from 'vitest';
