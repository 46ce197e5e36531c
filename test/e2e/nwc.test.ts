/** Nostr Wallet Connect from the service worker: through the stack's local relay to its wallet service. */

import { expect, test } from './harness/fixtures';
import { ask, draft, ledger, nextQuoteWindow, POPUP } from './harness/flows';
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

test("over NWC, the wallet makes the invoice for an estimate's unused part and a reject's refund", async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await ask(popup, 'rails.setDefault', { railId: 'nwc-standin' });
  const w = wallets(stack);
  const before = await w.balance('user');
  const accepted = draft(demoPage, 'estimated over nostr');
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  expect(await accepted).toBe(200);
  const [first] = await ledger(popup);
  const after = await ask(popup, 'payment.accept', { paymentId: first?.id ?? '' });
  expect(after.refundedMinor).toBeDefined();
  const spent = before - (await w.balance('user'));
  expect(spent).toBeGreaterThan(0n);
  expect(spent).toBeLessThan(BigInt(first?.amountMsat ?? '0'));

  const rejected = draft(demoPage, 'refunded over nostr');
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  expect(await rejected).toBe(200);
  const [second] = await ledger(popup);
  const d = await ask(popup, 'payment.reject', { paymentId: second?.id ?? '', reason: 'no good' });
  expect(d.status).toBe('refunded');
  expect(before - (await w.balance('user'))).toBe(spent);
});
