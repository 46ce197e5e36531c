/**
 * Plans beside pay-per-use, in real Chromium against the demo's Quill Pro (docs/plans.md): the
 * quote compares the plan with this site's own history, "Subscribe" quotes the first period in the
 * same window, the browser then sends the subscriber credential, included drafts are served,
 * overage is paid within its cap without a window, the cap asks again, a renewal within the
 * standing approval is paid without a window, and a cancelled plan renews no more. By card, the
 * card service's Stripe subscription renews on its test clock.
 */
import type { BrowserContext, Page } from 'playwright-core';
import Stripe from 'stripe';
import { afterEach, inject } from 'vitest';
import { STRIPE_API_VERSION } from '../../server/card/stripe';
import { PLAN_ADVANCE_PATH, PLAN_PRICE_PATH } from '../../server/merchant/demo/plans';
import { DEFAULT_SECRET_KEY } from '../../server/standins/stripe/index';
import { linkCard } from './harness/cards';
import { expect, test } from './harness/fixtures';
import { ask, draft, ledger, nextQuoteWindow, POPUP, setRules, step } from './harness/flows';

const DAY_S = 86_400;

/**
 * A time zone where it is about noon now ('Etc/GMT+8' is UTC−8): a day budget is then half gone
 * whenever the test runs, so its forecast has a pace to go by.
 */
function noonZone(): string {
  let east = 12 - new Date().getUTCHours();
  if (east < -12) east += 24;
  if (east > 14) east -= 24;
  return east === 0 ? 'Etc/GMT' : east > 0 ? `Etc/GMT-${east}` : `Etc/GMT+${-east}`;
}

/**
 * Every charge asks, and nothing here is held back by a budget: these tests are about plans. A
 * day budget counts along, in a zone where it is noon, for the forecast.
 */
async function planRules(popup: Page): Promise<void> {
  await setRules(popup, (r) => ({
    ...r,
    timeZone: noonZone(),
    autoMaxMinor: '0',
    confirmMaxMinor: '1000000',
    budgets: [
      ...r.budgets.map((b) => ({ ...b, limitMinor: '10000000' })),
      {
        id: 'day',
        label: 'Today',
        scope: { kind: 'global' },
        period: 'day',
        limitMinor: '10000000',
        milestones: [],
      },
    ],
  }));
}

/** A draft the user pays per use in the quote window. */
async function paidDraft(context: BrowserContext, page: Page): Promise<void> {
  const status = draft(page, 'per use');
  const quote = await nextQuoteWindow(context);
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
}

/** A draft whose quote the user answers with "Subscribe", then approves the plan's first period. */
async function subscribeFromQuote(
  context: BrowserContext,
  page: Page,
  popup?: Page,
): Promise<{ comparison: string }> {
  const status = draft(page, 'on the plan');
  const quote = await nextQuoteWindow(context);
  await quote.waitForSelector('[data-testid=plan]');
  const comparison = (await quote.textContent('[data-testid=plan-compare]')) ?? '';
  await quote.click('[data-testid=subscribe]');
  // The same window now quotes the plan's first period.
  await quote.waitForSelector('[data-testid=plan-charge]');
  expect(await quote.textContent('[data-testid=plan-charge]')).toContain('First period of Quill Pro');
  await quote.click('[data-testid=approve]');
  expect(await step('the subscribed draft', status, () => (popup ? ledger(popup) : Promise.resolve()))).toBe(
    200,
  );
  return { comparison };
}

/** `n` drafts one after another from the page; the statuses, and the last usage header. */
function drafts(page: Page, n: number): Promise<{ statuses: number[]; usage: string | null }> {
  return page.evaluate(async (count) => {
    const statuses: number[] = [];
    let usage: string | null = null;
    for (let i = 0; i < count; i++) {
      const res = await fetch('/drafts/generate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: `draft ${i}` }),
      });
      statuses.push(res.status);
      usage = res.headers.get('paybound-usage');
    }
    return { statuses, usage };
  }, n);
}

