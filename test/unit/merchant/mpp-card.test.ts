// The demo app's card offer (MPP method `card`) and MPP Lightning, next to L402, over real
// HTTP: the Lightning stand-in, the Stripe stand-in and the card service.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import { quoteGenerateCents, quoteGenerateMsat, satToUsdCents } from '../../../server/merchant/demo/pricing';
import { CardServiceClient, cardMethod, receiptKeyFromHex } from '../../../server/merchant/kit/card';
import { readJsonBody, sendJson } from '../../../server/merchant/kit/http';
import { LnbitsClient } from '../../../server/merchant/kit/lnbits-client';
import { paymentPaywall, type SettlementEvent } from '../../../server/merchant/kit/payment-paywall';
import { api, type CardStack, linkCard, startCardStack } from '../card/helpers';
import { parseChallenges, payInvoice, type Standin, startStandin, type WalletKeys } from './helpers';

const PROMPT = 'Write a short thank-you note to a bakery customer';

let lightning: Standin;
let user: WalletKeys;
let appWallet: WalletKeys;
let cards: CardStack;
let app: DemoApp;
let deviceToken: string;
const settlements: SettlementEvent[] = [];

interface PaymentChallenge {
  id: string;
  realm: string;
  method: string;
  intent: string;
  expires: string;
  request: string;
}

/** Reads the Payment challenges out of a (joined) WWW-Authenticate value. */
function paymentChallenges(header: string | null): PaymentChallenge[] {
  const out: PaymentChallenge[] = [];
  for (const m of (header ?? '').matchAll(/Payment\s+((?:[a-z]+="(?:[^"\\]|\\.)*"(?:,\s*)?)+)/g)) {
    const params: Record<string, string> = {};
    for (const p of m[1]!.matchAll(/([a-z]+)="((?:[^"\\]|\\.)*)"/g))
      params[p[1]!] = p[2]!.replace(/\\(.)/g, '$1');
    out.push(params as unknown as PaymentChallenge);
  }
  return out;
}

