/**
 * Estimates and quality gates, both rails: the quote shows the app's range, the user pays (or
 * authorizes) the maximum, the app settles the actual; accept, reject (all or part), the end of the
 * window, an app that over-reports, refunds that never come, chargebacks.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, inject } from 'vitest';
import { writeDraft } from '../../server/merchant/demo/generator';
import { countWords, draftActualMsat, satToUsdCents } from '../../server/merchant/demo/pricing';
import { linkCard } from './harness/cards';
import { expect, test } from './harness/fixtures';
import { ask, draft, ledger, nextQuoteWindow, POPUP, setRules } from './harness/flows';
import { wallets } from './harness/wallets';

const OPTIONS = 'src/ui/options/index.html';

/** What the demo charges for a draft of this prompt (its formula, in server/merchant/demo/pricing.ts). */
const actualMsat = (prompt: string) => draftActualMsat(prompt, countWords(writeDraft(prompt, 100)));

afterEach(async () => {
  await wallets(inject('stack')).clearFailures();
});

async function approveDraft(context: BrowserContext, demoPage: Page, prompt: string) {
  const status = draft(demoPage, prompt);
  const quote = await nextQuoteWindow(context);
  const estimate = await quote.textContent('[data-testid=estimate]');
  const window = await quote.textContent('[data-testid=review-window]');
  // An estimate authorizes its maximum, whichever wallet pays: the button says so, not "Pay".
  expect(await quote.textContent('[data-testid=approve]')).toMatch(/^Authorize up to \$\d+\.\d\d$/);
  const next = await quote.textContent('[data-testid=next]');
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
  return { estimate, window, next };
}

test('Lightning: the quote shows the estimate; accept pays the difference back to the user wallet', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  const before = await w.balance('user');
  const { estimate, window, next } = await approveDraft(context, demoPage, 'a short note');
  expect(estimate).toMatch(/Estimated \$\d+\.\d\d to \$\d+\.\d\d/);
  expect(window).toMatch(/10 min/);
  expect(next).toContain('the app settles the actual amount');
  const [paid] = await ledger(popup);
  expect(paid).toMatchObject({ state: 'paid', provisional: true });
  const max = BigInt(paid?.amountMsat ?? '0');
  expect(before - (await w.balance('user'))).toBe(max);

  // The popup lists it under review, with Accept.
  const view = await openExtensionPage(POPUP);
  await view.click(`[data-testid=accept-${paid?.id}]`);
  await expect.poll(async () => (await ledger(popup))[0]?.state).toBe('accepted');
  const [accepted] = await ledger(popup);
  expect(accepted?.provisional).toBe(false);
  expect(BigInt(accepted?.actualMinor ?? '0')).toBeLessThan(BigInt(accepted?.amountMinor ?? '0'));
  // The difference came back: the user is down exactly the actual amount.
  const spent = before - (await w.balance('user'));
  expect(spent).toBe(actualMsat('a short note'));
  expect(spent).toBeLessThan(max);
  expect(accepted?.refundedMinor).toBeDefined();
  // Accepting again changes nothing and pays nothing twice (it also waits for the first to finish).
  await ask(popup, 'payment.accept', { paymentId: paid?.id ?? '' });
  expect(before - (await w.balance('user'))).toBe(spent);
  // Budgets count what was really spent.
  const [budget] = await ask(popup, 'spend.summary', {});
  expect(BigInt(budget?.spentMinor ?? '0')).toBe(
    BigInt(accepted?.amountMinor ?? '0') - BigInt(accepted?.refundedMinor ?? '0'),
  );
});

