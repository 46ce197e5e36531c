// The demo's x402 route behind the real @x402/express middleware, paid by @x402/fetch with a viem
// local account, settled by the facilitator stand-in.
import { x402Client } from '@x402/core/client';
import { decodePaymentResponseHeader } from '@x402/core/http';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { ExactEvmSchemeV1 } from '@x402/evm/exact/v1/client';
import { wrapFetchWithPayment } from '@x402/fetch';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import { X402_PATH } from '../../../server/merchant/demo/x402';
import { X402_V1_PATH } from '../../../server/merchant/demo/x402-v1';
import {
  type FacilitatorStandin,
  startX402Facilitator,
  TRANSFER_WITH_AUTHORIZATION,
} from '../../../server/standins/x402-facilitator';
import { readX402Body, readX402Header } from '../../../src/core/challenge/x402';
import {
  buildAuthorization,
  paymentCredential,
  readSettlement,
} from '../../../src/core/payments/x402-authorization';

const PAY_TO = '0x5ca1ab1e00000000000000000000000000000402';
let facilitator: FacilitatorStandin;
let app: DemoApp;
let payer: PrivateKeyAccount;

const generate = (prompt = 'a haiku about receipts', headers: Record<string, string> = {}) =>
  fetch(`${app.url}${X402_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ prompt }),
  });

beforeAll(async () => {
  facilitator = await startX402Facilitator();
  // The Lightning parts are not used here; nothing is asked of LNbits until an L402 route is hit.
  app = await startDemoApp({
    port: 0,
    lnbitsUrl: 'http://127.0.0.1:9',
    invoiceKey: 'unused',
    x402: { facilitatorUrl: facilitator.url, payTo: PAY_TO },
  });
  payer = privateKeyToAccount(generatePrivateKey());
  facilitator.fund(payer.address, 1_000_000n);
});
afterAll(async () => {
  await app?.close();
  await facilitator?.close();
});

describe('the demo x402 route', () => {
  it('answers 402 with a PAYMENT-REQUIRED header Paybound reads', async () => {
    const res = await generate();
    expect(res.status).toBe(402);
    expect(res.headers.get('access-control-expose-headers')).toContain('PAYMENT-REQUIRED');
    const c = readX402Header(res.headers.get('payment-required') ?? '');
    expect(c.version).toBe(2);
    expect(c.resource.url).toBe(`${app.url}${X402_PATH}`);
    expect(c.accepts).toHaveLength(1);
    expect(c.accepts[0]).toMatchObject({
      scheme: 'exact',
      amount: 10000n,
      payTo: PAY_TO,
      maxTimeoutSeconds: 120,
    });
    expect(c.accepts[0]?.asset.network).toBe('eip155:84532');
  });

  it('is paid end to end by @x402/fetch, once; a replayed payment is refused', async () => {
    let sentSignature = '';
    const recording: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      sentSignature ||= request.headers.get('payment-signature') ?? '';
      return fetch(request);
    };
    const client = new x402Client().register('eip155:84532', new ExactEvmScheme(payer));
    const paying = wrapFetchWithPayment(recording, client);
    const res = await paying(`${app.url}${X402_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a haiku about receipts' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { text: string; paid: { amount: string } };
    expect(body.text.length).toBeGreaterThan(0);
    expect(body.paid.amount).toBe('10000');
    const settlement = decodePaymentResponseHeader(res.headers.get('payment-response') ?? '');
    expect(settlement).toMatchObject({ success: true, network: 'eip155:84532', payer: payer.address });
    expect(settlement.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect(facilitator.balanceOf(payer.address)).toBe(990_000n);
    expect(facilitator.balanceOf(PAY_TO)).toBe(10_000n);

    // The same signed payment again: the nonce is spent, nothing moves.
    expect(sentSignature).not.toBe('');
    const replay = await generate('a haiku about receipts', { 'payment-signature': sentSignature });
    expect(replay.status).toBe(402);
    expect(replay.headers.get('payment-response')).toBeNull();
    expect(facilitator.balanceOf(payer.address)).toBe(990_000n);
    expect(facilitator.settlements).toHaveLength(1);
  });

  it('answers a CORS preflight that asks for the payment headers', async () => {
    const res = await fetch(`${app.url}${X402_PATH}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://elsewhere.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'payment-signature, access-control-expose-headers, content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('payment-signature');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
      'access-control-expose-headers',
    );
  });

  it('charges nothing when the facilitator fails to settle', async () => {
    facilitator.failNextSettle();
    const client = new x402Client().register('eip155:84532', new ExactEvmScheme(payer));
    const res = await wrapFetchWithPayment(fetch, client)(`${app.url}${X402_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'one more' }),
    });
    expect(res.status).toBe(402);
    expect(facilitator.balanceOf(payer.address)).toBe(990_000n);
  });
});

describe('the demo x402 v1 route (hand-written from the v1 spec)', () => {
  const post = (headers: Record<string, string> = {}) =>
    fetch(`${app.url}${X402_V1_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ prompt: 'v1, please' }),
    });

  it('asks in a 402 JSON body Paybound reads', async () => {
    const res = await post();
    expect(res.status).toBe(402);
    const c = readX402Body(await res.text());
    expect(c.version).toBe(1);
    expect(c.resource.url).toBe(`${app.url}${X402_V1_PATH}`);
    expect(c.accepts[0]).toMatchObject({ scheme: 'exact', amount: 10000n, payTo: PAY_TO });
    expect(c.accepts[0]?.asset.v1Network).toBe('base-sepolia');
  });

  it("is paid by @x402/fetch's v1 client, once", async () => {
    const before = facilitator.balanceOf(payer.address);
    const client = new x402Client().registerV1('base-sepolia', new ExactEvmSchemeV1(payer));
    const res = await wrapFetchWithPayment(fetch, client)(`${app.url}${X402_V1_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'v1, please' }),
    });
    expect(res.status).toBe(200);
    expect(readSettlement(res.headers.get('x-payment-response') ?? '')).toMatchObject({
      success: true,
      network: 'base-sepolia',
      payer: payer.address,
    });
    expect(before - facilitator.balanceOf(payer.address)).toBe(10_000n);
  });

  it('takes a payment Paybound builds, and refuses it replayed', async () => {
    const challenge = readX402Body(await (await post()).text());
    const req = challenge.accepts[0]!;
    const auth = buildAuthorization(req, payer.address, {
      nowS: Math.floor(Date.now() / 1000),
      nonce: crypto.getRandomValues(new Uint8Array(32)),
    });
    const signature = await payer.signTypedData({
      domain: { name: 'USDC', version: '2', chainId: 84532, verifyingContract: req.asset.address },
      types: {
        ...TRANSFER_WITH_AUTHORIZATION,
      },
      primaryType: 'TransferWithAuthorization',
      message: {
        ...auth,
        value: BigInt(auth.value),
        validAfter: BigInt(auth.validAfter),
        validBefore: BigInt(auth.validBefore),
      },
    });
    const credential = paymentCredential(challenge, req, auth, signature);
    expect(credential.header).toBe('X-PAYMENT');
    const paid = await post({ [credential.header]: credential.value });
    expect(paid.status).toBe(200);
    const settled = facilitator.settlements.length;
    const replay = await post({ [credential.header]: credential.value });
    expect(replay.status).toBe(402);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_exact_evm_nonce_already_used');
    expect(facilitator.settlements).toHaveLength(settled);
  });
});
