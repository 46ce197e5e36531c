/** Nostr Wallet Connect from the service worker: through the stack's local relay to its wallet service. */

import { expect, test } from './harness/fixtures';
import { ask, ledger, nextQuoteWindow, POPUP } from './harness/flows';
import { wallets } from './harness/wallets';

test('an approved quote is paid over NWC and the fetch resolves 200', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await ask(popup, 'rails.setDefault', { railId: 'nwc-standin' });
  const w = wallets(stack);
  const before = await w.balance('user');
  await demoPage.fill('#prompt', 'paid over nostr');
  const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('200 OK');
  const [row] = await ledger(popup);
  expect(row).toMatchObject({ state: 'paid' });
  expect(before - (await w.balance('user'))).toBe(BigInt(row?.amountMsat ?? -1));
});

test('an NWC wallet without funds: refused by the wallet, nothing charged, on the ledger', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await ask(popup, 'rails.setDefault', { railId: 'nwc-standin' });
  const w = wallets(stack);
  await w.injectFailure('user', 'insufficient_balance');
  try {
    const before = await w.balance('user');
    await demoPage.fill('#prompt', 'no funds over nostr');
    const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
    await quote.click('[data-testid=approve]');
    await expect.poll(() => demoPage.textContent('#status')).toBe('Payment required (402)');
    expect((await ledger(popup))[0]).toMatchObject({
      state: 'failed',
      failure: { code: 'insufficient_balance' },
    });
    expect(await w.balance('user')).toBe(before);
  } finally {
    await w.clearFailures();
  }
});