test('Lightning: rejecting all of it in the window gets a refund to the user wallet; twice is once', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  const before = await w.balance('user');
  // The page keeps what it received: its hash becomes the dispute's evidence.
  const got = demoPage.evaluate(async () => {
    const res = await fetch('/drafts/generate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'reject me' }),
    });
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await res.arrayBuffer()));
    return {
      status: res.status,
      sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
    };
  });
  await (await nextQuoteWindow(context)).click('[data-testid=approve]');
  const received = await got;
  expect(received.status).toBe(200);
  const [paid] = await ledger(popup);
  await expect
    .poll(async () =>
      (await ask(popup, 'ledger.export', {})).payments.some((p) =>
        JSON.stringify(p).includes(received.sha256),
      ),
    )
    .toBe(true);
  const options = await openExtensionPage(`${OPTIONS}#all`);
  await options.click(`[data-testid=reject-${paid?.id}]`);
  await options.fill('[data-testid=reject-form] input >> nth=0', 'Nothing like what I asked');
  await options.click('[data-testid=reject-form] button[type=submit]');
  // The dispute moves last, once the refund is in the wallet and the ledger says so.
  await expect.poll(async () => (await ask(popup, 'disputes.list', {}))[0]?.status).toBe('refunded');
  expect((await ledger(popup))[0]?.state).toBe('refunded');
  const [d] = await ask(popup, 'disputes.list', {});
  expect(d).toMatchObject({ paymentId: paid?.id, status: 'refunded', source: 'user' });
  expect(d?.answer?.status).toBe('refunded');
  const exported = (await ask(popup, 'ledger.export', {})).disputes as {
    evidence: { delivery?: { status: number; sha256: string } };
  }[];
  expect(exported[0]?.evidence.delivery).toMatchObject({ status: 200, sha256: received.sha256 });
  await expect.poll(() => options.locator('[data-testid=disputes] [data-status=refunded]').count()).toBe(1);
  // The settings page shows the evidence: the proof and what the page received.
  await options.click('[data-testid=dispute-evidence] summary');
  expect(await options.textContent('[data-testid=dispute-evidence]')).toContain(received.sha256);
  // All of it came back, and none of it counts against the budget.
  expect(await w.balance('user')).toBe(before);
  expect((await ask(popup, 'spend.summary', {}))[0]).toMatchObject({ spentMinor: '0', reservedMinor: '0' });
  // A second reject is the same dispute, not a second refund.
  const again = await ask(popup, 'payment.reject', { paymentId: paid?.id ?? '', reason: 'again' });
  expect(again.id).toBe(d?.id);
  expect(await w.balance('user')).toBe(before);
});

test('Lightning: rejecting part of it refunds that part', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  const before = await w.balance('user');
  await approveDraft(context, demoPage, 'half good');
  const [paid] = await ledger(popup);
  const d = await ask(popup, 'payment.reject', {
    paymentId: paid?.id ?? '',
    reason: 'half of it was off',
    amountMinor: '100',
  });
  expect(d.status).toBe('partially_refunded');
  const [row] = await ledger(popup);
  expect(row?.state).toBe('partially_refunded');
  // $1.00 at the stand-in's rate (100 000 USD/BTC) is 1 000 sat.
  expect(before - (await w.balance('user'))).toBe(BigInt(paid?.amountMsat ?? '0') - 1_000_000n);
});

test('Lightning: the window ends by itself (alarm, across a worker restart): accepted, the difference paid back; a reject after it is refused', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
  restartWorker,
}) => {
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  const before = await w.balance('user');
  await approveDraft(context, demoPage, 'quick #window=3');
  const [paid] = await ledger(popup);
  expect(paid?.provisional).toBe(true);
  // The worker is stopped while the window runs: the alarm wakes a new one.
  await restartWorker();
  await expect.poll(async () => (await ledger(popup))[0]?.state, { timeout: 30_000 }).toBe('accepted');
  expect(before - (await w.balance('user'))).toBeLessThan(BigInt(paid?.amountMsat ?? '0'));
  // A quiet notice says it was accepted by itself.
  await expect
    .poll(() => popup.evaluate(async () => Object.keys(await chrome.notifications.getAll())))
    .toContain(`review-${paid?.id}`);
  await expect(
    ask(popup, 'payment.reject', { paymentId: paid?.id ?? '', reason: 'too late' }),
  ).rejects.toThrow(/ask for a refund instead/);
  // After the window a Lightning refund is a request at the app's discretion, and the page says so.
  const options = await openExtensionPage(`${OPTIONS}#all`);
  await options.click(`[data-testid=refund-${paid?.id}]`);
  expect(await options.textContent('[data-testid=refund-note]')).toMatch(/up to the app/);
  await options.fill('[data-testid=reject-form] input >> nth=0', 'on second thought');
  await options.click('[data-testid=reject-form] button[type=submit]');
  // The demo queues late requests for its operator: the dispute stays open.
  await expect
    .poll(async () => (await ask(popup, 'disputes.list', {}))[0]?.answer?.status)
    .toBe('refund_queued');
  expect((await ask(popup, 'disputes.list', {}))[0]).toMatchObject({
    reason: 'on second thought',
    status: 'open',
  });
});