function decode(request: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(request, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function credential(challenge: PaymentChallenge, payload: Record<string, unknown>): string {
  const { id, realm, method, intent, request, expires } = challenge;
  const json = JSON.stringify({ challenge: { id, realm, method, intent, request, expires }, payload });
  return `Payment ${Buffer.from(json).toString('base64url')}`;
}

function generate(base: string, prompt: string, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  return fetch(`${base}/api/generate`, { method: 'POST', headers, body: JSON.stringify({ prompt }) });
}

async function cardChallenge(base: string, prompt = PROMPT): Promise<PaymentChallenge> {
  const res = await generate(base, prompt);
  expect(res.status).toBe(402);
  await res.arrayBuffer();
  const challenge = paymentChallenges(res.headers.get('www-authenticate')).find((c) => c.method === 'card');
  expect(challenge).toBeDefined();
  return challenge!;
}

/** What the extension does with an approved card quote: pay through the card service, get a receipt. */
async function payByCard(
  challenge: PaymentChallenge,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const request = decode(challenge.request);
  const res = await api(cards.card.url, deviceToken, 'POST', '/api/payments', {
    challengeId: challenge.id,
    amount: request.amount,
    currency: request.currency,
    destination: request.recipient,
    description: request.description,
    ...overrides,
  });
  expect(res.status).toBe(201);
  return String(res.json.receipt);
}

beforeAll(async () => {
  const started = await startStandin();
  lightning = started.standin;
  user = started.user;
  appWallet = started.app;
  cards = await startCardStack();
  deviceToken = await linkCard(cards);
  app = await startDemoApp({
    port: 0,
    lnbitsUrl: lightning.url,
    invoiceKey: started.app.invoiceKey,
    mppLightning: true,
    mppSecret: 'c0'.repeat(32),
    card: {
      cardServiceUrl: cards.card.url,
      apiKey: cards.merchant.apiKey,
      accountId: cards.merchant.accountId,
      receiptPublicKey: cards.card.receiptPublicKey,
      receiptKeyId: cards.card.receiptKeyId,
    },
    onSettled: (event) => settlements.push(event),
  });
});

afterAll(async () => {
  await app?.close();
  await cards?.close();
  await lightning?.close();
});

describe('the 402', () => {
  it('carries the L402 challenges and, after them, MPP Payment challenges for card and Lightning', async () => {
    const res = await generate(app.url, PROMPT);
    expect(res.status).toBe(402);
    const header = res.headers.get('www-authenticate');
    expect(parseChallenges(header).map((c) => c.scheme)).toEqual(['L402', 'LSAT']);
    const payments = paymentChallenges(header);
    expect(payments.map((c) => c.method)).toEqual(['card', 'lightning']);
    const card = payments[0]!;
    expect(card).toMatchObject({ realm: 'paybound-demo', intent: 'charge' });
    expect(card.expires).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(card.expires)).toBeGreaterThan(Date.now());
    const cents = quoteGenerateCents(PROMPT);
    expect(decode(card.request)).toEqual({
      amount: cents.toString(),
      currency: 'usd',
      recipient: cards.merchant.accountId,
      description: 'Quill: generate text for a 9-word prompt',
      methodDetails: { cardService: cards.card.url },
    });
    // 2 090 sat at 100 000 USD/BTC is 209 cents; the request is JCS (sorted keys, no spaces).
    expect(cents).toBe(209n);
    expect(Buffer.from(card.request, 'base64url').toString()).toMatch(/^\{"amount":"209","currency":"usd",/);
    const ln = decode(payments[1]!.request);
    expect(ln).toMatchObject({ amount: (quoteGenerateMsat(PROMPT) / 1000n).toString(), currency: 'sat' });
    expect(String((ln.methodDetails as { invoice: string }).invoice)).toMatch(/^lnbcrt/);
    expect(payments[0]!.id).not.toBe(payments[1]!.id);
    expect(await res.json()).toMatchObject({
      error: 'payment_required',
      price_msat: quoteGenerateMsat(PROMPT).toString(),
    });
  });

  it('converts sats to cents in integers, rounding up', () => {
    expect(satToUsdCents(2000n)).toBe(200n);
    expect(satToUsdCents(2001n)).toBe(201n);
    expect(satToUsdCents(1n)).toBe(1n);
    expect(satToUsdCents(10_000n, 65_432)).toBe(655n);
  });
});

describe('the page', () => {
  it('states its prices in sats and in the dollars a card is charged', async () => {
    const html = await (await fetch(`${app.url}/`)).text();
    expect(html).toContain('From 2,000 sats · $2.00, plus 10 sats a word, at most 10,000 sats · $10.00<');
    expect(html).toContain('at most 12,000 sats · $12.00.');
    expect(html).toContain('data-cap-sat="10000" data-usd-per-btc="100000">');
  });
});

describe('paying by card', () => {
  it('serves the request for a valid receipt, then captures the price at the card service', async () => {
    const challenge = await cardChallenge(app.url);
    const receipt = await payByCard(challenge);
    const res = await generate(app.url, PROMPT, credential(challenge, { receipt }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.paid).toEqual({ method: 'card', amount: '209', currency: 'usd' });
    expect(String(body.text)).toContain('bakery');
    const paymentReceipt = JSON.parse(
      Buffer.from(res.headers.get('payment-receipt') ?? '', 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(paymentReceipt).toMatchObject({
      method: 'card',
      challengeId: challenge.id,
      status: 'success',
    });
    expect(String(paymentReceipt.reference)).toMatch(/^pi_/);

    await app.settled();
    expect(settlements).toContainEqual({
      method: 'card',
      challengeId: challenge.id,
      outcome: 'captured',
      amount: 209n,
    });
    const payments = await api(cards.card.url, deviceToken, 'GET', '/api/payments');
    const mine = (payments.json.payments as Record<string, unknown>[]).find(
      (p) => p.challengeId === challenge.id,
    );
    expect(mine).toMatchObject({ status: 'succeeded', amountCaptured: 209 });
  });

  it('(2a) refuses a receipt whose hold the payer cancelled before presenting it: nothing is served', async () => {
    const challenge = await cardChallenge(app.url);
    const receipt = await payByCard(challenge);
    const paymentIntent = JSON.parse(Buffer.from(receipt.split('.')[1]!, 'base64url').toString())
      .paymentIntent as string;
    const cancelled = await api(cards.card.url, deviceToken, 'POST', `/api/payments/${paymentIntent}/cancel`);
    expect(cancelled.status).toBe(200);
    const res = await generate(app.url, PROMPT, credential(challenge, { receipt }));
    expect(res.status).toBe(402);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'verification-failed' });
    expect(String(body.error)).toContain('card payment refused');
    expect(body.text).toBeUndefined();
  });

  it('(2b) once the app accepted, served and captured, the payer cannot refund on its own', async () => {
    const challenge = await cardChallenge(app.url);
    const receipt = await payByCard(challenge);
    const res = await generate(app.url, PROMPT, credential(challenge, { receipt }));
    expect(res.status).toBe(200);
    await app.settled();
    const paymentIntent = String(
      JSON.parse(Buffer.from(res.headers.get('payment-receipt') ?? '', 'base64url').toString()).reference,
    );
    const state = await api(cards.card.url, deviceToken, 'GET', `/api/payments/${paymentIntent}`);
    expect(state.json.payment).toMatchObject({ status: 'succeeded', reviewWindowSeconds: 0 });
    const refund = await api(
      cards.card.url,
      deviceToken,
      'POST',
      `/api/payments/${paymentIntent}/refund`,
      {},
    );
    expect(refund).toMatchObject({ status: 403, json: { error: { code: 'refund_needs_app' } } });
  });

  it('refuses the same credential twice', async () => {
    const challenge = await cardChallenge(app.url);
    const auth = credential(challenge, { receipt: await payByCard(challenge) });
    expect((await generate(app.url, PROMPT, auth)).status).toBe(200);
    const again = await generate(app.url, PROMPT, auth);
    expect(again.status).toBe(402);
    expect(await again.json()).toMatchObject({
      code: 'invalid-challenge',
      error: 'this challenge was already used',
    });
  });

  it('refuses a forged receipt, with a fresh challenge and the reason', async () => {
    const challenge = await cardChallenge(app.url);
    const receipt = await payByCard(challenge);
    const [h, p, s] = receipt.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const inflated = Buffer.from(JSON.stringify({ ...claims, amount: '99999' })).toString('base64url');
    const res = await generate(app.url, PROMPT, credential(challenge, { receipt: `${h}.${inflated}.${s}` }));
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({
      code: 'verification-failed',
      error: 'receipt signature does not verify',
      type: 'https://paymentauth.org/problems/verification-failed',
    });
    const fresh = paymentChallenges(res.headers.get('www-authenticate'));
    expect(fresh.map((c) => c.method)).toContain('card');
    expect(fresh.every((c) => c.id !== challenge.id)).toBe(true);
  });

  it("refuses another challenge's receipt, an altered challenge, and a receipt for another amount", async () => {
    const first = await cardChallenge(app.url);
    const second = await cardChallenge(app.url);
    const receipt = await payByCard(first);
    const swapped = await generate(app.url, PROMPT, credential(second, { receipt }));
    expect(await swapped.json()).toMatchObject({
      code: 'verification-failed',
      error: 'receipt is for another challenge',
    });

    const cheaper = {
      ...first,
      request: Buffer.from(JSON.stringify({ ...decode(first.request), amount: '1' })).toString('base64url'),
    };
    const altered = await generate(app.url, PROMPT, credential(cheaper, { receipt }));
    expect(await altered.json()).toMatchObject({ code: 'invalid-challenge' });

    const third = await cardChallenge(app.url);
    const underpaid = await payByCard(third, { amount: 60 });
    const res = await generate(app.url, PROMPT, credential(third, { receipt: underpaid }));
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({
      code: 'verification-failed',
      error: 'receipt amount or currency differs from the challenge',
    });

    // A receipt for a cheap prompt does not pay for an expensive one.
    const cheap = await cardChallenge(app.url, 'Hi');
    const cheapReceipt = await payByCard(cheap);
    const pricier = await generate(app.url, 'w '.repeat(400), credential(cheap, { receipt: cheapReceipt }));
    expect(await pricier.json()).toMatchObject({ code: 'payment-insufficient' });
  });

  it('refuses a malformed credential', async () => {
    const res = await generate(app.url, PROMPT, 'Payment !!!');
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ code: 'malformed-credential' });
  });
});

describe('paying with MPP Lightning', () => {
  it('serves the request for the preimage of the invoice in the challenge, and refuses a wrong one', async () => {
    const res = await generate(app.url, PROMPT);
    const challenge = paymentChallenges(res.headers.get('www-authenticate')).find(
      (c) => c.method === 'lightning',
    )!;
    const request = decode(challenge.request);
    const invoice = (request.methodDetails as { invoice: string }).invoice;
    const wrong = await generate(
      app.url,
      PROMPT,
      credential(challenge, { preimage: randomBytes(32).toString('hex') }),
    );
    expect(await wrong.json()).toMatchObject({ code: 'verification-failed' });
    const preimage = await payInvoice(lightning.url, user, invoice);
    const paid = await generate(app.url, PROMPT, credential(challenge, { preimage }));
    expect(paid.status).toBe(200);
    expect(((await paid.json()) as { paid: unknown }).paid).toEqual({
      method: 'lightning',
      amount: (quoteGenerateMsat(PROMPT) / 1000n).toString(),
      currency: 'sat',
    });
  });
});

describe('an expired receipt', () => {
  let server: Server;
  let base: string;
  let offsetMs = 0;

  beforeAll(async () => {
    const paywall = paymentPaywall<{ prompt: string }>({
      wallet: new LnbitsClient({ url: lightning.url, invoiceKey: appWallet.invoiceKey }),
      rootKey: 'b2'.repeat(32),
      location: 'kit-test',
      capability: 'generate',
      priceMsat: () => 2_000_000,
      description: () => 'kit test',
      now: () => Date.now() + offsetMs,
      mpp: {
        realm: 'kit-test',
        secret: randomBytes(32),
        challengeLifetimeSeconds: 7200,
        methods: [
          cardMethod({
            client: new CardServiceClient({ url: cards.card.url, apiKey: cards.merchant.apiKey }),
            accountId: cards.merchant.accountId,
            receiptKey: receiptKeyFromHex(cards.card.receiptPublicKey, cards.card.receiptKeyId),
            amountMinor: () => 200,
          }),
        ],
      },
    });
    server = createServer(async (req, res) => {
      const body = await readJsonBody(req);
      await paywall(req, res, (body.ok ? body.value : {}) as { prompt: string }, (_q, r) =>
        sendJson(r, 200, { ok: true }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  it('is refused as payment-expired once the receipt is past its expiry', async () => {
    offsetMs = 0;
    const challenge = await cardChallenge(base);
    const receipt = await payByCard(challenge);
    offsetMs = 3600_000; // an hour later: the challenge (2 h) still holds, the receipt (5 min) does not
    const res = await generate(base, PROMPT, credential(challenge, { receipt }));
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ code: 'payment-expired', error: 'receipt expired' });
  });
});
