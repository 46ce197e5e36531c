/** Rejecting what was delivered, and the dispute log: card refunds, Lightning at the app's discretion, failed proofs. */
import { afterEach, inject } from 'vitest';
import { linkCard } from './harness/cards';
import { expect, test } from './harness/fixtures';
import { ask, generate, ledger, nextQuoteWindow, POPUP, setRules } from './harness/flows';
import { wallets } from './harness/wallets';

const OPTIONS = 'src/ui/options/index.html';

afterEach(async () => {
  await wallets(inject('stack')).clearFailures();
});

test('rejecting a card charge on the history page refunds it through the card service and logs the dispute', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  expect(await generate(demoPage, 'not what I asked for')).toBe(200);
  const [paid] = await ledger(popup);
  const options = await openExtensionPage(`${OPTIONS}#all`);
  await options.click(`[data-testid=reject-${paid?.id}]`);
  await options.fill('[data-testid=reject-form] input >> nth=0', 'The text ignored my prompt');
  await options.click('[data-testid=reject-form] button[type=submit]');
  await expect.poll(async () => (await ask(popup, 'disputes.list', {}))[0]?.status).toBe('refunded');
  await expect.poll(() => options.locator('[data-testid=disputes] [data-status=refunded]').count()).toBe(1);
  const [dispute] = await ask(popup, 'disputes.list', {});
  expect(dispute).toMatchObject({
    paymentId: paid?.id,
    reason: 'The text ignored my prompt',
    status: 'refunded',
  });
  expect((await ledger(popup))[0]).toMatchObject({ state: 'rejected' });
  // The refunded charge no longer counts against the budget.
  expect((await ask(popup, 'spend.summary', {}))[0]).toMatchObject({ spentMinor: '0', reservedMinor: '0' });
  // Once only: a second reject is the same dispute, nothing refunded twice.
  expect((await ask(popup, 'payment.reject', { paymentId: paid?.id ?? '', reason: 'again' })).id).toBe(
    dispute?.id,
  );
  expect(await ask(popup, 'disputes.list', {})).toHaveLength(1);
  // Disputes travel with the export.
  expect((await ask(popup, 'ledger.export', {})).disputes).toHaveLength(1);
});

test('rejecting a Lightning charge opens a dispute that stays open: refunds are up to the app', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  const status = generate(demoPage, 'meh');
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  expect(await status).toBe(200);
  const [paid] = await ledger(popup);
  const d = await ask(popup, 'payment.reject', {
    paymentId: paid?.id ?? '',
    reason: 'poor quality',
    amountMinor: '100',
  });
  expect(d).toMatchObject({ status: 'open', requestedMinor: '100' });
  expect(d.timeline.at(-1)?.note).toMatch(/only be refunded by the app/);
});

test('a wallet that lies about the proof opens a dispute by itself, with the evidence', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  await wallets(stack).injectFailure('user', 'wrong_preimage');
  const popup = await openExtensionPage(POPUP);
  const status = generate(demoPage, 'lying wallet');
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  expect(await status).toBe(402);
  const [d] = await ask(popup, 'disputes.list', {});
  expect(d).toMatchObject({
    status: 'open',
    reason: 'the wallet returned a proof that does not match the invoice',
  });
  expect(d?.paymentId).toBe((await ledger(popup))[0]?.id);
});
