import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  LightningNode,
  type LightningStandin,
  startLightningStandin,
} from '../../../server/standins/lightning/index';
import { type RateStandin, startRateStandin } from '../../../server/standins/rates';
import { decodeInvoice, verifyPreimage } from '../../../src/core/lightning/bolt11';
import { type RateSourceKind, rateSourceUrl, readRateBody } from '../../../src/core/money/rate-sources';

// Invoice timestamps have one-second resolution; a fixed clock keeps expiry exact.
const START_MS = 1_760_000_000_000;

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

type Obj = Record<string, unknown>;

let standin: LightningStandin;
let nowMs: number;

beforeEach(async () => {
  nowMs = START_MS;
  standin = await startLightningStandin({ port: 0, now: () => nowMs });
});

afterEach(async () => {
  await standin.close();
});

const user = () => standin.wallets.user!;
const app = () => standin.wallets.app!;

async function call(
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key !== undefined) headers['X-Api-Key'] = opts.key;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(standin.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

const obj = (a: Answer) => a.body as Obj;

async function balance(key: string): Promise<number> {
  const a = await call('GET', '/api/v1/wallet', { key });
  expect(a.status).toBe(200);
  return obj(a).balance as number;
}

async function createInvoice(amountSat = 1000, extra: Obj = {}, key = app().invoiceKey): Promise<Obj> {
  const a = await call('POST', '/api/v1/payments', {
    key,
    body: { out: false, amount: amountSat, memo: 'test', ...extra },
  });
  expect(a.status).toBe(201);
  return obj(a);
}

function pay(bolt11: string, key = user().adminKey): Promise<Answer> {
  return call('POST', '/api/v1/payments', { key, body: { out: true, bolt11 } });
}

const failure = (status: number, detail: string | RegExp) =>
  expect.objectContaining({
    status,
    body: expect.objectContaining({ detail: expect.stringMatching(detail) }),
  });

describe('LNbits API: wallets and keys', () => {
  it('shows the wallet with its msat balance; the id only to the admin key', async () => {
    const admin = await call('GET', '/api/v1/wallet', { key: user().adminKey });
    expect(admin).toMatchObject({
      status: 200,
      body: { id: user().id, name: 'user', balance: 1_000_000_000 },
    });
    const invoice = await call('GET', '/api/v1/wallet', { key: app().invoiceKey });
    expect(invoice.body).toEqual({ name: 'app', balance: 0 });
  });

  it('answers 401 without a key and 404 for a key no wallet has, as LNbits does', async () => {
    expect(await call('GET', '/api/v1/wallet')).toMatchObject({
      status: 401,
      body: { detail: 'No Api Key provided.' },
    });
    expect(await call('GET', '/api/v1/wallet', { key: 'f'.repeat(32) })).toMatchObject({
      status: 404,
      body: { detail: 'Wallet not found.' },
    });
    expect(await call('POST', '/api/v1/payments', { body: { out: false, amount: 1 } })).toMatchObject({
      status: 401,
    });
  });

  it('accepts the key as an api-key query parameter too', async () => {
    const a = await call('GET', `/api/v1/wallet?api-key=${user().invoiceKey}`);
    expect(a).toMatchObject({ status: 200, body: { name: 'user' } });
  });

  it('uses fixed keys and wallets when given', async () => {
    const other = await startLightningStandin({
      wallets: [{ name: 'shop', balanceMsat: 5_000n }],
      keys: { shop: { adminKey: 'a'.repeat(32), invoiceKey: 'b'.repeat(32) } },
    });
    try {
      expect(other.wallets.shop).toMatchObject({
        name: 'shop',
        adminKey: 'a'.repeat(32),
        invoiceKey: 'b'.repeat(32),
      });
      expect(Object.keys(other.wallets)).toEqual(['shop']);
      const a = await fetch(`${other.url}/api/v1/wallet`, { headers: { 'X-Api-Key': 'b'.repeat(32) } });
      expect(await a.json()).toEqual({ name: 'shop', balance: 5000 });
    } finally {
      await other.close();
    }
    expect(user().adminKey).toMatch(/^[0-9a-f]{32}$/);
    expect(user().invoiceKey).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('LNbits API: invoices and payments', () => {
  it('creates a real signed regtest invoice that the strict decoder accepts', async () => {
    const created = await createInvoice(1000);
    expect(created).toMatchObject({
      wallet_id: app().id,
      amount: 1_000_000,
      status: 'pending',
      memo: 'test',
      preimage: null,
    });
    expect(created.payment_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(created.checking_id).toBe(created.payment_hash);
    expect(created.bolt11).toBe(created.payment_request);
    const inv = decodeInvoice(created.payment_request as string);
    expect(inv).toMatchObject({
      network: 'regtest',
      amountMsat: 1_000_000n,
      paymentHash: created.payment_hash,
      payee: standin.node.pubkey,
      description: 'test',
      timestamp: START_MS / 1000,
      expirySeconds: 3600,
      minFinalCltvExpiry: 18,
    });
    expect(inv.paymentRequest.startsWith('lnbcrt10u1')).toBe(true);
    expect(inv.paymentSecret).toMatch(/^[0-9a-f]{64}$/);
  });

  it('commits to a description hash instead of a memo when asked', async () => {
    const hash = 'ab'.repeat(32);
    const created = await createInvoice(21, { description_hash: hash });
    const inv = decodeInvoice(created.payment_request as string);
    expect(inv.descriptionHash).toBe(hash);
    expect(inv.description).toBeUndefined();
    expect(created.memo).toBe('');
  });

  it('pays an invoice of another wallet: exact balances, a preimage that matches, lookup shows paid', async () => {
    const created = await createInvoice(1234);
    const hash = created.payment_hash as string;
    const paid = await pay(created.payment_request as string);
    expect(paid.status).toBe(201);
    const payment = obj(paid);
    expect(payment).toMatchObject({
      payment_hash: hash,
      checking_id: `internal_${hash}`,
      wallet_id: user().id,
      amount: -1_234_000,
      fee: 0,
      status: 'success',
    });
    expect(verifyPreimage(payment.preimage as string, hash)).toBe(true);
    expect(await balance(user().adminKey)).toBe(1_000_000_000 - 1_234_000);
    expect(await balance(app().invoiceKey)).toBe(1_234_000);

    const seenByPayee = await call('GET', `/api/v1/payments/${hash}`, { key: app().invoiceKey });
    expect(seenByPayee.body).toMatchObject({
      paid: true,
      status: 'success',
      preimage: payment.preimage,
      details: { amount: 1_234_000, status: 'success', wallet_id: app().id },
    });
    const seenByPayer = await call('GET', `/api/v1/payments/${hash}`, { key: user().invoiceKey });
    expect(seenByPayer.body).toMatchObject({ paid: true, details: { amount: -1_234_000 } });
    const anonymous = await call('GET', `/api/v1/payments/${hash}`);
    expect(anonymous.body).toEqual({ paid: true, status: 'success', preimage: payment.preimage });
    const state = await call('GET', `/_standin/invoices/${hash}`);
    expect(state.body).toMatchObject({ state: 'settled', paid_msat: 1_234_000, preimage: payment.preimage });
  });

  it('refuses to pay the same invoice twice', async () => {
    const created = await createInvoice(10);
    expect((await pay(created.payment_request as string)).status).toBe(201);
    const again = await pay(created.payment_request as string);
    expect(again).toEqual(failure(520, /invoice already paid/i));
    expect(obj(again).status).toBe('failed');
    expect(await balance(user().adminKey)).toBe(1_000_000_000 - 10_000);
  });

  it('settles only once when two payments of one invoice race', async () => {
    const created = await createInvoice(10);
    const answers = await Promise.all([
      pay(created.payment_request as string),
      pay(created.payment_request as string),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 520]);
    expect(await balance(app().invoiceKey)).toBe(10_000);
  });

  it('refuses an expired invoice; its lookup then reads failed', async () => {
    const created = await createInvoice(10, { expiry: 60 });
    nowMs += 59_000;
    expect((await call('GET', `/_standin/invoices/${created.payment_hash}`)).body).toMatchObject({
      state: 'open',
    });
    nowMs += 1_000;
    expect(await pay(created.payment_request as string)).toEqual(failure(520, /expired/));
    expect((await call('GET', `/_standin/invoices/${created.payment_hash}`)).body).toMatchObject({
      state: 'expired',
    });
    const lookup = await call('GET', `/api/v1/payments/${created.payment_hash}`, { key: app().invoiceKey });
    expect(lookup.body).toMatchObject({ paid: false, status: 'failed' });
    expect(await balance(user().adminKey)).toBe(1_000_000_000);
  });

  it('refuses a payment the balance does not cover', async () => {
    const created = await createInvoice(10, {}, user().invoiceKey);
    expect(await pay(created.payment_request as string, app().adminKey)).toEqual(
      failure(520, 'Insufficient balance.'),
    );
    await call('POST', '/_standin/fund', { body: { wallet: 'app', amountMsat: 9_999 } });
    expect(await pay(created.payment_request as string, app().adminKey)).toEqual(
      failure(520, 'Insufficient balance.'),
    );
    await call('POST', '/_standin/fund', { body: { wallet: app().id, amountMsat: '1' } });
    expect((await pay(created.payment_request as string, app().adminKey)).status).toBe(201);
    expect(await balance(app().adminKey)).toBe(0);
  });

  it('does not let an invoice key pay', async () => {
    const created = await createInvoice(10, {}, user().invoiceKey);
    const a = await pay(created.payment_request as string, app().invoiceKey);
    expect(a).toMatchObject({ status: 403, body: { detail: 'Invoice (or Admin) key required.' } });
    // LNbits defaults `out` to true: a body without it is a payment too.
    const b = await call('POST', '/api/v1/payments', { key: app().invoiceKey, body: { amount: 5 } });
    expect(b.status).toBe(403);
    expect(await balance(user().invoiceKey)).toBe(1_000_000_000);
  });

  it('refuses invoices a node would refuse', async () => {
    expect(
      await call('POST', '/api/v1/payments', { key: user().adminKey, body: { out: true } }),
    ).toMatchObject({
      status: 400,
      body: { detail: 'Missing BOLT11 invoice' },
    });
    expect(await pay('lnbcrt1notaninvoice')).toEqual(failure(520, 'Bolt11 decoding failed.'));
    const mainnet =
      'lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh';
    expect(await pay(mainnet)).toEqual(failure(520, /not for current active network 'regtest'/));
    const amountless = standin.node.createInvoice(app().id, { memo: 'tip jar' });
    expect(await pay(amountless.bolt11)).toEqual(failure(520, 'Amountless invoices not supported.'));
    expect(await balance(user().adminKey)).toBe(1_000_000_000);
  });

  it('has no route to invoices of other nodes', async () => {
    const stranger = new LightningNode({ now: () => nowMs });
    const shop = stranger.createWallet({ name: 'shop' });
    const foreign = stranger.createInvoice(shop.id, { amountMsat: 5_000n, memo: 'elsewhere' });
    expect(await pay(foreign.bolt11)).toEqual(failure(520, 'Payment failed: no route found'));
    const record = await call('GET', `/api/v1/payments/${foreign.paymentHash}`, { key: user().adminKey });
    expect(record.body).toMatchObject({ paid: false, status: 'failed', details: { amount: -5_000 } });
    expect(await balance(user().adminKey)).toBe(1_000_000_000);
  });

  it('lists payments newest first, with a limit', async () => {
    const first = await createInvoice(1);
    const second = await createInvoice(2);
    await pay(first.payment_request as string);
    nowMs += 1000;
    await pay(second.payment_request as string);
    const list = await call('GET', '/api/v1/payments', { key: user().invoiceKey });
    expect((list.body as Obj[]).map((p) => [p.payment_hash, p.amount, p.status])).toEqual([
      [second.payment_hash, -2000, 'success'],
      [first.payment_hash, -1000, 'success'],
    ]);
    const one = await call('GET', '/api/v1/payments?limit=1', { key: app().invoiceKey });
    expect((one.body as Obj[]).map((p) => p.payment_hash)).toEqual([second.payment_hash]);
    expect(await call('GET', '/api/v1/payments?limit=x', { key: app().invoiceKey })).toMatchObject({
      status: 400,
    });
  });

  it('answers 404 for an unknown payment hash', async () => {
    const a = await call('GET', `/api/v1/payments/${'0'.repeat(64)}`, { key: user().invoiceKey });
    expect(a).toMatchObject({ status: 404, body: { detail: 'Payment does not exist.' } });
  });
});

describe('LNbits API: bad input', () => {
  it('answers malformed JSON and missing or wrong fields with 400 and a detail', async () => {
    const key = app().invoiceKey;
    expect(await call('POST', '/api/v1/payments', { key, raw: '{"out": false, "amount": ' })).toEqual(
      failure(400, /JSON/),
    );
    expect(await call('POST', '/api/v1/payments', { key, raw: '[1, 2]' })).toEqual(failure(400, /object/));
    expect(await call('POST', '/api/v1/payments', { key, raw: '' })).toEqual(failure(400, /required/));
    expect(await call('POST', '/api/v1/payments', { key, body: { out: false } })).toEqual(
      failure(400, /amount/),
    );
    expect(await call('POST', '/api/v1/payments', { key, body: { out: false, amount: -5 } })).toEqual(
      failure(400, /amount/),
    );
    expect(await call('POST', '/api/v1/payments', { key, body: { out: false, amount: 1.5 } })).toEqual(
      failure(400, /whole/),
    );
    expect(await call('POST', '/api/v1/payments', { key, body: { out: 'no', amount: 5 } })).toEqual(
      failure(400, /out/),
    );
    expect(
      await call('POST', '/api/v1/payments', { key, body: { out: false, amount: 5, unit: 'USD' } }),
    ).toEqual(failure(400, /unit/));
    expect(
      await call('POST', '/api/v1/payments', {
        key,
        body: { out: false, amount: 5, description_hash: 'xyz' },
      }),
    ).toEqual(failure(400, /description_hash/));
    expect(await call('POST', '/api/v1/payments', { key, body: { out: false, amount: 0 } })).toEqual(
      failure(520, 'Amountless invoices not supported.'),
    );
  });

  it('answers unknown paths with 404 and wrong methods with 405, in JSON', async () => {
    expect(await call('GET', '/api/v1/nothing-here')).toMatchObject({
      status: 404,
      body: { detail: 'Not Found' },
    });
    expect(await call('DELETE', '/api/v1/wallet', { key: user().adminKey })).toMatchObject({
      status: 405,
      body: { detail: 'Method Not Allowed' },
    });
  });

  it('allows cross-origin calls from extension workers', async () => {
    const pre = await call('OPTIONS', '/api/v1/payments', {
      headers: { Origin: 'chrome-extension://abc', 'Access-Control-Request-Method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/X-Api-Key/i);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/Content-Type/i);
    const get = await call('GET', '/api/v1/wallet', { key: user().invoiceKey });
    expect(get.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('rejects bad control requests', async () => {
    expect(await call('POST', '/_standin/fail', { body: { wallet: 'user', mode: 'explode' } })).toEqual(
      failure(400, /mode/),
    );
    expect(await call('POST', '/_standin/fail', { body: { wallet: 'nobody', mode: 'timeout' } })).toEqual(
      failure(404, /unknown wallet/),
    );
    expect(await call('POST', '/_standin/fund', { body: { wallet: 'user', amountMsat: 1.5 } })).toEqual(
      failure(400, /amountMsat/),
    );
    expect(await call('POST', '/_standin/fund', { body: { wallet: 'app', amountMsat: -1 } })).toEqual(
      failure(400, /negative/),
    );
    expect(await call('GET', `/_standin/invoices/${'1'.repeat(64)}`)).toEqual(failure(404, /does not exist/));
  });
});

describe('failure injection', () => {
  const inject = (body: Obj) => call('POST', '/_standin/fail', { body });

  it('insufficient_balance fails the next payment only', async () => {
    expect((await inject({ wallet: 'user', mode: 'insufficient_balance' })).status).toBe(200);
    const created = await createInvoice(10);
    expect(await pay(created.payment_request as string)).toEqual(failure(520, 'Insufficient balance.'));
    expect((await pay(created.payment_request as string)).status).toBe(201);
  });

  it('route_failure fails `count` payments and records them as failed', async () => {
    await inject({ wallet: user().id, mode: 'route_failure', count: 2 });
    const created = await createInvoice(10);
    const bolt11 = created.payment_request as string;
    expect(await pay(bolt11)).toEqual(failure(520, /no route/));
    expect(await pay(bolt11)).toEqual(failure(520, /no route/));
    const list = await call('GET', '/api/v1/payments', { key: user().invoiceKey });
    expect((list.body as Obj[]).map((p) => p.status)).toEqual(['failed', 'failed']);
    expect((await pay(bolt11)).status).toBe(201);
    expect(await balance(user().adminKey)).toBe(1_000_000_000 - 10_000);
  });

  it('timeout holds the answer for delayMs, then fails without moving money', async () => {
    await inject({ wallet: 'user', mode: 'timeout', delayMs: 80 });
    const created = await createInvoice(10);
    const started = performance.now();
    const answer = await pay(created.payment_request as string);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    expect(answer).toEqual(failure(520, 'Payment failed: timeout'));
    expect(await balance(user().adminKey)).toBe(1_000_000_000);
    expect((await call('GET', `/_standin/invoices/${created.payment_hash}`)).body).toMatchObject({
      state: 'open',
    });
  });

  it('a held payment reads as pending, and closing the stand-in ends it', async () => {
    await inject({ wallet: 'user', mode: 'timeout', delayMs: 60_000 });
    const created = await createInvoice(10);
    const held = pay(created.payment_request as string);
    await vi.waitFor(() => expect(standin.node.payments(user().id)[0]?.status).toBe('pending'));
    const lookup = await call('GET', `/api/v1/payments/${created.payment_hash}`, { key: user().invoiceKey });
    expect(lookup.body).toMatchObject({ paid: false, status: 'pending' });
    await standin.close();
    expect(await held).toEqual(failure(520, 'Payment failed: timeout'));
  });

  it('late_answer pays at once (a lookup reads paid) and holds the answer until released', async () => {
    await inject({ wallet: 'user', mode: 'late_answer' });
    const created = await createInvoice(10);
    let answered = false;
    const late = pay(created.payment_request as string).then((a) => {
      answered = true;
      return a;
    });
    await vi.waitFor(async () =>
      expect((await call('GET', `/_standin/invoices/${created.payment_hash}`)).body).toMatchObject({
        state: 'settled',
      }),
    );
    const lookup = await call('GET', `/api/v1/payments/${created.payment_hash}`, { key: user().invoiceKey });
    expect(lookup.body).toMatchObject({ paid: true, status: 'success' });
    expect(await balance(user().adminKey)).toBe(1_000_000_000 - 10_000);
    expect(answered).toBe(false);
    expect((await call('POST', '/_standin/release')).status).toBe(200);
    const answer = await late;
    expect(answer.status).toBe(201);
    expect(verifyPreimage(obj(answer).preimage as string, created.payment_hash as string)).toBe(true);
  });

  it('wrong_preimage debits and claims success with a preimage that does not match', async () => {
    await inject({ wallet: 'user', mode: 'wrong_preimage' });
    const created = await createInvoice(10);
    const answer = await pay(created.payment_request as string);
    expect(answer.status).toBe(201);
    expect(obj(answer).status).toBe('success');
    expect(obj(answer).preimage).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyPreimage(obj(answer).preimage as string, created.payment_hash as string)).toBe(false);
    expect(await balance(user().adminKey)).toBe(1_000_000_000 - 10_000);
    expect(await balance(app().invoiceKey)).toBe(0);
    expect((await call('GET', `/_standin/invoices/${created.payment_hash}`)).body).toMatchObject({
      state: 'open',
    });
  });

  it('clear drops queued failures', async () => {
    await inject({ wallet: 'user', mode: 'route_failure', count: 5 });
    expect((await call('POST', '/_standin/clear', { body: { wallet: 'user' } })).status).toBe(200);
    await inject({ wallet: 'user', mode: 'insufficient_balance' });
    expect((await call('POST', '/_standin/clear')).body).toEqual({ cleared: 'all' });
    const created = await createInvoice(10);
    expect((await pay(created.payment_request as string)).status).toBe(201);
  });

  it('cancelled invoices cannot be paid', async () => {
    const created = await createInvoice(10);
    const cancel = await call('POST', `/_standin/invoices/${created.payment_hash}/cancel`);
    expect(cancel.body).toMatchObject({ state: 'cancelled' });
    expect(await pay(created.payment_request as string)).toEqual(failure(520, /cancelled/));
  });
});

describe('LightningNode', () => {
  it('pays an amountless invoice when the payer names the amount', async () => {
    const node = standin.node;
    const inv = node.createInvoice(app().id, { memo: 'any amount' });
    expect(decodeInvoice(inv.bolt11).amountMsat).toBeNull();
    await expect(node.payInvoice(user().id, inv.bolt11)).rejects.toMatchObject({ code: 'amount_required' });
    const paid = await node.payInvoice(user().id, inv.bolt11, { amountMsat: 1_500n });
    expect(paid.amountMsat).toBe(-1_500n);
    expect(node.wallet('app')?.balanceMsat).toBe(1_500n);
  });

  it('signs with a stable node key when given one', () => {
    const node = new LightningNode({
      privateKey: 'e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734',
    });
    expect(node.pubkey).toBe('03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad');
    const w = node.createWallet({ name: 'w' });
    expect(decodeInvoice(node.createInvoice(w.id, { amountMsat: 1n }).bolt11).payee).toBe(node.pubkey);
  });
});

describe('rate stand-in', () => {
  let rates: RateStandin;
  beforeEach(async () => {
    rates = await startRateStandin({ port: 0 });
  });
  afterEach(async () => {
    await rates.close();
  });
  /** What the extension's own parser reads from the stand-in, for one provider and currency. */
  const readFrom = async (kind: RateSourceKind, currency = 'USD') => {
    const res = await fetch(rateSourceUrl({ kind, url: rates.url }, currency));
    return readRateBody({ kind, url: rates.url }, await res.json(), currency, Date.now());
  };

  it('serves each provider at its own path, in its own shape, read by the same parsers as the real ones', async () => {
    for (const kind of ['coinbase', 'kraken', 'mempool', 'alby', 'yadio'] as const) {
      expect((await readFrom(kind)).minorPerBtc, kind).toBe(10_000_000n);
      expect((await readFrom(kind, 'JPY')).minorPerBtc, kind).toBe(15_000_000n);
    }
    expect((await readFrom('kraken', 'CHF')).minorPerBtc).toBe(8_800_000n);
    const coinbase = await fetch(`${rates.url}/v2/exchange-rates?currency=BTC`);
    expect(coinbase.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await coinbase.json()) as { data: { rates: Obj } };
    expect(body.data).toMatchObject({ currency: 'BTC', rates: { USD: '100000.00', EUR: '92000.00' } });
    // Decimal strings where the real API has them, JSON numbers where it has those.
    expect(Object.values(body.data.rates).every((v) => typeof v === 'string')).toBe(true);
    const mempool = (await (await fetch(`${rates.url}/api/v1/prices`)).json()) as Obj;
    expect(Object.keys(mempool).sort()).toEqual(['AUD', 'CAD', 'CHF', 'EUR', 'GBP', 'JPY', 'USD', 'time']);
    expect(Object.values(mempool).every((v) => Number.isInteger(v))).toBe(true);
    const kraken = (await (await fetch(`${rates.url}/0/public/Ticker?pair=XBTEUR`)).json()) as Obj;
    expect(Object.keys(kraken.result as Obj)).toEqual(['XXBTZEUR']);
  });

  it('lets tests change the rates and pin the time the sources state', async () => {
    const change = await fetch(`${rates.url}/_standin/rates`, {
      method: 'POST',
      body: JSON.stringify({ rates: { USD: '65432.10' }, asOf: '2025-01-01T00:00:00Z' }),
    });
    expect(change.status).toBe(200);
    expect(await readFrom('coinbase')).toMatchObject({ minorPerBtc: 6_543_210n });
    expect(await readFrom('mempool')).toMatchObject({
      minorPerBtc: 6_543_200n,
      asOf: Date.parse('2025-01-01T00:00:00Z'),
    });
    expect(await readFrom('yadio')).toMatchObject({ asOf: Date.parse('2025-01-01T00:00:00Z') });
    expect(rates.rates()).toMatchObject({ USD: '65432.10', EUR: '92000.00' });
  });

  it("answers unknown currencies with each provider's own error", async () => {
    const get = async (path: string) => {
      const res = await fetch(`${rates.url}${path}`);
      return [res.status, await res.json()];
    };
    expect(await get('/v2/exchange-rates?currency=ETH')).toEqual([
      400,
      { errors: [{ id: 'invalid_request', message: 'Invalid currency (ETH)' }] },
    ]);
    expect(await get('/0/public/Ticker?pair=XBTBRL')).toEqual([
      200,
      { error: ['EQuery:Unknown asset pair'] },
    ]);
    expect(await get('/api/rates/brl.json')).toEqual([404, { status: 404, error: 'Not Found' }]);
    expect((await get('/exrates/BRL'))[0]).toBe(404);
    // The home-made format is gone.
    expect((await fetch(`${rates.url}/v1/rates?base=BTC`)).status).toBe(404);
    expect((await fetch(`${rates.url}/nope`)).status).toBe(404);
  });

  it('makes one provider fail or lie on demand, and answer again when told', async () => {
    rates.setFault('kraken', { offsetBps: 1000 });
    expect((await readFrom('kraken')).minorPerBtc).toBe(11_000_000n);
    expect((await readFrom('coinbase')).minorPerBtc).toBe(10_000_000n);
    rates.setFault('kraken', 'down');
    const down = await fetch(`${rates.url}/0/public/Ticker?pair=XBTUSD`);
    expect([down.status, await down.json()]).toEqual([503, { error: ['EService:Unavailable'] }]);
    rates.setFault('mempool', 'html');
    const html = await fetch(`${rates.url}/api/v1/prices`);
    expect(html.headers.get('content-type')).toBe('text/html');
    rates.setFault('kraken', null);
    expect((await readFrom('kraken')).minorPerBtc).toBe(10_000_000n);
    const bad = await fetch(`${rates.url}/_standin/rates`, {
      method: 'POST',
      body: JSON.stringify({ faults: { nobody: 'down' } }),
    });
    expect(bad.status).toBe(400);
  });

  it('holds a hanging answer until the fault is cleared', async () => {
    rates.setFault('coinbase', 'hang');
    const pending = fetch(`${rates.url}/v2/exchange-rates?currency=BTC`).then(
      () => 'answered',
      () => 'cut off',
    );
    // The mempool path still answers meanwhile.
    expect((await readFrom('mempool')).minorPerBtc).toBe(10_000_000n);
    rates.setFault('coinbase', null);
    expect(await pending).toBe('cut off');
  });

  it('refuses non-decimal rates', async () => {
    const bad = await fetch(`${rates.url}/_standin/rates`, {
      method: 'POST',
      body: JSON.stringify({ rates: { USD: 1.5 } }),
    });
    expect(bad.status).toBe(400);
    expect(rates.rates().USD).toBe('100000.00');
  });
});