test('Lightning: an app that queues the refund and never pays it: the dispute stays open and says so', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await approveDraft(context, demoPage, 'stingy #hold-refunds');
  const [paid] = await ledger(popup);
  const d = await ask(popup, 'payment.reject', { paymentId: paid?.id ?? '', reason: 'bad' });
  expect(d.status).toBe('open');
  expect(d.answer?.status).toBe('refund_queued');
  expect(d.timeline.at(-1)?.note).toMatch(/queued the refund/);
  expect((await ledger(popup))[0]?.state).toBe('refund_requested');
  // Checking again finds no refund in the wallet: still open.
  await ask(popup, 'review.sweep', {});
  expect((await ask(popup, 'disputes.list', {}))[0]?.status).toBe('open');
});

test('Lightning: a queued refund the operator pays later is found by the next sweep; one denied is closed as denied', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  const operator = async (charge: string, decision: 'pay' | 'deny') => {
    const res = await fetch(`${stack.demo}/_demo/refunds/${charge}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.demoOperatorToken}` },
      body: JSON.stringify({ decision }),
    });
    expect(res.status).toBe(200);
  };
  const before = await w.balance('user');
  await approveDraft(context, demoPage, 'paid later #hold-refunds');
  const [first] = await ledger(popup);
  expect((await ask(popup, 'payment.reject', { paymentId: first?.id ?? '', reason: 'bad' })).status).toBe(
    'open',
  );
  await operator(first?.paymentHash ?? '', 'pay');
  await ask(popup, 'review.sweep', {});
  expect((await ledger(popup))[0]?.state).toBe('refunded');
  expect((await ask(popup, 'disputes.list', {}))[0]?.status).toBe('refunded');
  expect(await w.balance('user')).toBe(before);

  await approveDraft(context, demoPage, 'denied later #hold-refunds');
  const [second] = await ledger(popup);
  await ask(popup, 'payment.reject', { paymentId: second?.id ?? '', reason: 'bad too' });
  await operator(second?.paymentHash ?? '', 'deny');
  await ask(popup, 'review.sweep', {});
  expect((await ledger(popup))[0]?.state).toBe('refund_denied');
  const [denied] = await ask(popup, 'disputes.list', {});
  expect(denied).toMatchObject({ status: 'denied', answer: { status: 'refund_denied' } });
});

test('Lightning: a refund URL that fails leaves the dispute open, saying so', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await approveDraft(context, demoPage, 'broken #broken-refunds');
  const [paid] = await ledger(popup);
  const d = await ask(popup, 'payment.reject', { paymentId: paid?.id ?? '', reason: 'bad' });
  expect(d.status).toBe('open');
  expect(d.timeline.at(-1)?.note).toMatch(/refund URL failed/);
});

test('Lightning: an app that over-reports the actual gets nothing more, and a dispute', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  const before = await w.balance('user');
  await approveDraft(context, demoPage, 'greedy #overcharge');
  const [paid] = await ledger(popup);
  await ask(popup, 'payment.accept', { paymentId: paid?.id ?? '' });
  expect(before - (await w.balance('user'))).toBe(BigInt(paid?.amountMsat ?? '0'));
  const [d] = await ask(popup, 'disputes.list', {});
  expect(d).toMatchObject({ source: 'app', status: 'escalated' });
  expect(d?.reason).toMatch(/above the .* you authorized/);
});

test('card: estimate → authorize the maximum → the app reports the actual → accept captures only the actual', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '0' }));
  const { estimate, next } = await approveDraft(context, demoPage, 'by card');
  expect(estimate).toMatch(/Estimated/);
  expect(next).toContain('only the actual amount is charged');
  const [paid] = await ledger(popup);
  expect(paid).toMatchObject({ state: 'paid', provisional: true });
  const accepted = await ask(popup, 'payment.accept', { paymentId: paid?.id ?? '' });
  expect(accepted.state).toBe('accepted');
  // Captured: exactly the actual the app reported (its sats price in cents), below the maximum.
  expect(accepted.actualMinor).toBe(satToUsdCents(actualMsat('by card') / 1000n).toString());
  expect(BigInt(accepted.actualMinor ?? '0')).toBeLessThan(BigInt(paid?.amountMinor ?? '0'));
  const [budget] = await ask(popup, 'spend.summary', {});
  expect(budget?.spentMinor).toBe(accepted.actualMinor);
});

