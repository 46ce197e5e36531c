/** Rejecting what was delivered, and the dispute log: card refunds, Lightning at the app's discretion, failed proofs. */
import type { Page } from 'playwright-core';
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

/** One request from the demo page to the route that refuses every credential; resolves with its status. */
function askRefusing(page: Page, as: string): Promise<number> {
  return page.evaluate(async (a) => (await fetch(`/api/refuses?as=${a}`)).status, as);
}

test('an app that refuses a valid paid proof: delivered nothing, a dispute with the evidence, a notice, the history says so, and asking again pays nothing', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const as = `fetch-${Date.now().toString(36)}`;
  const popup = await openExtensionPage(POPUP);
  const before = await w.balance('user');
  const status = askRefusing(demoPage, as);
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  // The retry carried a valid proof, and the app answered 402 anyway.
  expect(await status).toBe(402);
  const paid = before - (await w.balance('user'));
  expect(paid).toBeGreaterThan(0n);

  // The page reports what the retry got just after handing it over: wait for the ledger to say so.
  await expect
    .poll(async () => (await ledger(popup))[0]?.deliveredNothing)
    .toEqual({ status: 402, by: 'page' });
  const [row] = await ledger(popup);
  expect(row).toMatchObject({ state: 'paid', amountMsat: paid.toString() });

  // The dispute opens just after the delivery is written down: wait for it, not for a guess.
  await expect.poll(async () => (await ask(popup, 'disputes.list', {}))[0]?.source).toBe('refused');
  const [d] = await ask(popup, 'disputes.list', {});
  expect(d).toMatchObject({
    paymentId: row?.id,
    source: 'refused',
    status: 'open',
    reason: 'the app answered the paid request with HTTP 402 and delivered nothing (as the page reported)',
    evidence: { delivered: { status: 402, by: 'page', refused: true } },
  });
  expect(d?.evidence.proof).toMatch(/^[0-9a-f]{64}$/);
  expect(d?.evidence.delivered?.headers?.map(([k]) => k)).toEqual(
    expect.arrayContaining(['www-authenticate', 'content-type']),
  );
  // The export keeps the whole evidence: the challenge that was paid and the refused answer.
  const [exported] = (await ask(popup, 'ledger.export', {})).disputes as {
    evidence: { challengeHeaders: [string, string][]; delivery?: { headers?: [string, string][] } };
  }[];
  const challenge = exported?.evidence.challengeHeaders.find(([k]) => k.toLowerCase() === 'www-authenticate');
  expect(challenge?.[1]).toMatch(/^L402 macaroon=/);
  expect(exported?.evidence.delivery?.headers).toContainEqual(['www-authenticate', challenge?.[1]]);

  // Told at once, not muted like a routine payment.
  expect(await popup.evaluate(async () => Object.keys(await chrome.notifications.getAll()))).toContain(
    `refused-${row?.id}`,
  );

  // The history says it in words, and the dispute log says who opened it.
  const options = await openExtensionPage(`${OPTIONS}#all`);
  await expect
    .poll(() => options.locator('[data-testid=delivered-nothing]').first().textContent())
    .toBe('Delivered nothing: the app answered HTTP 402 (as the page reported)');
  await expect
    .poll(() => options.locator('[data-testid=disputes] [data-source=refused]').textContent())
    .toContain('The app refused the paid proof');

  // Asked again, the app presents the same challenge: nothing is paid, no quote is shown, and the
  // request's log says why.
  const pages = context.pages().length;
  expect(await askRefusing(demoPage, as)).toBe(402);
  expect(await w.balance('user')).toBe(before - paid);
  expect(await ledger(popup)).toHaveLength(1);
  expect(context.pages()).toHaveLength(pages);
  const [logged] = await ask(popup, 'challenges.recent', { limit: 1 });
  expect(logged?.error).toBe(
    'this app refused the proof of an earlier payment for this request: Paybound does not pay it again',
  );
  expect(await ask(popup, 'disputes.list', {})).toHaveLength(1);
});

test("a paid page load the app refuses: reported by the tab's top frame, disputed, and not paid again on the next load", async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const url = `${stack.demo}/api/refuses?as=nav-${Date.now().toString(36)}`;
  const popup = await openExtensionPage(POPUP);
  const before = await w.balance('user');
  const page = await context.newPage();
  const [quote] = await Promise.all([nextQuoteWindow(context), page.goto(url)]);
  await quote.click('[data-testid=approve]');
  // Paid, the tab's bridge fetches the page with the token, and the app refuses it: the top frame
  // reports that answer (Chromium holds no webRequest, so the browser is not watching).
  await expect
    .poll(async () => (await ledger(popup))[0]?.deliveredNothing)
    .toEqual({ status: 402, by: 'page' });
  const paid = before - (await w.balance('user'));
  expect(paid).toBeGreaterThan(0n);
  await expect.poll(async () => (await ask(popup, 'disputes.list', {}))[0]?.source).toBe('refused');
  const [d] = await ask(popup, 'disputes.list', {});
  expect(d).toMatchObject({
    source: 'refused',
    reason: 'the app answered the paid request with HTTP 402 and delivered nothing (as the page reported)',
    evidence: { delivered: { status: 402, by: 'page', refused: true } },
  });

  // Loading it again meets the same challenge: nothing paid, nothing asked.
  const response = await page.goto(url);
  expect(response?.status()).toBe(402);
  expect(await w.balance('user')).toBe(before - paid);
  expect(await ledger(popup)).toHaveLength(1);
  await expect
    .poll(async () => (await ask(popup, 'challenges.recent', { limit: 1 }))[0]?.error)
    .toBe(
      'this app refused the proof of an earlier payment for this request: Paybound does not pay it again',
    );
  expect(await ask(popup, 'disputes.list', {})).toHaveLength(1);
});

test('an XMLHttpRequest the app refuses after paying is reported the same, with the refused headers', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  const status = demoPage.evaluate(
    (a) =>
      new Promise<number>((resolve) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', `/api/refuses?as=${a}`);
        xhr.onloadend = () => resolve(xhr.status);
        xhr.send();
      }),
    `xhr-${Date.now().toString(36)}`,
  );
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  expect(await status).toBe(402);
  await expect
    .poll(async () => (await ledger(popup))[0]?.deliveredNothing)
    .toEqual({ status: 402, by: 'page' });
  // The dispute opens just after the delivery is written down: wait for it, not for a guess.
  await expect.poll(async () => (await ask(popup, 'disputes.list', {}))[0]?.source).toBe('refused');
  const [d] = await ask(popup, 'disputes.list', {});
  expect(d).toMatchObject({ source: 'refused', evidence: { delivered: { status: 402, refused: true } } });
  expect(d?.evidence.delivered?.headers?.find(([k]) => k === 'www-authenticate')?.[1]).toMatch(/^L402 /);
});
