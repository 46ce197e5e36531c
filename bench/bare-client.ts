/**
 * The bare-client floor for P2: `fetch402` of @getalby/lightning-tools running in a page of a
 * browser without any extension, paying through the same stand-in LNbits wallet that Paybound's
 * rail pays with, by the same call (`POST /api/v1/payments {out: true, bolt11}` with the admin key,
 * as src/background/services/rails/lnbits.ts does from the worker). That is what an app that
 * bundles the library and holds a wallet key does: no policy, no ledger, no window, no bridge.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

/** The library's browser build, as an app would bundle it (self-contained ES module). */
const FETCH402_MODULE = readFileSync(
  fileURLToPath(import.meta.resolve('@getalby/lightning-tools/402')),
  'utf8',
);

export interface BareWallet {
  /** The LNbits stand-in's base URL. */
  url: string;
  adminKey: string;
}

interface BenchWindow {
  __benchFetch402?: (
    url: string,
    init: RequestInit,
    options: {
      wallet: { payInvoice(args: { invoice: string }): Promise<{ preimage: string }> };
    },
  ) => Promise<Response>;
}

/** Loads fetch402 into the page (it stays until the page navigates). */
export async function installBareClient(page: Page): Promise<void> {
  await page.addScriptTag({
    type: 'module',
    content: `${FETCH402_MODULE}\nwindow.__benchFetch402 = fetch402;\n`,
  });
  await page.waitForFunction(() => typeof (window as BenchWindow).__benchFetch402 === 'function');
}

export interface BareRoundTrip {
  /** The call → the paid response, ms. */
  total: number;
  /** The wallet asked to pay → the paid response (pay + retry: what an approval must still wait for), ms. */
  payAndRetry: number;
  /** When the call started and ended, epoch ms on the browser's clock (for the timeline). */
  startedAt: number;
  endedAt: number;
}

/** One paid request by the bare client: a fresh challenge and payment each time (no credential kept). */
export async function bareRoundTrip(
  page: Page,
  path: string,
  init: RequestInit,
  wallet: BareWallet,
): Promise<BareRoundTrip> {
  return page.evaluate(
    async ([p, i, w]) => {
      const fetch402 = (window as BenchWindow).__benchFetch402;
      if (!fetch402) throw new Error('fetch402 is not loaded in this page');
      let askedAt = 0;
      const payer = {
        async payInvoice({ invoice }: { invoice: string }) {
          askedAt = performance.now();
          const res = await fetch(`${w.url}/api/v1/payments`, {
            method: 'POST',
            headers: { 'X-Api-Key': w.adminKey, 'Content-Type': 'application/json' },
            body: JSON.stringify({ out: true, bolt11: invoice }),
          });
          const body = (await res.json()) as { preimage?: string };
          if (!body.preimage) throw new Error(`the wallet answered ${res.status} without a preimage`);
          return { preimage: body.preimage };
        },
      };
      const t0 = performance.now();
      const res = await fetch402(p, { ...i }, { wallet: payer });
      const t1 = performance.now();
      if (res.status !== 200) throw new Error(`the bare client's paid request answered ${res.status}`);
      if (!askedAt) throw new Error('the bare client was not asked to pay');
      const epoch = performance.timeOrigin;
      return { total: t1 - t0, payAndRetry: t1 - askedAt, startedAt: epoch + t0, endedAt: epoch + t1 };
    },
    [path, init, wallet] as const,
  );
}