test('card: reject all cancels the authorization; reject part captures the rest', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup);
  await approveDraft(context, demoPage, 'card reject all');
  const [first] = await ledger(popup);
  const all = await ask(popup, 'payment.reject', { paymentId: first?.id ?? '', reason: 'useless' });
  expect(all.status).toBe('refunded');
  expect(all.timeline.at(-1)?.note).toMatch(/cancelled: nothing was charged/);
  expect((await ledger(popup))[0]).toMatchObject({ state: 'refunded', actualMinor: '0' });

  await approveDraft(context, demoPage, 'card reject part');
  const [second] = await ledger(popup);
  const part = await ask(popup, 'payment.reject', {
    paymentId: second?.id ?? '',
    reason: 'half of it',
    amountMinor: '50',
  });
  expect(part.status).toBe('partially_refunded');
  const [row] = await ledger(popup);
  expect(row?.state).toBe('partially_refunded');
  // What was captured: what the app reported, less the 50 cents asked back.
  expect(row?.actualMinor).toBe((satToUsdCents(actualMsat('card reject part') / 1000n) - 50n).toString());
  expect((await ask(popup, 'spend.summary', {}))[0]?.spentMinor).toBe(row?.actualMinor);
});

test('card: an app that reports more than the authorization: the service refuses, the user sees a dispute', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup);
  await approveDraft(context, demoPage, 'card greedy #overcharge');
  const [paid] = await ledger(popup);
  const accepted = await ask(popup, 'payment.accept', { paymentId: paid?.id ?? '' });
  // Never more than was authorized.
  expect(BigInt(accepted.actualMinor ?? '0')).toBeLessThanOrEqual(BigInt(paid?.amountMinor ?? '0'));
  const [d] = await ask(popup, 'disputes.list', {});
  expect(d).toMatchObject({ source: 'app', status: 'escalated' });
});

test('card: a charge the issuer disputes (0259) shows up as a dispute, and travels with the export', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup, '4000 0000 0000 0259');
  await approveDraft(context, demoPage, 'card chargeback');
  const [paid] = await ledger(popup);
  await ask(popup, 'payment.accept', { paymentId: paid?.id ?? '' });
  await expect
    .poll(async () => {
      await ask(popup, 'review.sweep', {});
      return (await ask(popup, 'disputes.list', {})).find((d) => d.source === 'chargeback')?.status;
    })
    .toBe('escalated');
  const options = await openExtensionPage(`${OPTIONS}#all`);
  await expect.poll(() => options.locator('[data-testid=disputes] [data-source=chargeback]').count()).toBe(1);
  const exported = await ask(popup, 'ledger.export', {});
  expect(JSON.stringify(exported.disputes)).toContain('chargeback');
});

test('card: the window ends by itself: the reported actual is captured, never left to expire', async ({
  context,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await linkCard(context, popup);
  await approveDraft(context, demoPage, 'card quick #window=3');
  const [paid] = await ledger(popup);
  await expect.poll(async () => (await ledger(popup))[0]?.state, { timeout: 30_000 }).toBe('accepted');
  const [row] = await ledger(popup);
  expect(BigInt(row?.actualMinor ?? '0')).toBeGreaterThan(0n);
  expect(BigInt(row?.actualMinor ?? '0')).toBeLessThan(BigInt(paid?.amountMinor ?? '0'));
  // After the window a captured card charge can still be refunded, in part.
  const d = await ask(popup, 'payment.refund', {
    paymentId: paid?.id ?? '',
    reason: 'found an error',
    amountMinor: '10',
  });
  expect(d.status).toBe('partially_refunded');
  const spent = BigInt((await ask(popup, 'spend.summary', {}))[0]?.spentMinor ?? '-1');
  expect(spent).toBe(BigInt(row?.actualMinor ?? '0') - 10n);
});
