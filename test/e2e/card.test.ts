/** The card rail: link a card on the Stripe stand-in's hosted page, then pay the demo app by card. */
import { quoteGenerateCents } from '../../server/merchant/demo/pricing';
import { linkCard } from './harness/cards';
import { expect, test } from './harness/fixtures';
import { ask, generate, ledger, nextQuoteWindow, POPUP, setRules } from './harness/flows';

test('link a card on the hosted page, then pay by card: the quote says it is an authorization', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup, '4242 4242 4242 4242');
  expect((await ask(popup, 'status.get', {})).rails.map((r) => r.label)).toContain('Visa •••• 4242');
  const status = generate(demoPage, 'paid by card');
  const quote = await nextQuoteWindow(context);
  // A fixed card price: paid as quoted, captured when the app answers; no review to wait for.
  expect(await quote.textContent('[data-testid=card-note]')).toBe('By card, in USD');
  expect(await quote.textContent('[data-testid=next]')).toBe(
    'Your card is authorized now and charged when the app answers.',
  );
  expect(await quote.textContent('[data-testid=approve]')).toMatch(/^Pay \$\d+\.\d\d$/);
  // Cards have no balance to show.
  expect(await quote.locator('[data-testid=wallet-balance]').count()).toBe(0);
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
  const [row] = await ledger(popup);
  // The authorization is the app's card price for this prompt, in cents; a card moves no sats.
  expect(row).toMatchObject({
    state: 'paid',
    approval: 'approved',
    amountMsat: '0',
    amountMinor: quoteGenerateCents('paid by card').toString(),
  });
});

test('card, auto tier: pays without a window; the same challenge presented again is not charged twice', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup, '4242424242424242');
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  // Capture the 402 the demo sends, to present the very same challenge twice.
  let challenge: Record<string, string> | undefined;
  demoPage.on('response', (res) => {
    if (res.status() === 402 && !challenge) challenge = res.headers();
  });
  expect(await generate(demoPage)).toBe(200);
  expect((await ledger(popup))[0]).toMatchObject({ state: 'paid', approval: 'auto' });
  const header = challenge?.['www-authenticate'] ?? '';
  expect(header).toContain('method="card"');
  await demoPage.route('**/replayed', (route) =>
    route.fulfill({ status: 402, headers: { 'www-authenticate': header }, body: '{}' }),
  );
  await demoPage.evaluate(() => fetch('/replayed'));
  expect(await ledger(popup)).toHaveLength(1);
});

test('a declined card: the page keeps its 402, the ledger says declined, nothing is counted', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup, '4000 0000 0000 0002');
  const status = generate(demoPage, 'declined');
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  expect(await status).toBe(402);
  expect((await ledger(popup))[0]).toMatchObject({
    state: 'failed',
    failure: { reason: expect.stringMatching(/declined/) },
  });
  const spent = await ask(popup, 'spend.summary', {});
  expect(spent[0]).toMatchObject({ spentMinor: '0', reservedMinor: '0' });
});

test('the quote window offers the other wallets: switching from Lightning to the card re-quotes and pays by card', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  const cardId = await linkCard(context, popup, '4242 4242 4242 4242');
  await ask(popup, 'rails.setDefault', { railId: 'lnbits-standin' });
  const before = await (
    await fetch(`${stack.lnbits}/api/v1/wallet`, { headers: { 'X-Api-Key': stack.wallets.user.invoiceKey } })
  ).json();
  const status = generate(demoPage, 'switch wallets');
  const quote = await nextQuoteWindow(context);
  expect(await quote.inputValue('[data-testid=pay-with]')).toBe('lnbits-standin');
  expect(await quote.locator('[data-testid=pay-with] option').allTextContents()).toContain('Visa •••• 4242');
  await quote.selectOption('[data-testid=pay-with]', cardId);
  await quote.waitForSelector('[data-testid=card-note]');
  expect(await quote.inputValue('[data-testid=pay-with]')).toBe(cardId);
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
  const rows = await ledger(popup);
  expect(rows.map((r) => [r.state, r.railId, r.failure?.code ?? null])).toEqual([
    ['paid', cardId, null],
    ['failed', 'lnbits-standin', 'switched'],
  ]);
  // Nothing left the Lightning wallet, and nothing stays reserved.
  const after = await (
    await fetch(`${stack.lnbits}/api/v1/wallet`, { headers: { 'X-Api-Key': stack.wallets.user.invoiceKey } })
  ).json();
  expect(after.balance).toBe(before.balance);
  const [budget] = await ask(popup, 'spend.summary', {});
  expect(budget?.reservedMinor).toBe('0');
});

test('switching between Lightning wallets keeps the quote and pays with the chosen one', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  const status = generate(demoPage, 'lightning switch');
  const quote = await nextQuoteWindow(context);
  await quote.selectOption('[data-testid=pay-with]', 'nwc-standin');
  await expect.poll(() => quote.inputValue('[data-testid=pay-with]')).toBe('nwc-standin');
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
  const rows = await ledger(popup);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ state: 'paid', railId: 'nwc-standin' });
});

test("link a card with the settings page's own button: while the card page has not opened, linking keeps waiting and says so", async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  // The race a busy machine runs into: the settings page asks before the tab reached the card
  // service, which knows no link for the state yet. That is a wait, not a failure…
  const fresh = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  const pretendStarted = (startedAt: number) =>
    popup.evaluate(
      ([serviceUrl, state, secret, at]) =>
        chrome.storage.session.set({ cardLink: { serviceUrl, state, secret, startedAt: at } }),
      [stack.cardService, fresh(), fresh(), startedAt] as const,
    );
  await pretendStarted(Date.now());
  expect(await ask(popup, 'card.linkPoll', {})).toEqual({ status: 'pending', waiting: 'page' });
  // …until the page has had minutes to open.
  await pretendStarted(Date.now() - 3 * 60 * 1000);
  expect(await ask(popup, 'card.linkPoll', {})).toMatchObject({
    status: 'failed',
    reason: expect.stringContaining('never opened'),
  });

  // The button itself, end to end: the page follows the link until the card is linked.
  const options = await openExtensionPage('src/ui/options/index.html#wallets');
  const tabOpened = context.waitForEvent('page');
  await options.click('[data-testid=link-card-start]');
  const tab = await tabOpened;
  await tab.waitForSelector('#cardNumber');
  await tab.fill('#cardNumber', '4242 4242 4242 4242');
  await tab.fill('#cardExpiry', '12 / 34');
  await tab.fill('#cardCvc', '123');
  await tab.click('#submit');
  await expect
    .poll(() => options.textContent('[data-testid=link-card-status]'), { timeout: 30_000 })
    .toBe('Linked Visa •••• 4242.');
  expect((await ask(popup, 'status.get', {})).rails.map((r) => r.label)).toContain('Visa •••• 4242');
});

test('a limit set on the settings page is held by the card service: a charge above it is refused, nothing authorized', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  const railId = await linkCard(context, popup);
  const options = await openExtensionPage('src/ui/options/index.html#wallets');
  const form = options.locator(`[data-testid=card-limits-${railId}]`);
  await form.locator('[data-testid=card-limit-charge]').fill('1.00');
  await form.locator('button[type=submit]').click();
  await expect
    .poll(() => form.locator('[data-testid=card-limits-status]').textContent())
    .toContain('now holds');
  const status = generate(demoPage, 'above the card limit');
  const quote = await nextQuoteWindow(context);
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(402);
  const [row] = await ledger(popup);
  expect(row).toMatchObject({ state: 'failed', failure: { code: 'wallet_error' } });
  expect(row?.failure?.reason).toContain("above this card's own limit");
});
