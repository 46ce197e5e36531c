/** MPP ("Payment" scheme), Lightning method: an invoice inside a base64url request, proof in the credential. */
import { createHash } from 'node:crypto';
import { Challenge, Credential, Receipt } from 'mppx';
import type { Page } from 'playwright-core';
import { expect, test } from './harness/fixtures';
import { ask, ledger, nextQuoteWindow, POPUP } from './harness/flows';
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

/** RFC 9530 `sha-256=:<base64>:` of a body, as draft-httpauth-payment-01 writes `digest`. */
const contentDigest = (body: string) => `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;

/**
 * An independent MPP server: challenges issued, and credentials verified, by mppx (the reference
 * SDK) with an HMAC-bound id over realm, method, intent, request, expires, digest and opaque. A
 * credential that changes or drops any of them does not verify.
 */
async function mppxServer(
  demoPage: Page,
  url: string,
  invoice: { bolt11: string; paymentHash: string },
  bodyToBind: (body: string) => string,
) {
  const secretKey = 'an independent server secret';
  const credentials: ReturnType<typeof Credential.deserialize>[] = [];
  await demoPage.route(url, async (route) => {
    const req = route.request();
    const body = req.postData() ?? '';
    const auth = req.headers().authorization;
    if (auth?.startsWith('Payment ')) {
      const credential = Credential.deserialize(auth);
      credentials.push(credential);
      const preimage = credential.payload as { preimage?: string };
      const proven =
        Challenge.verify(credential.challenge, { secretKey }) &&
        credential.challenge.digest === contentDigest(body) &&
        typeof preimage.preimage === 'string' &&
        createHash('sha256').update(Buffer.from(preimage.preimage, 'hex')).digest('hex') ===
          invoice.paymentHash;
      if (proven) {
        return route.fulfill({
          status: 200,
          headers: {
            'content-type': 'application/json',
            'payment-receipt': Receipt.serialize(
              Receipt.from({
                method: 'lightning',
                reference: invoice.paymentHash,
                status: 'success',
                timestamp: new Date().toISOString(),
              }),
            ),
          },
          body: '{"ok":true}',
        });
      }
      return route.fulfill({
        status: 402,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          title: 'Verification failed',
          status: 402,
          detail: 'the credential does not verify',
        }),
      });
    }
    const challenge = Challenge.from({
      realm: 'mppx.example',
      method: 'lightning',
      intent: 'charge',
      request: {
        amount: '1200',
        currency: 'sat',
        description: 'mppx charge',
        methodDetails: { invoice: invoice.bolt11 },
      },
      expires: new Date(Date.now() + 5 * 60_000).toISOString(),
      digest: contentDigest(bodyToBind(body)),
      meta: { order: 'ord_7', session: 'sess-1' },
      secretKey,
    });
    return route.fulfill({
      status: 402,
      headers: { 'www-authenticate': Challenge.serialize(challenge) },
      body: '{}',
    });
  });
  return credentials;
}

test('an independent mppx server with opaque and digest is paid once and takes the credential', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const invoice = await w.createInvoice('app', 1200, 'mppx charge');
  const url = `${stack.demo}/api/mppx`;
  const credentials = await mppxServer(demoPage, url, invoice, (body) => body);
  const before = await w.balance('user');
  const status = demoPage.evaluate(
    async (u) => (await fetch(u, { method: 'POST', body: JSON.stringify({ prompt: 'rain' }) })).status,
    url,
  );
  const quote = await nextQuoteWindow(context);
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
  expect(credentials).toHaveLength(1);
  // What was echoed: opaque and digest exactly as the server sent them.
  expect(credentials[0]?.challenge.opaque).toBe(
    Buffer.from('{"order":"ord_7","session":"sess-1"}').toString('base64url'),
  );
  expect(credentials[0]?.challenge.digest).toBe(contentDigest(JSON.stringify({ prompt: 'rain' })));
  expect(before - (await w.balance('user'))).toBe(1_200_000n);
  const popup = await openExtensionPage(POPUP);
  expect((await ledger(popup))[0]).toMatchObject({ state: 'paid', paymentHash: invoice.paymentHash });
  // The app's Payment-Receipt is kept on the record as evidence.
  await expect
    .poll(async () => {
      const [p] = (await ask(popup, 'ledger.export', {})).payments as { delivery?: { receipt?: unknown } }[];
      return p?.delivery?.receipt;
    })
    .toMatchObject({ status: 'success', method: 'lightning', reference: invoice.paymentHash });
});

test('an mppx challenge whose digest is for another body is refused before any quote, nothing paid', async ({
  context,
  demoPage,
  stack,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const invoice = await w.createInvoice('app', 1200, 'mppx charge');
  const url = `${stack.demo}/api/mppx-other-body`;
  const credentials = await mppxServer(demoPage, url, invoice, () => '{"prompt":"something else"}');
  const windows: string[] = [];
  context.on('page', (p) => windows.push(p.url()));
  const before = await w.balance('user');
  expect(
    await demoPage.evaluate(
      async (u) => (await fetch(u, { method: 'POST', body: '{"prompt":"rain"}' })).status,
      url,
    ),
  ).toBe(402);
  expect(windows.filter((u) => u.includes('/src/ui/approve/'))).toEqual([]);
  expect(credentials).toEqual([]);
  expect(await w.balance('user')).toBe(before);
  const popup = await openExtensionPage(POPUP);
  expect(await ledger(popup)).toEqual([]);
});
