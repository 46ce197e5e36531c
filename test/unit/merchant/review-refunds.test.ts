// A refund is paid at most once (the review desk's refund path): every attempt is written down
// with its invoice's payment hash before the wallet is asked; a timeout, a network error or
// `pending` is unknown, and is looked up before any retry or invoice replacement. Over real HTTP
// with the Lightning stand-in (a `hold` keeps a payment in flight past the client's timeout), and
// with a scripted wallet where the order of calls matters. Also the demo's operator hook, which
// pays and denies refunds: it needs the operator token.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import { readJsonBody, requestOrigin, sendJson } from '../../../server/merchant/kit/http';
import { readInvoice } from '../../../server/merchant/kit/invoice';
import {
  type InvoicePayer,
  LnbitsClient,
  LnbitsError,
  type OutgoingPayment,
  type SentPayment,
} from '../../../server/merchant/kit/lnbits-client';
import { l402Paywall } from '../../../server/merchant/kit/middleware';
import {
  type ChargeRecord,
  type ChargeStore,
  type RefundDecision,
  ReviewDesk,
  reviewEndpoint,
} from '../../../server/merchant/kit/review';
import { anotherInstanceStore, closeTestChargeStore, testChargeStore } from '../harness/charge-store';
import {
  balanceMsat,
  challengeList,
  decodeInvoice,
  failNextPayment,
  invoiceState,
  makeInvoice,
  mintL402,
  payInvoice,
  paymentStatus,
  releaseHeldPayments,
  review,
  type Standin,
  startStandin,
  until,
  type WalletKeys,
} from './helpers';

const PRICE_MSAT = 3_000_000n;
const ROOT_KEY = 'a7'.repeat(32);
/** Far below the stand-in's hold: the refund call times out while the payment is in flight. */
const CLIENT_TIMEOUT_MS = 300;

let standin: Standin;
let user: WalletKeys;
let appWallet: WalletKeys;
let decide: () => RefundDecision = () => 'pay';

interface KitApp {
  url: string;
  desk: ReviewDesk;
  close(): Promise<void>;
}

