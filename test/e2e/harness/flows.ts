/** Steps the e2e tests share: asking the worker from an extension page, and the quote window. */
import type { BrowserContext, Page, Worker } from 'playwright-core';
import type { RulesWire } from '../../../src/core/policy/rules';
import type { MessageOutput, MessageType, PaymentView, Reply } from '../../../src/messages/map';

export const POPUP = 'src/ui/popup/index.html';

/** Sends a message to the worker from an extension page, as our own UI does; throws on an error reply. */
export async function ask<T extends MessageType>(
  page: Page,
  type: T,
  payload: object,
): Promise<MessageOutput<T>> {
  const reply = (await page.evaluate(([t, p]) => chrome.runtime.sendMessage({ type: t, payload: p }), [
    type,
    payload,
  ] as const)) as Reply<MessageOutput<T>>;
  if (!reply.ok) throw new Error(`${type}: ${reply.error.code} ${reply.error.message}`);
  return reply.data;
}

const QUOTE_WINDOW = '/src/ui/approve/';
/** The quotes each context's quote windows were handed out for by `nextQuoteWindow`. */
const handedOut = new WeakMap<BrowserContext, Set<string>>();

/**
 * Resolves with the window that shows the next quote, once it shows it. Usually a new window;
 * but a tab's window still open from a decision just made (it waits for the payment's outcome
 * before closing) shows the tab's next quote itself, as the user would see it. So an open quote
 * window counts too once it shows a quote this helper has not handed out before.
 */
export async function nextQuoteWindow(context: BrowserContext): Promise<Page> {
  const seen = handedOut.get(context) ?? new Set<string>();
  handedOut.set(context, seen);
  const shows = async (page: Page): Promise<Page> => {
    await page.waitForFunction(
      (ids) => {
        const id = document.querySelector('[data-testid=quote]')?.getAttribute('data-quote-id');
        return id !== null && id !== undefined && !ids.includes(id);
      },
      [...seen],
    );
    return page;
  };
  const opened = context
    .waitForEvent('page', (p) => p.url().includes(QUOTE_WINDOW))
    .then(async (page) => {
      await page.waitForSelector('[data-testid=quote]');
      return page;
    });
  const open = context.pages().filter((p) => p.url().includes(QUOTE_WINDOW));
  const page = await Promise.any([opened, ...open.map(shows)]).catch((e: unknown) => {
    throw e instanceof AggregateError ? e.errors[0] : e;
  });
  const id = await page.getAttribute('[data-testid=quote]', 'data-quote-id');
  if (id) seen.add(id);
  return page;
}

export async function ledger(page: Page): Promise<PaymentView[]> {
  return ask(page, 'payments.recent', { limit: 50 });
}

/** One generate request from the demo page; resolves with its HTTP status. */
export function generate(page: Page, prompt = 'x'): Promise<number> {
  return page.evaluate(
    async (p) =>
      (
        await fetch('/api/generate', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: p }),
        })
      ).status,
    prompt,
  );
}

/** Changes the spending rules through the worker, as the settings page does. */
export async function setRules(page: Page, change: (r: RulesWire) => RulesWire): Promise<void> {
  await ask(page, 'rules.set', change(await ask(page, 'rules.get', {})));
}

/** One request to the demo's estimated route (an estimate and a review window); resolves with its status. */
export function draft(page: Page, prompt = 'x'): Promise<number> {
  return page.evaluate(
    async (p) =>
      (
        await fetch('/drafts/generate', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: p }),
        })
      ).status,
    prompt,
  );
}

/**
 * Awaits one step of a test, failing with the step's name (and what `state` reports) if it has not
 * ended after 20 s, so that a hang names where it hung instead of running into the test's timeout.
 */
export async function step<T>(what: string, work: Promise<T>, state?: () => Promise<unknown>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const report = state ? state().catch((e: unknown) => `(state unavailable: ${String(e)})`) : undefined;
      void Promise.resolve(report).then((r) =>
        reject(new Error(`step did not end: ${what}${r === undefined ? '' : ` — ${JSON.stringify(r)}`}`)),
      );
    }, 20_000);
  });
  try {
    return await Promise.race([work, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Empties the worker's token table, from the worker or any extension page (its IndexedDB). */
export async function clearTokenTable(on: Page | Worker): Promise<void> {
  await (on as Worker).evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('paybound');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('tokens', 'readwrite');
          tx.objectStore('tokens').clear();
          tx.oncomplete = () => {
            open.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}

/**
 * Forgets every paid token, as if none had been bought: the worker's rows go (read on every 402),
 * and each page given loads again, since a document keeps the tokens it was handed.
 */
export async function forgetTokens(extensionPage: Page, ...pages: Page[]): Promise<void> {
  await clearTokenTable(extensionPage);
  for (const page of pages) await page.reload();
}
