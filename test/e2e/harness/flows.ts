/** Steps the e2e tests share: asking the worker from an extension page, and the quote window. */
import type { BrowserContext, Page } from 'playwright-core';
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

/** Resolves with the quote window once it has opened and shows a quote. */
export async function nextQuoteWindow(context: BrowserContext): Promise<Page> {
  const page = await context.waitForEvent('page', (p) => p.url().includes('/src/ui/approve/'));
  await page.waitForSelector('[data-testid=quote]');
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
