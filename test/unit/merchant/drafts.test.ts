// The demo's estimated route, POST /drafts/generate, end to end over real HTTP: the Lightning
// stand-in (L402 and MPP Lightning, refunds from the app wallet), the Stripe stand-in and the card
// service (cards), the review endpoint, and the demo-only test hooks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import { writeDraft } from '../../../server/merchant/demo/generator';
import {
  countWords,
  draftActualMsat,
  quoteDraftMsat,
  quoteGenerateMsat,
  satToUsdCents,
} from '../../../server/merchant/demo/pricing';
import type { SettlementEvent } from '../../../server/merchant/kit/payment-paywall';
import { api, type CardStack, linkCard, startCardStack } from '../card/helpers';
import {
  balanceMsat,
  challengeList,
  decodeInvoice,
  decodePaybound,
  makeInvoice,
  payInvoice,
  review,
  type Standin,
  startStandin,
  type WalletKeys,
} from './helpers';

const PROMPT = 'a short note';

/** Quill Pro as a Lightning challenge offers it (msat: factor 1000, sat: 1); card plans need the card service's subscriptions. */
function quillProTerms(factor: bigint, base: string) {
  return {
    id: 'quill-pro',
    name: 'Quill Pro',
    price: (20_000n * factor).toString(),
    interval: 'month',
    intervalCount: 1,
    includes: { calls: 200 },
    overage: { price: (500n * factor).toString(), cap: (10_000n * factor).toString() },
    subscribe: `${base}/plans/subscribe`,
  };
}

let lightning: Standin;
let user: WalletKeys;
let appWallet: WalletKeys;
let offsetMs = 0; // how far ahead of the real clock the demo's review desk runs
let app: DemoApp;

beforeAll(async () => {
  const started = await startStandin();
  lightning = started.standin;
  user = started.user;
  appWallet = started.app;
  app = await startDemoApp({
    port: 0,
    lnbitsUrl: lightning.url,
    invoiceKey: appWallet.invoiceKey,
    adminKey: appWallet.adminKey,
    now: () => Date.now() + offsetMs,
  });
});

afterAll(async () => {
  await app?.close();
  await lightning?.close();
});

function draft(base: string, prompt: string, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  return fetch(`${base}/drafts/generate`, { method: 'POST', headers, body: JSON.stringify({ prompt }) });
}

interface Served {
  text: string;
  words: number;
  charge: string;
  unit: string;
  max: string;
  actual: string;
  window_seconds: number;
  paid?: { method: string; amount: string; currency: string };
}

/** What the wallet does: pay the L402 invoice from the user wallet, retry with the credential. */
async function buyDraft(prompt: string): Promise<{
  preimage: string;
  proof: string;
  credential: string;
  served: Served;
  paybound: Record<string, unknown>;
}> {
  const res = await draft(app.url, prompt);
  expect(res.status).toBe(402);
  const l402 = challengeList(res.headers.get('www-authenticate')).find((c) => c.scheme === 'L402')!;
  const preimage = await payInvoice(lightning.url, user, l402.params.invoice!);
  const credential = `L402 ${l402.params.macaroon}:${preimage}`;
  const paid = await draft(app.url, prompt, credential);
  expect(paid.status).toBe(200);
  return {
    preimage,
    // What the review endpoint takes as proof: the credential, as the Authorization carries it.
    proof: `${l402.params.macaroon}:${preimage}`,
    credential,
    served: (await paid.json()) as Served,
    paybound: decodePaybound(l402.params.paybound),
  };
}

const reviewUrl = () => `${app.url}/paybound/review`;

