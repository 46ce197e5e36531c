// Estimates and the review window in the kit, over real HTTP: an L402 route with a `review` option,
// its review endpoint, refunds paid from the app's wallet into the user's wallet (Lightning stand-in).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readJsonBody, requestOrigin, sendJson } from '../../../server/merchant/kit/http';
import { LnbitsClient } from '../../../server/merchant/kit/lnbits-client';
import { l402Paywall } from '../../../server/merchant/kit/middleware';
import {
  encodePaybound,
  type RefundDecision,
  type RefundPolicyRequest,
  ReviewDesk,
  type ReviewDeskOptions,
  reviewEndpoint,
} from '../../../server/merchant/kit/review';
import { closeTestChargeStore, testChargeStore } from '../harness/charge-store';
import {
  balanceMsat,
  challengeList,
  decodeInvoice,
  decodePaybound,
  failNextPayment,
  makeInvoice,
  payInvoice,
  review,
  type Standin,
  startStandin,
  type WalletKeys,
} from './helpers';

const PRICE_MSAT = 3_000_000n; // 3 000 sat, the maximum
const MIN_MSAT = 1_000_000n;
const WINDOW = 60;
const ROOT_KEY = 'c3'.repeat(32);

let standin: Standin;
let user: WalletKeys;
let appWallet: WalletKeys;

interface KitApp {
  url: string;
  desk: ReviewDesk;
  policyCalls: RefundPolicyRequest[];
  close(): Promise<void>;
}

let offsetMs = 0; // the desk's clock runs this far ahead of the real one
let decide: (request: RefundPolicyRequest) => RefundDecision = () => 'pay';