/** Moves the demo's plan clock on, and the extension's view of the period with it (its own IndexedDB). */
async function periodOver(stack: { demo: string }, popup: Page): Promise<void> {
  const res = await fetch(`${stack.demo}${PLAN_ADVANCE_PATH}?seconds=${31 * DAY_S}`, { method: 'POST' });
  expect(res.status).toBe(200);
  await popup.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('paybound');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('subscriptions', 'readwrite');
          const store = tx.objectStore('subscriptions');
          const all = store.getAll();
          all.onsuccess = () => {
            for (const s of all.result as { periodEnd: number }[])
              store.put({ ...s, periodEnd: Date.now() - 60_000 });
          };
          tx.oncomplete = () => {
            open.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}

// The demo is shared by every test: its plan clock and price go back after each test here.
afterEach(async () => {
  const demo = inject('stack').demo;
  const res = await fetch(`${demo}${PLAN_ADVANCE_PATH}?seconds=0&reset=1`, { method: 'POST' });
  expect(res.status).toBe(200);
  expect((await fetch(`${demo}${PLAN_PRICE_PATH}?sats=20000`, { method: 'POST' })).status).toBe(200);
});

test('Lightning: compared with this site’s history, subscribed in the same window, included drafts served, overage within its cap, renewed without a window, cancelled', async ({
  context,
  stack,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await planRules(popup);
  await paidDraft(context, demoPage);
  const { comparison } = await subscribeFromQuote(context, demoPage, popup);
  // The window compared the plan with the one draft paid here before.
  expect(comparison).toMatch(/Your last 30 days here: .+ for 1 calls\./);
  const rows = await ledger(popup);
  const first = rows.find((p) => p.state === 'paid' && p.amountMsat === '20000000');
  expect(first, JSON.stringify(rows)).toBeDefined();
  let [sub] = await ask(popup, 'subscriptions.list', { refresh: true });
  expect(sub).toMatchObject({ planName: 'Quill Pro', rail: 'lightning', state: 'active' });
  // The retry after subscribing was the plan's first included draft.
  expect(sub?.usage).toMatchObject({ used: 1, included: 200 });

  // The browser sends the subscriber credential: the included drafts are served, no window, nothing paid.
  const paidBefore = (await ledger(popup)).length;
  const included = await step('199 included drafts', drafts(demoPage, 199));
  expect(new Set(included.statuses)).toEqual(new Set([200]));
  expect(included.usage).toMatch(/used=200, included=200/);
  expect((await ledger(popup)).length).toBe(paidBefore);

  // Beyond them: 500 sats a draft within the 10 000-sat cap, paid within the standing approval.
  const overage = await step('20 overage drafts', drafts(demoPage, 20));
  expect(new Set(overage.statuses)).toEqual(new Set([200]));
  const overagePaid = (await ledger(popup)).filter((p) => p.amountMsat === '500000');
  expect(overagePaid).toHaveLength(20);
  expect(new Set(overagePaid.map((p) => p.approval))).toEqual(new Set(['auto']));
  // The cap is reached: the next draft is pay-per-use again, and asks.
  const capped = draft(demoPage, 'past the cap');
  const quote = await nextQuoteWindow(context);
  expect(await quote.locator('[data-testid=plan-charge]').count()).toBe(0);
  await quote.click('[data-testid=deny]');
  expect(await capped).toBe(402);

  // The plans page: the plan, its renewal, the included drafts used and the overage against its cap.
  const settings = await openExtensionPage('src/ui/options/index.html#plans');
  await settings.waitForSelector('[data-testid=subscription]');
  expect(await settings.textContent('[data-testid=usage]')).toContain('200 of 200 included calls used');
  // 20 overage drafts at 500 sats are the whole 10 000-sat cap.
  expect(await settings.textContent('[data-testid=overage]')).toMatch(
    /^Overage this period: (\S+) of at most \1$/,
  );

  // The period ends: the app asks to renew, and the renewal within the standing approval needs no window.
  await periodOver(stack, popup);
  const windows = context.pages().length;
  expect(await step('the renewed draft', draft(demoPage, 'next month'))).toBe(200);
  expect(context.pages().length).toBe(windows);
  const renewal = (await ledger(popup)).filter((p) => p.amountMsat === '20000000');
  expect(renewal.map((p) => p.approval).sort()).toEqual(['approved', 'auto']);
  [sub] = await ask(popup, 'subscriptions.list', { refresh: true });
  expect(sub?.usage).toMatchObject({ used: 1 });

  // The app raises its price: the next renewal is above the standing approval, and asks.
  expect((await fetch(`${stack.demo}${PLAN_PRICE_PATH}?sats=25000`, { method: 'POST' })).status).toBe(200);
  await periodOver(stack, popup);
  const dearer = draft(demoPage, 'a dearer month');
  const asked = await nextQuoteWindow(context);
  expect(await asked.textContent('[data-testid=plan-charge]')).toBe(
    'Renewal of Quill Pro, above what you agreed to',
  );
  expect(await asked.textContent('[data-testid=amount-sats]')).toContain('25,000');
  await asked.click('[data-testid=approve]');
  expect(await dearer).toBe(200);
  expect((await ledger(popup)).find((p) => p.amountMsat === '25000000')).toMatchObject({
    state: 'paid',
    approval: 'approved',
  });

  // Cancelled at the period's end: no renewal after it, the next draft is pay-per-use.
  await settings.reload();
  await settings.click('[data-testid=cancel-plan]');
  await expect
    .poll(() => settings.getAttribute('[data-testid=subscription]', 'data-state'))
    .toBe('canceling');
  await periodOver(stack, popup);
  const after = draft(demoPage, 'after the end');
  const perUse = await nextQuoteWindow(context);
  expect(await perUse.locator('[data-testid=plan-charge]').count()).toBe(0);
  await perUse.click('[data-testid=deny]');
  expect(await after).toBe(402);
  expect((await ledger(popup)).filter((p) => p.amountMsat === '20000000')).toHaveLength(2);

  // The forecast: today's budget at a limit this pace passes before the day ends.
  const today = (await ask(popup, 'spend.summary', {})).find((b) => b.id === 'day');
  const spent = BigInt(today?.spentMinor ?? '0');
  expect(spent).toBeGreaterThan(0n);
  await setRules(popup, (r) => ({
    ...r,
    budgets: r.budgets.map((b) =>
      b.id === 'day' ? { ...b, limitMinor: ((spent * 5n) / 4n).toString() } : b,
    ),
  }));
  const heading = (await ask(popup, 'spend.summary', {})).find((b) => b.id === 'day');
  expect(heading?.runsOutAt).toBeGreaterThan(Date.now());
  await popup.reload();
  await popup.waitForSelector('[data-testid=forecast]');
  expect(await popup.textContent('[data-testid=forecast]')).toMatch(/^At this pace it runs out on /);
  // The cancelled plan has ended: the popup lists plans in force only.
  expect(await popup.locator('[data-testid=popup-plans]').count()).toBe(0);
});

test('card: Quill Pro becomes a Stripe subscription paying the app, and renews on its test clock without a window', async ({
  context,
  stack,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await planRules(popup);
  await linkCard(context, popup, '4242 4242 4242 4242');
  const { comparison } = await subscribeFromQuote(context, demoPage, popup);
  expect(comparison).toContain('You have not paid here in the last 30 days.');
  const [sub] = await ask(popup, 'subscriptions.list', { refresh: true });
  expect(sub).toMatchObject({ planName: 'Quill Pro', rail: 'card', state: 'active', priceMinor: '2000' });
  const stripe = new Stripe(DEFAULT_SECRET_KEY, {
    host: new URL(stack.stripe).hostname,
    port: Number(new URL(stack.stripe).port),
    protocol: 'http',
    apiVersion: STRIPE_API_VERSION,
  });
  const subscriptions = (await stripe.subscriptions.list({ limit: 100 })).data;
  const atStripe = subscriptions.find(
    (s) => s.metadata?.paybound_plan === 'quill-pro' && s.status === 'active',
  );
  expect(atStripe, JSON.stringify(subscriptions.map((s) => s.metadata))).toBeDefined();
  expect(atStripe?.transfer_data?.destination).toBe(stack.payees.card);
  const customer = await stripe.customers.retrieve(String(atStripe!.customer));
  const clock = 'test_clock' in customer ? String(customer.test_clock) : '';
  expect(clock).toMatch(/^clock_/);
  const invoicesBefore = (await stripe.invoices.list({ subscription: atStripe!.id })).data;
  expect(invoicesBefore.map((i) => [i.status, i.amount_paid])).toEqual([['paid', 2000]]);
  // A month on at Stripe: the renewal is invoiced and paid from the card, with no window here.
  const frozen = (await stripe.testHelpers.testClocks.retrieve(clock)).frozen_time;
  const windows = context.pages().length;
  await stripe.testHelpers.testClocks.advance(clock, { frozen_time: frozen + 32 * DAY_S });
  await expect
    .poll(
      async () =>
        (await stripe.invoices.list({ subscription: atStripe!.id })).data.filter((i) => i.status === 'paid')
          .length,
    )
    .toBe(2);
  expect(context.pages().length).toBe(windows);
});
