/** MPP ("Payment" scheme), Lightning method: an invoice inside a base64url request, proof in the credential. */
import { createHash } from 'node:crypto';
import { expect, test } from './harness/fixtures';
import { ledger, nextQuoteWindow, POPUP } from './harness/flows';
import { wallets } from './harness/wallets';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

test('an MPP Lightning challenge is quoted, paid, and answered with a credential echoing the challenge', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const invoice = await w.createInvoice('app', 1500, 'MPP demo charge');
  const request = b64url({
    amount: '1500',
    currency: 'sat',
    description: 'MPP demo charge',
    methodDetails: { invoice: invoice.bolt11 },
  });
  const expires = new Date(Date.now() + 5 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const seen: string[] = [];
  const url = `${stack.demo}/api/mpp`;
  await demoPage.route(url, async (route) => {
    const auth = route.request().headers().authorization;
    if (auth) seen.push(auth);
    const credential = auth?.startsWith('Payment ')
      ? JSON.parse(Buffer.from(auth.slice(8), 'base64url').toString())
      : null;
    const preimage: string | undefined = credential?.payload?.preimage;
    const proven =
      credential?.challenge?.id === 'mpp-1' &&
      credential.challenge.request === request &&
      preimage !== undefined &&
      createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex') === invoice.paymentHash;
    if (proven) return route.fulfill({ status: 200, contentType: 'application/json', body: '{"ok":true}' });
    return route.fulfill({
      status: 402,
      headers: {
        'www-authenticate': `Payment id="mpp-1", realm="quill", method="lightning", intent="charge", expires="${expires}", request="${request}"`,
      },
      body: '{}',
    });
  });
  const before = await w.balance('user');
  const status = demoPage.evaluate(async (u) => (await fetch(u, { method: 'POST' })).status, url);
  const quote = await nextQuoteWindow(context);
  expect(await quote.textContent('[data-testid=amount-sats]')).toBe('1,500 sats');
  expect(await quote.textContent('[data-testid=description]')).toBe('MPP demo charge');
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
  expect(seen).toHaveLength(1);
  expect(before - (await w.balance('user'))).toBe(1_500_000n);
  expect((await ledger(await openExtensionPage(POPUP)))[0]).toMatchObject({
    state: 'paid',
    paymentHash: invoice.paymentHash,
  });
});

test('an MPP Lightning challenge whose invoice differs from the stated amount is refused before any quote', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const invoice = await wallets(stack).createInvoice('app', 1500, 'liar');
  const request = b64url({ amount: '15', currency: 'sat', methodDetails: { invoice: invoice.bolt11 } });
  const url = `${stack.demo}/api/mpp-lie`;
  await demoPage.route(url, (route) =>
    route.fulfill({
      status: 402,
      headers: {
        'www-authenticate': `Payment id="mpp-2", realm="quill", method="lightning", intent="charge", request="${request}"`,
      },
      body: '{}',
    }),
  );
  const windows: string[] = [];
  context.on('page', (p) => windows.push(p.url()));
  expect(await demoPage.evaluate(async (u) => (await fetch(u, { method: 'POST' })).status, url)).toBe(402);
  expect(windows.filter((u) => u.includes('/src/ui/approve/'))).toEqual([]);
  const popup = await openExtensionPage(POPUP);
  expect(await ledger(popup)).toEqual([]);
});