/** POST /write is paid over L402 with a review window; POST /review is the endpoint. */
async function startKitApp(): Promise<KitApp> {
  const desk = new ReviewDesk({
    refundWallet: new LnbitsClient({
      url: standin.url,
      invoiceKey: appWallet.invoiceKey,
      adminKey: appWallet.adminKey,
      timeoutMs: CLIENT_TIMEOUT_MS,
    }),
    network: 'regtest',
    rootKey: ROOT_KEY,
    refundPolicy: () => decide(),
    store: await testChargeStore(),
  });
  const paywall = l402Paywall<Record<string, never>>({
    wallet: new LnbitsClient({ url: standin.url, invoiceKey: appWallet.invoiceKey }),
    rootKey: ROOT_KEY,
    location: 'kit-refunds-test',
    service: 'kit',
    capability: 'write',
    priceMsat: () => PRICE_MSAT,
    description: () => 'refunds test',
    review: { desk, windowSeconds: 600, refundUrl: (req) => `${requestOrigin(req)}/review` },
  });
  const endpoint = reviewEndpoint(desk);
  const server: Server = createServer(async (req, res) => {
    try {
      if (req.url === '/review') return await endpoint(req, res);
      await readJsonBody(req);
      await paywall(req, res, {}, (_req, res, _body, paid) =>
        sendJson(res, 200, { charge: paid?.review?.charge }),
      );
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    desk,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

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
  decide = () => 'pay';
  await fetch(`${standin.url}/_standin/clear`, { method: 'POST' });
});

/** Pays the L402 challenge from the user wallet and makes the paid request. */
async function buy(): Promise<{ charge: string; proof: string }> {
  const send = (authorization?: string) =>
    fetch(`${app.url}/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: '{}',
    });
  const first = await send();
  const l402 = challengeList(first.headers.get('www-authenticate')).find((c) => c.scheme === 'L402')!;
  const preimage = await payInvoice(standin.url, user, l402.params.invoice!);
  expect((await send(`L402 ${l402.params.macaroon}:${preimage}`)).status).toBe(200);
  return {
    charge: decodeInvoice(l402.params.invoice!).paymentHash,
    proof: `${l402.params.macaroon}:${preimage}`,
  };
}

const reject = (charge: string, proof: string, invoice: string, amount = '1000000') =>
  review(`${app.url}/review`, { v: 1, action: 'reject', charge, proof, amount, reason: 'bad', invoice });

/** Waits until the stand-in has settled an invoice (a released payment finishes just after). */
async function settled(paymentHash: string): Promise<void> {
  await until(() => invoiceState(standin.url, paymentHash), 'settled');
}

describe('a refund whose payment times out while in flight (item 3)', () => {
  it('is paid once: the repeat reject with a fresh invoice and the operator pay wait for the lookup', async () => {
    const { charge, proof } = await buy();
    const first = await makeInvoice(standin.url, user, 1000);
    const second = await makeInvoice(standin.url, user, 1000);
    const before = await balanceMsat(standin.url, user);
    await failNextPayment(standin.url, 'app', 'hold');

    // The wallet call times out; the payment is still in flight at the wallet.
    const timedOut = await reject(charge, proof, first.bolt11);
    expect(timedOut).toMatchObject({ status: 200, json: { status: 'refund_queued', queued: '1000000' } });
    expect(timedOut.json.note).toMatch(/unknown|on its way/);
    const record = (await app.desk.get(charge)) as ChargeRecord;
    expect(record.requests[0]?.attempts).toMatchObject([
      { paymentHash: first.paymentHash, state: 'unknown', invoice: first.bolt11 },
    ]);

    // The payer repeats the reject with a new invoice: looked up, still pending, not replaced.
    const repeated = await reject(charge, proof, second.bolt11);
    expect(repeated).toMatchObject({ status: 200, json: { status: 'refund_queued' } });
    expect(repeated.json.note).toMatch(/in flight|on its way/);
    expect((await app.desk.get(charge))?.requests[0]?.invoice).toBe(first.bolt11);

    // The operator pays the queue: nothing is paid while the first payment may still settle.
    expect(await app.desk.payQueued(charge)).toMatchObject({ status: 'refund_queued', refunded: '0' });
    expect(await balanceMsat(standin.url, user)).toBe(before);

    // The first payment goes through after all; the next look finds it.
    await releaseHeldPayments(standin.url);
    await settled(first.paymentHash);
    const status = await review(`${app.url}/review`, { v: 1, action: 'status', charge, proof });
    expect(status.json).toMatchObject({ status: 'partially_refunded', refunded: '1000000', queued: '0' });
    await expect(app.desk.payQueued(charge)).rejects.toMatchObject({ code: 'nothing_queued' });
    expect(await balanceMsat(standin.url, user)).toBe(before + 1_000_000n);
    expect(await invoiceState(standin.url, second.paymentHash)).toBe('open');
  });

  it('timeout, repeat and operator pay at once: one refund', async () => {
    const { charge, proof } = await buy();
    const invoices = await Promise.all([1, 2, 3].map(() => makeInvoice(standin.url, user, 2000)));
    const before = await balanceMsat(standin.url, user);
    await failNextPayment(standin.url, 'app', 'hold');
    const operator = () => app.desk.payQueued(charge).catch((err: { code?: string }) => err.code);
    const first = reject(charge, proof, invoices[0]!.bolt11, '2000000');
    // The others arrive once the first reject's payment is held at the wallet: in flight until the
    // test releases it, whether or not the first call has timed out meanwhile.
    await until(() => paymentStatus(standin.url, appWallet, invoices[0]!.paymentHash), 'pending');
    const results = await Promise.all([
      first,
      reject(charge, proof, invoices[1]!.bolt11, '2000000'),
      operator(),
      reject(charge, proof, invoices[2]!.bolt11, '2000000'),
      operator(),
    ]);
    for (const r of [results[0], results[1], results[3]]) expect(r).toMatchObject({ status: 200 });
    expect(results[2]).toMatchObject({ status: 'refund_queued', refunded: '0' });
    expect(await balanceMsat(standin.url, user)).toBe(before);
    await releaseHeldPayments(standin.url);
    await settled(invoices[0]!.paymentHash);
    // Everyone asks again once the dust has settled: the operator, and the payer's wallet.
    await Promise.all([operator(), reject(charge, proof, invoices[2]!.bolt11, '2000000')]);
    const status = await review(`${app.url}/review`, { v: 1, action: 'status', charge, proof });
    expect(status.json).toMatchObject({ refunded: '2000000', queued: '0' });
    expect(await balanceMsat(standin.url, user)).toBe(before + 2_000_000n);
    const states = await Promise.all(invoices.map((i) => invoiceState(standin.url, i.paymentHash)));
    expect(states.filter((s) => s === 'settled')).toHaveLength(1);
  });

  it('a payment the wallet reports failed after a timeout lets a fresh invoice replace it, paid once', async () => {
    decide = () => 'queue';
    const { charge, proof } = await buy();
    const first = await makeInvoice(standin.url, user, 500);
    const second = await makeInvoice(standin.url, user, 500);
    const before = await balanceMsat(standin.url, user);
    expect((await reject(charge, proof, first.bolt11, '500000')).json).toMatchObject({
      status: 'refund_queued',
    });
    // The stand-in holds the payment for 600 ms, then fails it; the client gave up at 300 ms.
    await fetch(`${standin.url}/_standin/fail`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ wallet: 'app', mode: 'timeout', delayMs: 600 }),
    });
    expect(await app.desk.payQueued(charge)).toMatchObject({
      status: 'refund_queued',
      note: expect.stringMatching(/unknown/),
    });
    // Still in flight: the invoice is kept.
    await reject(charge, proof, second.bolt11, '500000');
    expect((await app.desk.get(charge))?.requests[0]?.invoice).toBe(first.bolt11);
    // The wallet fails the held payment: wait until it says so.
    await until(() => paymentStatus(standin.url, appWallet, first.paymentHash), 'failed');
    // Failed now: the fresh invoice replaces the first, and the operator's pay reaches it.
    await reject(charge, proof, second.bolt11, '500000');
    expect((await app.desk.get(charge))?.requests[0]?.invoice).toBe(second.bolt11);
    expect(await app.desk.payQueued(charge)).toMatchObject({
      status: 'partially_refunded',
      refunded: '500000',
    });
    expect(await balanceMsat(standin.url, user)).toBe(before + 500_000n);
    expect(await invoiceState(standin.url, first.paymentHash)).toBe('open');
  });

  it('the operator cannot deny a refund whose payment may have gone out', async () => {
    const { charge, proof } = await buy();
    const invoice = await makeInvoice(standin.url, user, 700);
    await failNextPayment(standin.url, 'app', 'hold');
    await reject(charge, proof, invoice.bolt11, '700000');
    await expect(app.desk.denyQueued(charge)).rejects.toMatchObject({
      code: 'nothing_queued',
      message: expect.stringMatching(/in flight or unknown/),
    });
    await releaseHeldPayments(standin.url);
    await settled(invoice.paymentHash);
    expect(await app.desk.reconcile(charge)).toMatchObject({
      status: 'partially_refunded',
      refunded: '700000',
    });
  });
});

describe('the refund path with a scripted wallet (item 3)', () => {
  /** A wallet whose answers the test sets; it counts what it was asked. */
  function scriptedWallet(script: {
    pay(bolt11: string): Promise<SentPayment>;
    lookup(hash: string): Promise<OutgoingPayment>;
  }) {
    const paid: string[] = [];
    const looked: string[] = [];
    const wallet: InvoicePayer = {
      async payInvoice(bolt11) {
        paid.push(bolt11);
        return script.pay(bolt11);
      },
      async outgoingPayment(hash) {
        looked.push(hash);
        return script.lookup(hash);
      },
    };
    return { wallet, paid, looked };
  }

  async function deskWith(wallet: InvoicePayer, given?: ChargeStore) {
    const store = given ?? (await testChargeStore());
    const desk = new ReviewDesk({
      refundWallet: wallet,
      network: 'regtest',
      rootKey: ROOT_KEY,
      store,
      refundPolicy: () => 'pay',
    });
    const { charge, proof } = mintL402(ROOT_KEY);
    await desk.open({
      charge,
      method: 'l402',
      proof: 'lightning',
      unit: 'msat',
      max: PRICE_MSAT,
      windowSeconds: 600,
    });
    const rejectBody = (invoice: string) => ({
      v: 1,
      action: 'reject',
      charge,
      proof,
      amount: '1000000',
      reason: 'bad',
      invoice,
    });
    return { desk, charge, proof, rejectBody };
  }

  it('writes the attempt down, with its payment hash, before the wallet is asked', async () => {
    const store = await testChargeStore();
    let seen: ChargeRecord | undefined;
    let charge = '';
    const { wallet } = scriptedWallet({
      pay: async (bolt11) => {
        seen = await store.get(charge);
        return { paymentHash: readInvoice(bolt11)!.paymentHash, status: 'success', preimage: null };
      },
      lookup: async () => ({ status: 'failed', preimage: null }),
    });
    const made = await deskWith(wallet, store);
    charge = made.charge;
    const invoice = await makeInvoice(standin.url, user, 1000);
    const { desk: _desk, rejectBody } = made;
    expect((await made.desk.review(rejectBody(invoice.bolt11))).body).toMatchObject({
      status: 'partially_refunded',
    });
    expect(seen?.requests[0]?.attempts).toMatchObject([
      { paymentHash: invoice.paymentHash, state: 'sending' },
    ]);
  });

  it('`pending` is unknown: the refund stays queued, is never paid again, and is looked up until it settles', async () => {
    let outcome: OutgoingPayment['status'] = 'pending';
    const script = scriptedWallet({
      pay: async (bolt11) => ({
        paymentHash: readInvoice(bolt11)!.paymentHash,
        status: 'pending',
        preimage: null,
      }),
      lookup: async () => ({ status: outcome, preimage: null }),
    });
    const { desk, charge, rejectBody } = await deskWith(script.wallet);
    const first = await makeInvoice(standin.url, user, 1000);
    const second = await makeInvoice(standin.url, user, 1000);
    expect((await desk.review(rejectBody(first.bolt11))).body).toMatchObject({
      status: 'refund_queued',
      queued: '1000000',
      refunded: '0',
    });
    expect((await desk.review(rejectBody(second.bolt11))).body).toMatchObject({ status: 'refund_queued' });
    expect((await desk.payQueued(charge)).status).toBe('refund_queued');
    expect(script.paid).toEqual([first.bolt11]);
    expect(script.looked.every((h) => h === first.paymentHash)).toBe(true);
    outcome = 'success';
    expect(await desk.payQueued(charge)).toMatchObject({ status: 'partially_refunded', refunded: '1000000' });
    expect(script.paid).toEqual([first.bolt11]);
  });

  it('a network error and a failed lookup leave it unknown; only a lookup that says failed lets it be paid again', async () => {
    let lookup: () => Promise<OutgoingPayment> = async () => {
      throw new LnbitsError('network', 'connection refused');
    };
    let pay: () => Promise<SentPayment> = async () => {
      throw new LnbitsError('network', 'socket hang up');
    };
    const script = scriptedWallet({ pay: () => pay(), lookup: () => lookup() });
    const { desk, charge, rejectBody } = await deskWith(script.wallet);
    const first = await makeInvoice(standin.url, user, 1000);
    const second = await makeInvoice(standin.url, user, 1000);
    await desk.review(rejectBody(first.bolt11));
    await desk.payQueued(charge);
    await desk.review(rejectBody(second.bolt11));
    expect(script.paid).toEqual([first.bolt11]);
    lookup = async () => ({ status: 'failed', preimage: null });
    pay = async () => ({ paymentHash: second.paymentHash, status: 'success', preimage: null });
    await desk.review(rejectBody(second.bolt11)); // the first is known failed: replaced
    expect(await desk.payQueued(charge)).toMatchObject({ status: 'partially_refunded', refunded: '1000000' });
    expect(script.paid).toEqual([first.bolt11, second.bolt11]);
    expect((await desk.get(charge))?.requests[0]?.attempts?.map((a) => a.state)).toEqual(['failed', 'paid']);
  });

  it('two app instances on one store, the same reject sent to both at once: one refund payment', async () => {
    let arrived!: () => void;
    const atWallet = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const script = scriptedWallet({
      pay: async () => {
        arrived();
        await released;
        return { status: 'success', preimage: null } as SentPayment;
      },
      lookup: async () => ({ status: 'success', preimage: null }),
    });
    const { desk, charge, rejectBody } = await deskWith(script.wallet);
    const other = new ReviewDesk({
      refundWallet: script.wallet,
      network: 'regtest',
      rootKey: ROOT_KEY,
      store: await anotherInstanceStore(),
      refundPolicy: () => 'pay',
    });
    const invoice = await makeInvoice(standin.url, user, 1000);
    const one = desk.review(rejectBody(invoice.bolt11));
    const two = other.review(rejectBody(invoice.bolt11));
    // The first payment is at the wallet: the other instance waits on the charge, not beside it.
    await atWallet;
    release();
    const answers = await Promise.all([one, two]);
    for (const answer of answers) expect(answer).toMatchObject({ status: 200 });
    expect(script.paid).toEqual([invoice.bolt11]);
    expect(await other.answer(charge)).toMatchObject({ status: 'partially_refunded', refunded: '1000000' });
  });

  it('a record left `sending` (the process stopped mid-payment) is looked up, not paid again', async () => {
    const store = await testChargeStore();
    const script = scriptedWallet({
      pay: async () => {
        throw new Error('the process stops here');
      },
      lookup: async () => ({ status: 'success', preimage: null }),
    });
    const { desk, charge, rejectBody } = await deskWith(script.wallet, store);
    const invoice = await makeInvoice(standin.url, user, 1000);
    await expect(desk.review(rejectBody(invoice.bolt11))).rejects.toThrow(/stops here/);
    expect((await store.get(charge))?.requests[0]?.attempts?.[0]?.state).toBe('sending');
    // A new desk over the same store, as after a restart.
    const restarted = new ReviewDesk({
      refundWallet: script.wallet,
      network: 'regtest',
      rootKey: ROOT_KEY,
      store,
    });
    expect(await restarted.payQueued(charge)).toMatchObject({
      status: 'partially_refunded',
      refunded: '1000000',
    });
    expect(script.paid).toHaveLength(1);
  });
});

describe("the demo's operator hook (item 3)", () => {
  let demo: DemoApp;
  const token = randomBytes(24).toString('hex');

  beforeAll(async () => {
    demo = await startDemoApp({
      port: 0,
      lnbitsUrl: standin.url,
      invoiceKey: appWallet.invoiceKey,
      adminKey: appWallet.adminKey,
      operatorToken: token,
    });
  });
  afterAll(async () => {
    await demo?.close();
  });

  const operator = (charge: string, decision: string, authorization?: string) =>
    fetch(`${demo.url}/_demo/refunds/${charge}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ decision }),
    });

  it('refuses anyone without the operator token: nothing is paid or denied', async () => {
    const res = await fetch(`${demo.url}/drafts/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'word '.repeat(300) }),
    });
    const l402 = challengeList(res.headers.get('www-authenticate')).find((c) => c.scheme === 'L402')!;
    const preimage = await payInvoice(standin.url, user, l402.params.invoice!);
    const paid = await fetch(`${demo.url}/drafts/generate`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `L402 ${l402.params.macaroon}:${preimage}`,
      },
      body: JSON.stringify({ prompt: 'word '.repeat(300) }),
    });
    const { charge } = (await paid.json()) as { charge: string };
    const invoice = await makeInvoice(standin.url, user, 7000);
    const queued = await review(`${demo.url}/paybound/review`, {
      v: 1,
      action: 'reject',
      charge,
      proof: `${l402.params.macaroon}:${preimage}`,
      amount: '7000000',
      reason: 'too long',
      invoice: invoice.bolt11,
    });
    expect(queued.json).toMatchObject({ status: 'refund_queued' });

    for (const auth of [
      undefined,
      'Bearer wrong-token-of-some-length',
      `Basic ${token}`,
      `Bearer ${token}x`,
    ]) {
      for (const decision of ['pay', 'deny']) {
        const res = await operator(charge, decision, auth);
        expect(res.status, `${auth} ${decision}`).toBe(401);
        expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
      }
    }
    expect((await demo.desk.answer(charge)).status).toBe('refund_queued');
    const before = await balanceMsat(standin.url, user);
    const ok = await operator(charge, 'pay', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'refunded', refunded: '7000000' });
    expect(await balanceMsat(standin.url, user)).toBe(before + 7_000_000n);
  });

  it('is closed even when no token was given: a random one is made', async () => {
    const other = await startDemoApp({ port: 0, lnbitsUrl: standin.url, invoiceKey: appWallet.invoiceKey });
    try {
      expect(other.operatorToken.length).toBeGreaterThanOrEqual(32);
      expect(
        (
          await fetch(`${other.url}/_demo/refunds/${'a'.repeat(64)}`, {
            method: 'POST',
            body: '{"decision":"pay"}',
          })
        ).status,
      ).toBe(401);
    } finally {
      await other.close();
    }
  });
});
