/**
 * Steps the Firefox tests share. Firefox refuses to navigate a tab to a moz-extension: address, so
 * the only extension pages a test reaches are the windows the extension opens itself.
 */
import type { Browser, Page, Target } from 'puppeteer-core';
import type { MessageOutput, MessageType, PaymentView, Reply } from '../../../src/messages/map';

export const APPROVE_PATH = '/src/ui/approve/index.html';

/** Sends a message to the event page from one of the extension's pages; throws on an error reply. */
export async function ask<T extends MessageType>(
  page: Page,
  type: T,
  payload: object,
): Promise<MessageOutput<T>> {
  const reply = (await page.evaluate(
    (t, p) => chrome.runtime.sendMessage({ type: t, payload: p }),
    type,
    payload,
  )) as Reply<MessageOutput<T>>;
  if (!reply.ok) throw new Error(`${type}: ${reply.error.code} ${reply.error.message}`);
  return reply.data;
}

export function ledger(page: Page): Promise<PaymentView[]> {
  return ask(page, 'payments.recent', { limit: 50 });
}

/**
 * Counts the windows and tabs opened from now on. Call before the step that may open one.
 */
export function watchNewPages(browser: Browser): { count(): number; stop(): void } {
  let n = 0;
  const on = (t: Target) => {
    if (t.type() === 'page') n += 1;
  };
  browser.on('targetcreated', on);
  return { count: () => n, stop: () => browser.off('targetcreated', on) };
}

/**
 * Resolves with the next window that opens once it shows a quote. Call before the step that
 * opens it. (A new window starts at about:blank; the quote page is loaded into it.)
 */
export function nextQuoteWindow(browser: Browser): Promise<Page> {
  const created = new Promise<Target>((resolve) => {
    const on = (t: Target) => {
      if (t.type() !== 'page') return;
      browser.off('targetcreated', on);
      resolve(t);
    };
    browser.on('targetcreated', on);
  });
  return (async () => {
    const page = await (await created).page();
    if (!page) throw new Error('the new window has no page');
    await page.waitForFunction(
      (path) => location.pathname === path && document.querySelector('[data-testid=quote]') !== null,
      {},
      APPROVE_PATH,
    );
    return page;
  })();
}

/** The demo page's status line once it reads `text`. */
export async function statusBecomes(page: Page, text: string): Promise<void> {
  await page.waitForFunction((t) => document.querySelector('#status')?.textContent === t, {}, text);
}

export async function textOf(page: Page, selector: string): Promise<string | null> {
  return page.$eval(selector, (e) => e.textContent);
}

/**
 * Approves the quote the window shows: Pay arms once the window has been visible and focused for
 * a second, and only a press that begins on the armed button pays.
 */
export async function approve(quote: Page): Promise<void> {
  await quote.waitForSelector('[data-testid=approve][data-armed=true]');
  await quote.click('[data-testid=approve]');
}
