/**
 * Benches pay one charge after another, and each needs a fresh challenge: the token a payment buys
 * must not serve the next request. In Chromium the worker keeps tokens in its database (it answers
 * a new document's 402 with them) and each page keeps the ones it was handed. `forgetTokens`
 * empties the first; a request sent with FRESH's own (empty) Authorization keeps the page from
 * attaching a kept one, and the app, seeing no credential, asks to be paid.
 */
import type { Page, Worker } from 'playwright-core';

export const FRESH: Record<string, string> = { authorization: '' };

/** Empties the worker's token table, from the worker or any extension page. */
export async function forgetTokens(on: Page | Worker): Promise<void> {
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