describe('POST /drafts/generate: the challenge', () => {
  it('charges the estimate maximum over L402 and says so in the paybound terms', async () => {
    const res = await draft(app.url, PROMPT);
    expect(res.status).toBe(402);
    const { minMsat, maxMsat } = quoteDraftMsat(PROMPT);
    // 3 prompt words: min = 2 000 + 10 × 3 = 2 030 sat; max = min + 20 × 100 = 4 030 sat.
    expect(minMsat).toBe(quoteGenerateMsat(PROMPT));
    expect([minMsat, maxMsat]).toEqual([2_030_000n, 4_030_000n]);
    expect(await res.json()).toMatchObject({ error: 'payment_required', price_msat: '4030000' });
    const challenges = challengeList(res.headers.get('www-authenticate'));
    expect(challenges.map((c) => c.scheme)).toEqual(['L402', 'LSAT']);
    expect(decodeInvoice(challenges[0]!.params.invoice!).amountMsat).toBe(maxMsat);
    expect(decodePaybound(challenges[0]!.params.paybound)).toEqual({
      v: 1,
      estimate: { min: '2030000', max: '4030000' },
      review: { window: 600, refund: `${app.url}/paybound/review` },
      plans: [quillProTerms(1000n, app.url)],
    });
  });

  it('caps the maximum, and leaves /api/generate as it was', async () => {
    expect(quoteDraftMsat('w '.repeat(1000))).toEqual({ minMsat: 10_000_000n, maxMsat: 12_000_000n });
    const plain = await fetch(`${app.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: PROMPT }),
    });
    expect(plain.status).toBe(402);
    expect(plain.headers.get('www-authenticate')).not.toContain('paybound=');
  });

  it('reads the demo markers out of the prompt: they are not priced, #window sets the window', async () => {
    const res = await draft(app.url, `${PROMPT} #window=3 #hold-refunds`);
    const l402 = challengeList(res.headers.get('www-authenticate'))[0]!;
    expect(decodePaybound(l402.params.paybound)).toMatchObject({
      estimate: { min: '2030000', max: '4030000' },
      review: { window: 3 },
    });
    const broken = challengeList(
      (await draft(app.url, `${PROMPT} #broken-refunds`)).headers.get('www-authenticate'),
    );
    expect(decodePaybound(broken[0]!.params.paybound)).toMatchObject({
      review: { refund: `${app.url}/paybound/review-broken` },
    });
    for (const prompt of [`${PROMPT} #window=0`, `${PROMPT} #window=999999`, '#overcharge', '   ']) {
      const refused = await draft(app.url, prompt);
      expect(refused.status, prompt).toBe(422);
      expect(refused.headers.get('www-authenticate')).toBeNull();
    }
    const preflight = await fetch(`${app.url}/drafts/generate`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect((await fetch(`${app.url}/drafts/generate`)).status).toBe(405);
  });
});

describe('POST /drafts/generate: paid over L402, then reviewed', () => {
  it('serves the draft, reports actual < max, and accepting pays the difference into the user wallet', async () => {
    const before = await balanceMsat(lightning.url, user);
    const { proof: paidProof, credential, served } = await buyDraft(PROMPT);
    const text = writeDraft(PROMPT);
    const words = countWords(text);
    expect(served).toMatchObject({ text, words, unit: 'msat', max: '4030000', window_seconds: 600 });
    // actual = the prompt price + 20 sat per word written.
    expect(BigInt(served.actual)).toBe(2_030_000n + BigInt(words) * 20_000n);
    expect(BigInt(served.actual)).toBe(draftActualMsat(PROMPT, words));
    expect(BigInt(served.actual)).toBeLessThan(4_030_000n);
    expect(await balanceMsat(lightning.url, user)).toBe(before - 4_030_000n);

    const proof = { v: 1, charge: served.charge, proof: paidProof };
    const status = await review(reviewUrl(), { ...proof, action: 'status' });
    expect(status.json).toEqual({
      v: 1,
      charge: served.charge,
      status: 'provisional',
      max: '4030000',
      actual: served.actual,
      refunded: '0',
      queued: '0',
    });

    const differenceSat = Number((4_030_000n - BigInt(served.actual)) / 1000n);
    const invoice = await makeInvoice(lightning.url, user, differenceSat);
    const accepted = await review(reviewUrl(), { ...proof, action: 'accept', invoice: invoice.bolt11 });
    expect(accepted.json).toMatchObject({ status: 'accepted', refunded: String(differenceSat * 1000) });
    // The user is down exactly the actual amount.
    expect(await balanceMsat(lightning.url, user)).toBe(before - BigInt(served.actual));

    // Each call is its own charge: the token does not pay for another draft.
    const again = await draft(app.url, PROMPT, credential);
    expect(again.status).toBe(402);
    expect(await again.json()).toMatchObject({ code: 'token_already_used' });
  });

  it('refunds a reject of up to 5 000 sat at once', async () => {
    const { proof, served } = await buyDraft('reject me');
    const before = await balanceMsat(lightning.url, user);
    const invoice = await makeInvoice(lightning.url, user, 4020);
    const res = await review(reviewUrl(), {
      v: 1,
      action: 'reject',
      charge: served.charge,
      proof,
      amount: served.max,
      reason: 'Not what I asked for',
      invoice: invoice.bolt11,
    });
    expect(res.json).toMatchObject({ status: 'refunded', refunded: '4020000', queued: '0' });
    expect(await balanceMsat(lightning.url, user)).toBe(before + 4_020_000n);
  });

  it('queues a larger reject for the operator, who pays or denies it', async () => {
    const long = 'word '.repeat(300); // min = 2 000 + 3 000 = 5 000 sat, max = 7 000 sat
    const first = await buyDraft(long);
    expect(first.served.max).toBe('7000000');
    const invoice = await makeInvoice(lightning.url, user, 7000);
    const body = {
      v: 1,
      action: 'reject',
      charge: first.served.charge,
      proof: first.proof,
      amount: '7000000',
      reason: 'Far too long',
      invoice: invoice.bolt11,
    };
    expect((await review(reviewUrl(), body)).json).toMatchObject({
      status: 'refund_queued',
      queued: '7000000',
    });

    const operator = (charge: string, decision: unknown) =>
      fetch(`${app.url}/_demo/refunds/${charge}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${app.operatorToken}` },
        body: JSON.stringify({ decision }),
      });
    expect((await operator(first.served.charge, 'maybe')).status).toBe(400);
    const before = await balanceMsat(lightning.url, user);
    const paid = await operator(first.served.charge, 'pay');
    expect(paid.status).toBe(200);
    expect(await paid.json()).toMatchObject({ status: 'refunded', refunded: '7000000', queued: '0' });
    expect(await balanceMsat(lightning.url, user)).toBe(before + 7_000_000n);
    expect(await (await operator(first.served.charge, 'pay')).json()).toMatchObject({
      error: { code: 'nothing_queued' },
    });
    expect((await operator('a'.repeat(64), 'pay')).status).toBe(404);

    const second = await buyDraft(long);
    const other = await makeInvoice(lightning.url, user, 6000);
    await review(reviewUrl(), {
      ...body,
      charge: second.served.charge,
      proof: second.proof,
      amount: '6000000',
      invoice: other.bolt11,
    });
    expect(await (await operator(second.served.charge, 'deny')).json()).toMatchObject({
      status: 'refund_denied',
      queued: '0',
      refunded: '0',
    });
  });
});

