/**
 * One request, one payment: the worker stops while its wallet pays, and the page, holding its 402,
 * asks again at once. The server answers with a new challenge; the new worker checks the payment
 * it lost with the wallet instead of paying the new invoice.
 */
import { createHash } from 'node:crypto';
import { afterEach, inject } from 'vitest';
import { stopServiceWorkers } from '../../server/dev/chromium';
import { expect, test } from './harness/fixtures';
import { ask, generate, ledger, POPUP, setRules, step } from './harness/flows';
import { wallets } from './harness/wallets';

// Waits for what the worker and the wallet do meanwhile (the machine may be busy); asserts no timing.
const WAIT = { timeout: 15_000 };

afterEach(async () => {
  const w = wallets(inject('stack'));
  await w.clearFailures();
  await w.release();
});

test('the wallet paid but its answer is late, and the worker stops: asked again at once, the content arrives on that payment', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  await w.injectFailure('user', 'late_answer');
  const before = await w.balance('user');
  const status = generate(demoPage, 'paid, answered late');
  await expect.poll(async () => (await ledger(popup))[0]?.state, WAIT).toBe('paying');
  // The wallet has paid; its answer is still held when the worker stops.
  await expect.poll(() => w.balance('user'), WAIT).toBeLessThan(before);
  const price = before - (await w.balance('user'));
  // Nothing of ours may wake the next worker before the page asks again.
  await popup.close();
  await stopServiceWorkers(context, demoPage);
  expect(await step('the page gets its 402 once the worker is gone', status)).toBe(402);
  // At once, with the wallet's answer still held: the server sends a new invoice.
  expect(
    await step('asked again, the page gets its content', generate(demoPage, 'paid, answered late')),
  ).toBe(200);
  expect(before - (await w.balance('user'))).toBe(price);
  const check = await openExtensionPage(POPUP);
  const rows = await ledger(check);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ state: 'paid' });
  expect(BigInt(rows[0]?.amountMsat ?? -1)).toBe(price);
  // The token of that payment now serves the page's next request too.
  expect(await generate(demoPage, 'and again')).toBe(200);
  expect(before - (await w.balance('user'))).toBe(price);
  expect(await ledger(check)).toHaveLength(1);
});

test('the wallet is still paying when the worker stops: asking again is refused with the reason and pays nothing; once it has paid, the content arrives', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  await w.injectFailure('user', 'hold');
  const before = await w.balance('user');
  const status = generate(demoPage, 'still in flight');
  await expect.poll(async () => (await ledger(popup))[0]?.state, WAIT).toBe('paying');
  await popup.close();
  await stopServiceWorkers(context, demoPage);
  expect(await step('the page gets its 402 once the worker is gone', status)).toBe(402);
  // The payment is still in flight at the wallet: the new challenge is not paid.
  expect(
    await step('asked again while the wallet pays, refused', generate(demoPage, 'still in flight')),
  ).toBe(402);
  const check = await openExtensionPage(POPUP);
  expect(await w.balance('user')).toBe(before);
  expect(await ledger(check)).toEqual([expect.objectContaining({ state: 'unknown' })]);
  const [logged] = await ask(check, 'challenges.recent', { limit: 1 });
  expect(logged?.errorSaid).toEqual({ key: 'refusedStillChecking' });
  // The wallet finishes the payment it was given; the page asks again and is served by it.
  await w.release();
  await expect.poll(() => w.balance('user'), WAIT).toBeLessThan(before);
  const price = before - (await w.balance('user'));
  expect(
    await step('asked again once paid, the content arrives', generate(demoPage, 'still in flight')),
  ).toBe(200);
  expect(before - (await w.balance('user'))).toBe(price);
  const rows = await ledger(check);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ state: 'paid' });
  expect(BigInt(rows[0]?.amountMsat ?? -1)).toBe(price);
});

test('MPP: the wallet paid but answered late, and the worker stops: asked again at once, the unused credential is taken and nothing new is paid', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const expires = new Date(Date.now() + 5 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  // A server that answers every request without a credential with a new challenge (a new
  // invoice), and takes a credential once, for a challenge it issued.
  const issued = new Map<string, { request: string; paymentHash: string }>();
  const used = new Set<string>();
  const url = `${stack.demo}/api/mpp-once`;
  await demoPage.route(url, async (route) => {
    const auth = route.request().headers().authorization;
    const credential = auth?.startsWith('Payment ')
      ? JSON.parse(Buffer.from(auth.slice(8), 'base64url').toString())
      : null;
    const id: string | undefined = credential?.challenge?.id;
    const preimage: string | undefined = credential?.payload?.preimage;
    const challenge = id !== undefined ? issued.get(id) : undefined;
    if (
      id !== undefined &&
      challenge &&
      !used.has(id) &&
      credential.challenge.request === challenge.request &&
      preimage !== undefined &&
      createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') === challenge.paymentHash
    ) {
      used.add(id);
      return route.fulfill({ status: 200, contentType: 'application/json', body: '{"ok":true}' });
    }
    const invoice = await w.createInvoice('app', 1500, 'MPP once');
    const request = b64url({ amount: '1500', currency: 'sat', methodDetails: { invoice: invoice.bolt11 } });
    const next = `mpp-${issued.size + 1}`;
    issued.set(next, { request, paymentHash: invoice.paymentHash });
    return route.fulfill({
      status: 402,
      headers: {
        'www-authenticate': `Payment id="${next}", realm="quill", method="lightning", intent="charge", expires="${expires}", request="${request}"`,
      },
      body: '{}',
    });
  });
  const post = () => demoPage.evaluate(async (u) => (await fetch(u, { method: 'POST' })).status, url);
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoMaxMinor: '500', confirmMaxMinor: '500' }));
  await w.injectFailure('user', 'late_answer');
  const before = await w.balance('user');
  const status = post();
  await expect.poll(async () => (await ledger(popup))[0]?.state, WAIT).toBe('paying');
  await expect.poll(() => w.balance('user'), WAIT).toBe(before - 1_500_000n);
  await popup.close();
  await stopServiceWorkers(context, demoPage);
  expect(await step('the page gets its 402 once the worker is gone', status)).toBe(402);
  expect(await step('asked again, the page gets its content', post())).toBe(200);
  // Two challenges issued, the first one's credential taken; one payment.
  expect([...issued.keys()]).toEqual(['mpp-1', 'mpp-2']);
  expect([...used]).toEqual(['mpp-1']);
  expect(before - (await w.balance('user'))).toBe(1_500_000n);
  const rows = await ledger(await openExtensionPage(POPUP));
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ state: 'paid', paymentHash: issued.get('mpp-1')?.paymentHash });
});