/** A tiny app: POST /write is paid over L402 with a review window; POST /review is its endpoint. */
async function startKitApp(deskOptions: Partial<ReviewDeskOptions> = {}): Promise<KitApp> {
  const policyCalls: RefundPolicyRequest[] = [];
  const desk = new ReviewDesk({
    refundWallet: new LnbitsClient({
      url: standin.url,
      invoiceKey: appWallet.invoiceKey,
      adminKey: appWallet.adminKey,
    }),
    network: 'regtest',
    rootKey: ROOT_KEY,
    refundPolicy: (request) => {
      policyCalls.push(request);
      return decide(request);
    },
    now: () => Date.now() + offsetMs,
    store: await testChargeStore(),
    ...deskOptions,
  });
  const paywall = l402Paywall<{ actual?: string }>({
    wallet: new LnbitsClient({ url: standin.url, invoiceKey: appWallet.invoiceKey }),
    rootKey: ROOT_KEY,
    location: 'kit-review-test',
    service: 'kit',
    capability: 'write',
    priceMsat: () => PRICE_MSAT,
    description: () => 'kit review test',
    review: {
      desk,
      windowSeconds: WINDOW,
      refundUrl: (req) => `${requestOrigin(req)}/review`,
      minimumMsat: () => MIN_MSAT,
    },
  });
  const endpoint = reviewEndpoint(desk);
  const server: Server = createServer((req, res) => {
    const handled = handle(req, res);
    handling.add(handled);
    void handled.finally(() => handling.delete(handled));
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (req.url === '/review') return await endpoint(req, res);
      const body = await readJsonBody(req);
      const value = (body.ok ? body.value : {}) as { actual?: string };
      await paywall(req, res, value, (_req, res, body, paid) => {
        if (body.actual !== undefined) paid?.reportActual(BigInt(body.actual));
        sendJson(res, 200, {
          ok: true,
          charge: paid?.review?.charge,
          windowEndsAt: paid?.review?.windowEndsAt,
        });
      });
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
    }
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    desk,
    policyCalls,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/**
 * Requests the kit apps are still handling. The paywall records a charge's default actual after
 * the handler answered, so a test reading the desk right after a response waits for these first.
 */
const handling = new Set<Promise<void>>();
const appsIdle = () => Promise.all([...handling]);

let app: KitApp;

beforeAll(async () => {
  const started = await startStandin();
  standin = started.standin;
  user = started.user;
  appWallet = started.app;
  app = await startKitApp();
});

afterAll(async () => {
  await closeTestChargeStore();
  await app?.close();
  await standin?.close();
});

afterEach(async () => {
  offsetMs = 0;
  decide = () => 'pay';
  await fetch(`${standin.url}/_standin/clear`, { method: 'POST' });
});

function write(base: string, body: Record<string, unknown>, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  return fetch(`${base}/write`, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** Pays the L402 challenge from the user wallet and makes the paid request; returns the charge. */
async function buy(
  base: string,
  body: Record<string, unknown> = {},
): Promise<{ charge: string; preimage: string; proof: string; credential: string; served: Response }> {
  const res = await write(base, body);
  expect(res.status).toBe(402);
  const l402 = challengeList(res.headers.get('www-authenticate')).find((c) => c.scheme === 'L402')!;
  const preimage = await payInvoice(standin.url, user, l402.params.invoice!);
  const credential = `L402 ${l402.params.macaroon}:${preimage}`;
  const served = await write(base, body, credential);
  await appsIdle();
  // The review proof is the credential as the Authorization carries it, without the scheme.
  const proof = `${l402.params.macaroon}:${preimage}`;
  return { charge: decodeInvoice(l402.params.invoice!).paymentHash, preimage, proof, credential, served };
}

const reviewUrl = (base: string) => `${base}/review`;

describe('the challenge', () => {
  it('carries the paybound terms on the L402 and LSAT lines, in msat, max = the invoice amount', async () => {
    const res = await write(app.url, {});
    expect(res.status).toBe(402);
    const challenges = challengeList(res.headers.get('www-authenticate'));
    expect(challenges.map((c) => c.scheme)).toEqual(['L402', 'LSAT']);
    const [l402, lsat] = challenges;
    expect(l402!.params.paybound).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
    expect(lsat!.params.paybound).toBe(l402!.params.paybound);
    expect(decodePaybound(l402!.params.paybound)).toEqual({
      v: 1,
      estimate: { min: MIN_MSAT.toString(), max: PRICE_MSAT.toString() },
      review: { window: WINDOW, refund: `${app.url}/review` },
    });
    expect(decodeInvoice(l402!.params.invoice!).amountMsat).toBe(PRICE_MSAT);
    // Canonical JSON: sorted keys, amounts as decimal strings.
    expect(Buffer.from(l402!.params.paybound!, 'base64url').toString()).toBe(
      `{"estimate":{"max":"3000000","min":"1000000"},"review":{"refund":"${app.url}/review","window":60},"v":1}`,
    );
  });

  it('encodes the terms without an estimate, and refuses a minimum above the maximum', () => {
    const text = encodePaybound({ review: { window: 5, refund: 'https://app.example/r' } });
    expect(JSON.parse(Buffer.from(text, 'base64url').toString())).toEqual({
      v: 1,
      review: { window: 5, refund: 'https://app.example/r' },
    });
    expect(() => encodePaybound({ estimate: { min: 2n, max: 1n } })).toThrow(RangeError);
  });
});

describe('a reviewed charge', () => {
  it('is recorded with the actual amount the handler reported, and its token is single use', async () => {
    const bought = await buy(app.url, { actual: '2400500' });
    expect(bought.served.status).toBe(200);
    const served = (await bought.served.json()) as { charge: string; windowEndsAt: number };
    expect(served.charge).toBe(bought.charge);
    expect(served.windowEndsAt).toBeGreaterThan(Date.now());

    const status = await review(reviewUrl(app.url), {
      v: 1,
      action: 'status',
      charge: bought.charge,
      proof: bought.proof,
    });
    expect(status).toEqual({
      status: 200,
      json: {
        v: 1,
        charge: bought.charge,
        status: 'provisional',
        max: '3000000',
        actual: '2400500',
        refunded: '0',
        queued: '0',
      },
    });

    // Each call is its own charge: the same token again gets a fresh challenge.
    const again = await write(app.url, {}, bought.credential);
    expect(again.status).toBe(402);
    expect(await again.json()).toMatchObject({ code: 'token_already_used' });
    const fresh = challengeList(again.headers.get('www-authenticate')).find((c) => c.scheme === 'L402')!;
    expect(decodeInvoice(fresh.params.invoice!).paymentHash).not.toBe(bought.charge);
  });

  it('records the price when the handler reports nothing, and 0 when it tries to report above the maximum', async () => {
    const plain = await buy(app.url);
    expect(plain.served.status).toBe(200);
    expect((await app.desk.answer(plain.charge)).actual).toBe('3000000');

    const greedy = await buy(app.url, { actual: '3000001' });
    expect(greedy.served.status).toBe(500); // the honest kit refuses an actual above what was paid
    expect(await greedy.served.json()).toMatchObject({ error: expect.stringMatching(/within 0\.\.3000000/) });
    expect((await app.desk.answer(greedy.charge)).actual).toBe('0');
  });
});

describe('the review endpoint refuses', () => {
  it('malformed requests (400), a wrong proof (403), an unknown charge (404)', async () => {
    const { charge, proof } = await buy(app.url, { actual: '2000000' });
    const base = { v: 1, action: 'status', charge, proof };
    const bad = [
      { ...base, v: 2 },
      { ...base, action: 'refund' },
      { ...base, charge: 'x' },
      { ...base, proof: '' },
      { ...base, action: 'reject', amount: 1000, reason: 'x' },
      { ...base, action: 'reject', amount: '01', reason: 'x' },
      { ...base, action: 'reject', amount: '1000' },
      { ...base, action: 'reject', amount: '1000', reason: 'x'.repeat(501) },
      [],
    ];
    for (const body of bad) {
      const res = await review(reviewUrl(app.url), body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json).toMatchObject({ error: { code: 'bad_request', message: expect.any(String) } });
    }
    const wrongProof = await review(reviewUrl(app.url), { ...base, proof: randomBytes(32).toString('hex') });
    expect(wrongProof).toMatchObject({ status: 403, json: { error: { code: 'bad_proof' } } });
    const unknown = await review(reviewUrl(app.url), { ...base, charge: randomBytes(32).toString('hex') });
    expect(unknown).toMatchObject({ status: 404, json: { error: { code: 'unknown_charge' } } });

    const notJson = await fetch(reviewUrl(app.url), { method: 'POST', body: 'v=1' });
    expect(notJson.status).toBe(400);
    const get = await fetch(reviewUrl(app.url));
    expect(get.status).toBe(405);
    const preflight = await fetch(reviewUrl(app.url), { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('accept', () => {
  it('pays the difference, rounded down to whole sats, to an invoice of the user wallet; twice is once', async () => {
    const { charge, proof } = await buy(app.url, { actual: '2400500' });
    const accept = { v: 1, action: 'accept', charge, proof };
    // 3 000 000 − 2 400 500 = 599 500 msat: 599 sat come back.
    expect(await review(reviewUrl(app.url), accept)).toMatchObject({
      status: 422,
      json: { error: { code: 'invoice_required' } },
    });
    const wrongAmount = await makeInvoice(standin.url, user, 600);
    expect(await review(reviewUrl(app.url), { ...accept, invoice: wrongAmount.bolt11 })).toMatchObject({
      status: 422,
      json: { error: { code: 'invoice_mismatch', message: expect.stringMatching(/not 599000 msat/) } },
    });
    const expiring = await makeInvoice(standin.url, user, 599, 30);
    expect(await review(reviewUrl(app.url), { ...accept, invoice: expiring.bolt11 })).toMatchObject({
      status: 422,
      json: { error: { code: 'invoice_mismatch', message: expect.stringMatching(/expires/) } },
    });
    expect(await review(reviewUrl(app.url), { ...accept, invoice: 'lnbcrt1garbage' })).toMatchObject({
      status: 422,
      json: { error: { code: 'invoice_mismatch' } },
    });

    const invoice = await makeInvoice(standin.url, user, 599);
    const userBefore = await balanceMsat(standin.url, user);
    const appBefore = await balanceMsat(standin.url, appWallet);
    const first = await review(reviewUrl(app.url), { ...accept, invoice: invoice.bolt11 });
    expect(first).toEqual({
      status: 200,
      json: {
        v: 1,
        charge,
        status: 'accepted',
        max: '3000000',
        actual: '2400500',
        refunded: '599000',
        queued: '0',
      },
    });
    expect(await balanceMsat(standin.url, user)).toBe(userBefore + 599_000n);
    expect(await balanceMsat(standin.url, appWallet)).toBe(appBefore - 599_000n);
    expect(app.policyCalls.at(-1)).toMatchObject({ kind: 'difference', charge, amount: 599_000n });

    const second = await review(reviewUrl(app.url), { ...accept, invoice: invoice.bolt11 });
    expect(second).toEqual(first);
    expect(await balanceMsat(standin.url, user)).toBe(userBefore + 599_000n);

    // Accepted is final inside the window.
    const reject = await review(reviewUrl(app.url), {
      ...accept,
      action: 'reject',
      amount: '1000000',
      reason: 'changed my mind',
    });
    expect(reject).toMatchObject({ status: 409, json: { error: { code: 'already_decided' } } });
  });

  it('needs no invoice when nothing is owed', async () => {
    const { charge, proof } = await buy(app.url);
    const res = await review(reviewUrl(app.url), { v: 1, action: 'accept', charge, proof });
    expect(res.json).toMatchObject({ status: 'accepted', actual: '3000000', refunded: '0' });
  });

  it('refuses an invoice for another network', async () => {
    const mainnet = await startKitApp({ network: 'mainnet' });
    try {
      const { charge, proof } = await buy(mainnet.url, { actual: '2000000' });
      const invoice = await makeInvoice(standin.url, user, 1000);
      const res = await review(reviewUrl(mainnet.url), {
        v: 1,
        action: 'accept',
        charge,
        proof,
        invoice: invoice.bolt11,
      });
      expect(res).toMatchObject({
        status: 422,
        json: { error: { code: 'invoice_mismatch', message: expect.stringMatching(/regtest, not mainnet/) } },
      });
    } finally {
      await mainnet.close();
    }
  });
});

describe('reject', () => {
  const rejectBody = (charge: string, proof: string, amount: string, invoice?: string) => ({
    v: 1,
    action: 'reject',
    charge,
    proof,
    amount,
    reason: 'Not what I asked for',
    ...(invoice ? { invoice } : {}),
  });

  it('inside the window, with a paying policy: the refund arrives in the user wallet; twice is once', async () => {
    const { charge, proof } = await buy(app.url, { actual: '2400500' });
    expect(await review(reviewUrl(app.url), rejectBody(charge, proof, '3000001'))).toMatchObject({
      status: 422,
      json: { error: { code: 'amount_too_high' } },
    });
    expect(await review(reviewUrl(app.url), rejectBody(charge, proof, '3000000'))).toMatchObject({
      status: 422,
      json: { error: { code: 'invoice_required' } },
    });
    const wrong = await makeInvoice(standin.url, user, 2999);
    expect(
      await review(reviewUrl(app.url), rejectBody(charge, proof, '3000000', wrong.bolt11)),
    ).toMatchObject({ status: 422, json: { error: { code: 'invoice_mismatch' } } });

    const invoice = await makeInvoice(standin.url, user, 3000);
    const before = await balanceMsat(standin.url, user);
    const first = await review(reviewUrl(app.url), rejectBody(charge, proof, '3000000', invoice.bolt11));
    expect(first).toMatchObject({
      status: 200,
      json: { status: 'refunded', refunded: '3000000', queued: '0', actual: '2400500' },
    });
    expect(await balanceMsat(standin.url, user)).toBe(before + 3_000_000n);
    expect(app.policyCalls.at(-1)).toMatchObject({
      kind: 'reject',
      charge,
      unit: 'msat',
      amount: 3_000_000n,
      reason: 'Not what I asked for',
    });

    const second = await review(reviewUrl(app.url), rejectBody(charge, proof, '3000000', invoice.bolt11));
    expect(second).toEqual(first);
    expect(await balanceMsat(standin.url, user)).toBe(before + 3_000_000n);
    const other = await review(reviewUrl(app.url), rejectBody(charge, proof, '1000000', invoice.bolt11));
    expect(other).toMatchObject({ status: 409, json: { error: { code: 'already_decided' } } });
    const accept = await review(reviewUrl(app.url), { v: 1, action: 'accept', charge, proof });
    expect(accept).toMatchObject({ status: 409, json: { error: { code: 'already_decided' } } });
  });

  it('asks back part of it, rounded down to whole sats', async () => {
    const { charge, proof } = await buy(app.url);
    const invoice = await makeInvoice(standin.url, user, 1500);
    const res = await review(reviewUrl(app.url), rejectBody(charge, proof, '1500500', invoice.bolt11));
    expect(res.json).toMatchObject({ status: 'partially_refunded', refunded: '1500000' });
  });

  it('queued by the policy: waits until the operator pays it, then it arrives', async () => {
    decide = () => 'queue';
    const { charge, proof } = await buy(app.url);
    const invoice = await makeInvoice(standin.url, user, 2000);
    const before = await balanceMsat(standin.url, user);
    const queued = await review(reviewUrl(app.url), rejectBody(charge, proof, '2000000', invoice.bolt11));
    expect(queued.json).toMatchObject({ status: 'refund_queued', refunded: '0', queued: '2000000' });
    expect(await balanceMsat(standin.url, user)).toBe(before);
    expect((await app.desk.queued()).map((r) => r.charge)).toContain(charge);

    const paid = await app.desk.payQueued(charge);
    expect(paid).toMatchObject({ status: 'partially_refunded', refunded: '2000000', queued: '0' });
    expect(await balanceMsat(standin.url, user)).toBe(before + 2_000_000n);
    await expect(app.desk.payQueued(charge)).rejects.toMatchObject({ code: 'nothing_queued' });
    const status = await review(reviewUrl(app.url), { v: 1, action: 'status', charge, proof });
    expect(status.json).toMatchObject({ status: 'partially_refunded', refunded: '2000000' });
  });

  it('queued, then denied by the operator; or denied by the policy at once', async () => {
    decide = () => 'queue';
    const first = await buy(app.url);
    const invoice = await makeInvoice(standin.url, user, 100);
    await review(reviewUrl(app.url), rejectBody(first.charge, first.proof, '100000', invoice.bolt11));
    expect(await app.desk.denyQueued(first.charge)).toMatchObject({
      status: 'refund_denied',
      queued: '0',
      refunded: '0',
      note: 'the app declined this refund',
    });

    decide = () => 'deny';
    const second = await buy(app.url);
    const other = await makeInvoice(standin.url, user, 100);
    const res = await review(
      reviewUrl(app.url),
      rejectBody(second.charge, second.proof, '100000', other.bolt11),
    );
    expect(res.json).toMatchObject({ status: 'refund_denied', queued: '0', refunded: '0' });
  });

  it('a refund LNbits cannot pay stays queued with a note, and the operator pays it later', async () => {
    const { charge, proof } = await buy(app.url);
    const invoice = await makeInvoice(standin.url, user, 1000);
    await failNextPayment(standin.url, 'app');
    const before = await balanceMsat(standin.url, user);
    const res = await review(reviewUrl(app.url), rejectBody(charge, proof, '1000000', invoice.bolt11));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      status: 'refund_queued',
      queued: '1000000',
      refunded: '0',
      note: expect.stringMatching(/could not be paid .*no route/),
    });
    expect(await balanceMsat(standin.url, user)).toBe(before);
    expect(await app.desk.payQueued(charge)).toMatchObject({ status: 'partially_refunded', queued: '0' });
    expect(await balanceMsat(standin.url, user)).toBe(before + 1_000_000n);
  });

  it('after the window: queued for the app to decide, without asking the policy', async () => {
    const { charge, proof } = await buy(app.url);
    const calls = app.policyCalls.length;
    offsetMs = (WINDOW + 1) * 1000;
    const invoice = await makeInvoice(standin.url, user, 500);
    const res = await review(reviewUrl(app.url), rejectBody(charge, proof, '500000', invoice.bolt11));
    expect(res.json).toMatchObject({
      status: 'refund_queued',
      queued: '500000',
      note: expect.stringMatching(/window had closed/),
    });
    expect(app.policyCalls.length).toBe(calls);
  });

  it('after the window, an app that takes no late requests answers window_closed; accepting still works', async () => {
    const strict = await startKitApp({ lateRejects: 'refuse' });
    try {
      const { charge, proof } = await buy(strict.url, { actual: '2000000' });
      offsetMs = (WINDOW + 1) * 1000;
      const invoice = await makeInvoice(standin.url, user, 1000);
      const late = await review(reviewUrl(strict.url), rejectBody(charge, proof, '1000000', invoice.bolt11));
      expect(late).toMatchObject({ status: 409, json: { error: { code: 'window_closed' } } });
      const accepted = await review(reviewUrl(strict.url), {
        v: 1,
        action: 'accept',
        charge,
        proof,
        invoice: invoice.bolt11,
      });
      expect(accepted.json).toMatchObject({ status: 'accepted', refunded: '1000000' });
    } finally {
      await strict.close();
    }
  });
});