describe('the demo-only test hooks', () => {
  it('#hold-refunds: every refund of the charge waits for the operator', async () => {
    const { proof, served } = await buyDraft(`${PROMPT} #hold-refunds`);
    expect(served.max).toBe('4030000'); // the marker is not priced
    const invoice = await makeInvoice(lightning.url, user, 1000);
    const res = await review(reviewUrl(), {
      v: 1,
      action: 'reject',
      charge: served.charge,
      proof,
      amount: '1000000',
      reason: 'bad',
      invoice: invoice.bolt11,
    });
    expect(res.json).toMatchObject({ status: 'refund_queued', queued: '1000000', refunded: '0' });
  });

  it('#window=<s>: past the window a reject is a request the app decides on later', async () => {
    const { proof, served } = await buyDraft(`quick #window=3`);
    expect(served.window_seconds).toBe(3);
    offsetMs = 4_000;
    try {
      const invoice = await makeInvoice(lightning.url, user, 100);
      const res = await review(reviewUrl(), {
        v: 1,
        action: 'reject',
        charge: served.charge,
        proof,
        amount: '100000',
        reason: 'too late?',
        invoice: invoice.bolt11,
      });
      expect(res.json).toMatchObject({
        status: 'refund_queued',
        note: expect.stringMatching(/window had closed/),
      });
    } finally {
      offsetMs = 0;
    }
  });

  it('#broken-refunds: the refund URL always answers 500', async () => {
    const res = await fetch(`${app.url}/paybound/review-broken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: 1, action: 'status', charge: 'a'.repeat(64), proof: 'b'.repeat(64) }),
    });
    expect(res.status).toBe(500);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('#overcharge (L402): the app records an actual above what was paid', async () => {
    const { proof, served } = await buyDraft(`greedy #overcharge`);
    expect(BigInt(served.actual)).toBe(BigInt(served.max) + 100_000n);
    const status = await review(reviewUrl(), {
      v: 1,
      action: 'status',
      charge: served.charge,
      proof,
    });
    expect(status.json).toMatchObject({ status: 'provisional', actual: served.actual, max: served.max });
    // Nothing is owed back, so accepting needs no invoice.
    const accepted = await review(reviewUrl(), {
      v: 1,
      action: 'accept',
      charge: served.charge,
      proof,
    });
    expect(accepted.json).toMatchObject({ status: 'accepted', refunded: '0' });
  });
});

describe('the page', () => {
  it('has a Draft button that posts to /drafts/generate', async () => {
    const html = await (await fetch(`${app.url}/`)).text();
    expect(html).toContain('id="draft"');
    expect(html).toContain("fetch('/drafts/generate'");
    expect(html).toContain("fetch('/api/generate'");
  });
});

describe('drafts by card and MPP Lightning', () => {
  let cards: CardStack;
  let deviceToken: string;
  let both: DemoApp;
  const settlements: SettlementEvent[] = [];

  beforeAll(async () => {
    cards = await startCardStack();
    deviceToken = await linkCard(cards);
    both = await startDemoApp({
      port: 0,
      lnbitsUrl: lightning.url,
      invoiceKey: appWallet.invoiceKey,
      adminKey: appWallet.adminKey,
      mppLightning: true,
      reviewWindowSeconds: 120,
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
    await both?.close();
    await cards?.close();
  });

  async function challenges(prompt: string) {
    const res = await draft(both.url, prompt);
    expect(res.status).toBe(402);
    return challengeList(res.headers.get('www-authenticate'));
  }

  const request = (c: { params: Record<string, string> }) =>
    JSON.parse(Buffer.from(c.params.request!, 'base64url').toString()) as Record<string, unknown>;

  function credential(c: { params: Record<string, string> }, payload: Record<string, unknown>): string {
    const { id, realm, method, intent, request, expires } = c.params;
    const json = JSON.stringify({ challenge: { id, realm, method, intent, request, expires }, payload });
    return `Payment ${Buffer.from(json).toString('base64url')}`;
  }

  async function payByCard(prompt: string) {
    const card = (await challenges(prompt)).find((c) => c.params.method === 'card')!;
    const req = request(card);
    const paid = await api(cards.card.url, deviceToken, 'POST', '/api/payments', {
      challengeId: card.params.id,
      amount: req.amount,
      currency: req.currency,
      destination: req.recipient,
      description: req.description,
    });
    expect(paid.status).toBe(201);
    const receipt = String(paid.json.receipt);
    const res = await draft(both.url, prompt, credential(card, { receipt }));
    expect(res.status).toBe(200);
    await both.settled();
    return {
      challengeId: card.params.id!,
      paymentIntent: (paid.json.payment as { id: string }).id,
      receipt,
      served: (await res.json()) as Served,
    };
  }

  it('every challenge carries the terms in its own unit: msat, card cents, sats', async () => {
    const list = await challenges(PROMPT);
    expect(list.map((c) => c.params.method ?? c.scheme)).toEqual(['L402', 'LSAT', 'card', 'lightning']);
    const review = { window: 120, refund: `${both.url}/paybound/review` };
    expect(decodePaybound(list[0]!.params.paybound)).toEqual({
      v: 1,
      estimate: { min: '2030000', max: '4030000' },
      review,
      plans: [quillProTerms(1000n, both.url)],
    });
    // Cards: the sat amounts at 100 000 USD/BTC, rounded up to the cent, as the card price is.
    const card = list[2]!;
    expect(request(card).amount).toBe(satToUsdCents(4030n).toString());
    expect(decodePaybound(card.params.paybound)).toEqual({
      v: 1,
      estimate: { min: satToUsdCents(2030n).toString(), max: '403' },
      review,
      // Quill Pro by card: 20.00 a month, then 0.50 a draft, at most 10.00 more.
      plans: [
        {
          ...quillProTerms(1n, both.url),
          price: '2000',
          overage: { price: '50', cap: '1000' },
        },
      ],
    });
    expect(satToUsdCents(2030n)).toBe(203n);
    const ln = list[3]!;
    expect(request(ln).amount).toBe('4030');
    expect(decodePaybound(ln.params.paybound)).toEqual({
      v: 1,
      estimate: { min: '2030', max: '4030' },
      review,
      plans: [quillProTerms(1n, both.url)],
    });
  });

  it('card: the actual is reported to the card service, not captured; the review endpoint checks the receipt', async () => {
    const { challengeId, paymentIntent, receipt, served } = await payByCard('by card');
    const words = countWords(writeDraft('by card'));
    const actualCents = satToUsdCents(draftActualMsat('by card', words) / 1000n);
    // 2 prompt words: max = 4 020 sat = 402 cents.
    expect(served).toMatchObject({
      unit: 'usd',
      max: '402',
      actual: actualCents.toString(),
      charge: challengeId,
    });
    expect(actualCents).toBeLessThan(402n);
    expect(settlements).toContainEqual({
      method: 'card',
      challengeId,
      outcome: 'reported',
      amount: actualCents,
    });
    const payment = await api(cards.card.url, deviceToken, 'GET', `/api/payments/${paymentIntent}`);
    expect(payment.json.payment).toMatchObject({
      status: 'requires_capture',
      amountCaptured: 0,
      amountReported: Number(actualCents),
      overReported: null,
    });

    const proof = { v: 1, charge: challengeId, proof: receipt };
    expect((await review(`${both.url}/paybound/review`, { ...proof, action: 'status' })).json).toEqual({
      v: 1,
      charge: challengeId,
      status: 'provisional',
      max: '402',
      actual: actualCents.toString(),
      refunded: '0',
      queued: '0',
    });
    const [h, p, s] = receipt.split('.') as [string, string, string];
    // One signature character changed, well inside it (the last ones carry padding bits, and
    // could even be "AA" already).
    const forged = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'B' ? 'C' : 'B'}${s.slice(11)}`;
    expect(
      await review(`${both.url}/paybound/review`, { ...proof, action: 'status', proof: forged }),
    ).toMatchObject({
      status: 403,
      json: { error: { code: 'bad_proof' } },
    });
    const other = await payByCard('another card draft');
    expect(
      await review(`${both.url}/paybound/review`, { ...proof, action: 'status', proof: other.receipt }),
    ).toMatchObject({
      status: 403,
      json: { error: { code: 'bad_proof', message: expect.stringMatching(/another/) } },
    });

    // Accepting tells the app; the wallet captures at the card service, by default what was reported.
    const accepted = await review(`${both.url}/paybound/review`, { ...proof, action: 'accept' });
    expect(accepted.json).toMatchObject({ status: 'accepted' });
    const captured = await api(
      cards.card.url,
      deviceToken,
      'POST',
      `/api/payments/${paymentIntent}/capture`,
      {},
    );
    expect(captured.json.payment).toMatchObject({ status: 'succeeded', amountCaptured: Number(actualCents) });
  });

  it('card: a reject is recorded (the wallet cancels at the card service itself)', async () => {
    const { challengeId, receipt, served } = await payByCard('reject by card');
    const res = await review(`${both.url}/paybound/review`, {
      v: 1,
      action: 'reject',
      charge: challengeId,
      proof: receipt,
      amount: served.max,
      reason: 'useless',
    });
    expect(res.json).toMatchObject({ status: 'rejected', refunded: '0', queued: '0' });
    const tooMuch = await payByCard('reject by card, too much');
    const over = await review(`${both.url}/paybound/review`, {
      v: 1,
      action: 'reject',
      charge: tooMuch.challengeId,
      proof: tooMuch.receipt,
      amount: String(Number(tooMuch.served.max) + 1),
      reason: 'all and more',
    });
    expect(over).toMatchObject({ status: 422, json: { error: { code: 'amount_too_high' } } });
  });

  it('card #overcharge: the card service refuses the report above the authorization and keeps it', async () => {
    const { paymentIntent, served } = await payByCard('card greedy #overcharge');
    const payment = await api(cards.card.url, deviceToken, 'GET', `/api/payments/${paymentIntent}`);
    expect(payment.json.payment).toMatchObject({
      status: 'requires_capture',
      overReported: Number(served.max) + 100,
      amountReported: Number(served.actual),
    });
  });

  it('MPP Lightning: the charge is the payment hash, in sats; accepting pays the difference', async () => {
    const ln = (await challenges(PROMPT)).find((c) => c.params.method === 'lightning')!;
    const invoice = (request(ln).methodDetails as { invoice: string; paymentHash: string }).invoice;
    const preimage = await payInvoice(lightning.url, user, invoice);
    const paidWith = credential(ln, { preimage });
    const res = await draft(both.url, PROMPT, paidWith);
    expect(res.status).toBe(200);
    const served = (await res.json()) as Served;
    const actualSat = draftActualMsat(PROMPT, countWords(writeDraft(PROMPT))) / 1000n;
    expect(served).toMatchObject({
      charge: decodeInvoice(invoice).paymentHash,
      unit: 'sat',
      max: '4030',
      actual: actualSat.toString(),
    });
    const refund = await makeInvoice(lightning.url, user, 4030 - Number(actualSat));
    const before = await balanceMsat(lightning.url, user);
    const accepted = await review(`${both.url}/paybound/review`, {
      v: 1,
      action: 'accept',
      charge: served.charge,
      proof: paidWith,
      invoice: refund.bolt11,
    });
    expect(accepted.json).toMatchObject({ status: 'accepted', refunded: String(4030n - actualSat) });
    expect(await balanceMsat(lightning.url, user)).toBe(before + (4030n - actualSat) * 1000n);
  });
});
