// The LNbits client against the stand-in's LNbits API.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LnbitsClient } from '../../../server/merchant/kit/lnbits-client';
import { decodeInvoice, payInvoice, type Standin, startStandin, type WalletKeys } from './helpers';

let standin: Standin;
let user: WalletKeys;
let client: LnbitsClient;

beforeAll(async () => {
  const started = await startStandin();
  standin = started.standin;
  user = started.user;
  client = new LnbitsClient({ url: standin.url, invoiceKey: started.app.invoiceKey });
});

afterAll(async () => {
  await standin?.close();
});

describe('LnbitsClient', () => {
  it('reads the wallet', async () => {
    const info = await client.walletInfo();
    expect(typeof info.name).toBe('string');
    expect(typeof info.balanceMsat).toBe('bigint');
  });

  it('creates invoices in sat or msat, for exactly that amount', async () => {
    const bySat = await client.createInvoice({ amountSat: 12, memo: 'twelve', expirySeconds: 300 });
    expect(decodeInvoice(bySat.paymentRequest)).toMatchObject({
      amountMsat: 12_000n,
      paymentHash: bySat.paymentHash,
      description: 'twelve',
    });
    const byMsat = await client.createInvoice({ amountMsat: 7_000n, memo: 'seven' });
    expect(byMsat.amountMsat).toBe(7_000n);
    expect(decodeInvoice(byMsat.paymentRequest).amountMsat).toBe(7_000n);
  });

  it('refuses amounts it could not invoice exactly, before sending anything', async () => {
    for (const amountMsat of [1_500n, 0n, -1000n]) {
      await expect(client.createInvoice({ amountMsat, memo: 'x' })).rejects.toThrow();
    }
    await expect(client.createInvoice({ amountMsat: 1_500n, memo: 'x' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('reports a payment unpaid, then paid with its preimage', async () => {
    const invoice = await client.createInvoice({ amountSat: 3, memo: 'status' });
    expect(await client.getPayment(invoice.paymentHash)).toEqual({ paid: false, preimage: null });
    const preimage = await payInvoice(standin.url, user, invoice.paymentRequest);
    expect(await client.getPayment(invoice.paymentHash)).toEqual({ paid: true, preimage });
  });

  it('pays an invoice with the admin key, and says why LNbits could not', async () => {
    const payer = new LnbitsClient({
      url: standin.url,
      invoiceKey: user.invoiceKey,
      adminKey: user.adminKey,
    });
    const invoice = await client.createInvoice({ amountSat: 21, memo: 'pay me' });
    const sent = await payer.payInvoice(invoice.paymentRequest);
    expect(sent).toMatchObject({ paymentHash: invoice.paymentHash, status: 'success' });
    expect(await client.getPayment(invoice.paymentHash)).toEqual({ paid: true, preimage: sent.preimage });
    // Paid already: LNbits answers 520, a payment failure.
    await expect(payer.payInvoice(invoice.paymentRequest)).rejects.toMatchObject({
      code: 'payment_failed',
      status: 520,
    });
    await expect(client.payInvoice(invoice.paymentRequest)).rejects.toMatchObject({
      code: 'invalid_request',
    });
    const withInvoiceKey = new LnbitsClient({
      url: standin.url,
      invoiceKey: user.invoiceKey,
      adminKey: user.invoiceKey,
    });
    const other = await client.createInvoice({ amountSat: 1, memo: 'x' });
    await expect(withInvoiceKey.payInvoice(other.paymentRequest)).rejects.toMatchObject({
      code: 'unauthorized',
    });
  });

  it('gives typed errors', async () => {
    await expect(client.getPayment('zz')).rejects.toMatchObject({ code: 'invalid_request' });
    // LNbits answers 404 "Payment does not exist." for a hash this wallet never issued.
    await expect(client.getPayment(randomBytes(32).toString('hex'))).rejects.toMatchObject({
      name: 'LnbitsError',
      code: 'not_found',
      status: 404,
    });
    const wrongKey = new LnbitsClient({ url: standin.url, invoiceKey: 'not-a-key' });
    await expect(wrongKey.walletInfo()).rejects.toMatchObject({ name: 'LnbitsError', code: 'unauthorized' });
    const down = new LnbitsClient({ url: 'http://127.0.0.1:1', invoiceKey: 'k', timeoutMs: 2_000 });
    await expect(down.walletInfo()).rejects.toMatchObject({ code: 'network' });
  });
});
