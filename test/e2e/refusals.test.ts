/**
 * Bad input charges nothing: lying merchants are refused before any quote, and wallet failures
 * leave the page with its 402 and the ledger saying what happened.
 */
import type { Page } from 'playwright-core';
import { afterEach, inject } from 'vitest';
import { expect, test } from './harness/fixtures';
import { ask, ledger, nextQuoteWindow, POPUP } from './harness/flows';
import { macaroonFor, mainnetInvoice, regtestInvoice, serveLie } from './harness/liars';
import { wallets } from './harness/wallets';

afterEach(async () => {
  await wallets(inject('stack')).clearFailures();
});

/** The page's fetch of the lying endpoint: its status, with no quote window opened. */
async function fetchStatus(page: Page, url: string): Promise<number> {
  return page.evaluate(async (u) => (await fetch(u, { method: 'POST' })).status, url);
}

const lies: [string, RegExp, () => string][] = [
  [
    'the invoice has no amount',
    /has no amount/,
    () => {
      const inv = regtestInvoice();
      return `L402 macaroon="${macaroonFor(inv.paymentHash)}", invoice="${inv.bolt11}"`;
    },
  ],
  [
    'the macaroon is for a different payment',
    /different payment/,
    () => {
      const inv = regtestInvoice({ amountMsat: 10_000n });
      return `L402 macaroon="${macaroonFor('11'.repeat(32))}", invoice="${inv.bolt11}"`;
    },
  ],
  [
    'the invoice has expired',
    /expired/,
    () => {
      const inv = regtestInvoice({ amountMsat: 10_000n, ageSeconds: 7200, expirySeconds: 600 });
      return `L402 macaroon="${macaroonFor(inv.paymentHash)}", invoice="${inv.bolt11}"`;
    },
  ],
  [
    'the invoice is for another network',
    /for mainnet/,
    () => {
      const inv = mainnetInvoice(10_000n);
      return `L402 macaroon="${macaroonFor(inv.paymentHash)}", invoice="${inv.bolt11}"`;
    },
  ],
  [
    'the invoice signature is broken',
    /invoice is invalid/,
    () => {
      const inv = regtestInvoice({ amountMsat: 10_000n });
      // Flip one data character before the checksum: the checksum fails, so the invoice is invalid.
      const i = inv.bolt11.length - 20;
      const flipped = inv.bolt11.slice(0, i) + (inv.bolt11[i] === 'q' ? 'p' : 'q') + inv.bolt11.slice(i + 1);
      return `L402 macaroon="${macaroonFor(inv.paymentHash)}", invoice="${flipped}"`;
    },
  ],
  ['the challenge is malformed', /malformed/, () => 'L402 macaroon="unterminated'],
  [
    'the challenge has no invoice',
    /without an invoice/,
    () => `L402 macaroon="${macaroonFor('22'.repeat(32))}"`,
  ],
];

test.for(lies)(
  'refused before any quote, nothing charged: %s',
  async ([, reason, header], { demoPage, stack, openExtensionPage, context }) => {
    const windows: string[] = [];
    context.on('page', (p) => windows.push(p.url()));
    const before = await wallets(stack).balance('user');
    const url = await serveLie(demoPage, stack.demo, header());
    expect(await fetchStatus(demoPage, url)).toBe(402);
    const popup = await openExtensionPage(POPUP);
    const [seen] = await ask(popup, 'challenges.recent', { limit: 1 });
    expect(seen?.url).toBe(url);
    expect(seen?.error).toMatch(reason);
    expect(await ledger(popup)).toEqual([]);
    expect(windows.filter((u) => u.includes('/src/ui/approve/'))).toEqual([]);
    expect(await wallets(stack).balance('user')).toBe(before);
  },
);

async function approveGenerate(context: Parameters<typeof nextQuoteWindow>[0], demoPage: Page) {
  await demoPage.fill('#prompt', 'wallet trouble');
  const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('Payment required (402)');
}

test.for([
  ['insufficient_balance', 'insufficient_balance'],
  ['route_failure', 'route_failure'],
] as const)(
  'a wallet failure (%s) leaves the 402, charges nothing and is on the ledger',
  async ([mode, code], { context, demoPage, stack, openExtensionPage }) => {
    const w = wallets(stack);
    await w.injectFailure('user', mode);
    const before = await w.balance('user');
    await approveGenerate(context, demoPage);
    expect(await w.balance('user')).toBe(before);
    const [row] = await ledger(await openExtensionPage(POPUP));
    expect(row).toMatchObject({ state: 'failed', approval: 'approved', failure: { code } });
  },
);

test('a wallet that returns a wrong preimage: the page keeps its 402, the payment is flagged for a dispute', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  await wallets(stack).injectFailure('user', 'wrong_preimage');
  await approveGenerate(context, demoPage);
  const [row] = await ledger(await openExtensionPage(POPUP));
  expect(row).toMatchObject({ state: 'proof_failed', failure: { code: 'bad_preimage' } });
  // No token was stored: the next request asks again rather than sending a bad credential.
  await demoPage.fill('#prompt', 'again');
  const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
  await quote.click('[data-testid=deny]');
});

test('a wallet that times out: the outcome stays unknown until the wallet is asked, then settles', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
  restartWorker,
}) => {
  const w = wallets(stack);
  await w.injectFailure('user', 'timeout', { delayMs: 50 });
  const before = await w.balance('user');
  await approveGenerate(context, demoPage);
  const popup = await openExtensionPage(POPUP);
  // A timeout says nothing about whether money moved: the ledger must not guess.
  expect((await ledger(popup))[0]).toMatchObject({ state: 'unknown', failure: { code: 'timeout' } });
  // A (re)started worker asks the wallet, which knows the payment failed.
  await restartWorker();
  await expect.poll(async () => (await ledger(popup))[0]?.state).toBe('failed');
  expect(await w.balance('user')).toBe(before);
});
