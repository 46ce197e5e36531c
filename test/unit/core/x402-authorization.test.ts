import { decodePaymentSignatureHeader, encodePaymentResponseHeader } from '@x402/core/http';
import { type Hex, hashTypedData } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import { X402_PATH, X402_UPTO_PATH, X402_UPTO_PER_WORD } from '../../../server/merchant/demo/x402';
import { type FacilitatorStandin, startX402Facilitator } from '../../../server/standins/x402-facilitator';
import { readX402Body, readX402Header, type X402Requirement } from '../../../src/core/challenge/x402';
import { checkRetryCredential } from '../../../src/core/payments/retry-credential';
import {
  authorizationDigest,
  authorizationTypedData,
  buildAuthorization,
  checkAuthorizationSignature,
  paymentCredential,
  readSettlement,
  recoverSigner,
  type TransferAuthorization,
  X402AuthorizationError,
} from '../../../src/core/payments/x402-authorization';
import { buildUptoPermit, checkUptoSignature } from '../../../src/core/payments/x402-permit2';
import { signPermit } from '../../fixtures/x402';

const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';
const SEPOLIA_USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const NOW_S = 1_800_000_000;
const NONCE = new Uint8Array(32).fill(7);

const requirement = (over: Record<string, unknown> = {}): X402Requirement => {
  const header = Buffer.from(
    JSON.stringify({
      x402Version: 2,
      resource: { url: 'https://api.example.com/premium-data' },
      accepts: [
        {
          scheme: 'exact',
          network: 'eip155:84532',
          amount: '10000',
          asset: SEPOLIA_USDC,
          payTo: PAY_TO,
          maxTimeoutSeconds: 60,
          extra: { name: 'USDC', version: '2' },
          ...over,
        },
      ],
    }),
  ).toString('base64');
  const r = readX402Header(header).accepts[0];
  if (!r) throw new Error('no requirement');
  return r;
};

let account: PrivateKeyAccount;
beforeAll(() => {
  account = privateKeyToAccount(generatePrivateKey());
});

/** What the viem account signs for this document: a wallet that signs what it was asked. */
function sign(req: X402Requirement, auth: TransferAuthorization, by = account): Promise<Hex> {
  const doc = authorizationTypedData(req, auth);
  return by.signTypedData({
    domain: doc.domain,
    types: { TransferWithAuthorization: doc.types.TransferWithAuthorization },
    primaryType: doc.primaryType,
    message: {
      ...auth,
      value: BigInt(auth.value),
      validAfter: BigInt(auth.validAfter),
      validBefore: BigInt(auth.validBefore),
    },
  });
}

const reason = (run: () => unknown) => {
  try {
    run();
  } catch (e) {
    if (e instanceof X402AuthorizationError) return e.reason;
    throw e;
  }
  return 'accepted';
};

describe('building an x402 exact authorization', () => {
  it('pays exactly the amount to the payee, in a short window', () => {
    const auth = buildAuthorization(requirement(), account.address.toLowerCase(), {
      nowS: NOW_S,
      nonce: NONCE,
    });
    expect(auth).toEqual({
      from: account.address,
      to: PAY_TO,
      value: '10000',
      validAfter: String(NOW_S - 600),
      validBefore: String(NOW_S + 60),
      nonce: `0x${'07'.repeat(32)}`,
    });
    const long = buildAuthorization(requirement({ maxTimeoutSeconds: 3600 }), account.address, {
      nowS: NOW_S,
      nonce: NONCE,
    });
    expect(long.validBefore).toBe(String(NOW_S + 300));
  });

  it('refuses upto (Permit2, not EIP-3009), a bad payer and a short nonce', () => {
    const upto = requirement({
      scheme: 'upto',
      extra: { name: 'USDC', version: '2', facilitatorAddress: '0x1111111111111111111111111111111111111111' },
    });
    expect(reason(() => buildAuthorization(upto, account.address, { nowS: NOW_S, nonce: NONCE }))).toBe(
      'not-exact',
    );
    expect(reason(() => buildAuthorization(requirement(), 'me', { nowS: NOW_S, nonce: NONCE }))).toBe(
      'bad-payer',
    );
    const short = new Uint8Array(31);
    expect(
      reason(() => buildAuthorization(requirement(), account.address, { nowS: NOW_S, nonce: short })),
    ).toBe('bad-nonce');
  });

  it('computes the EIP-712 digest viem computes, on testnet and mainnet', () => {
    for (const req of [
      requirement(),
      requirement({
        network: 'eip155:8453',
        asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
        extra: { name: 'USD Coin', version: '2' },
      }),
    ]) {
      const auth = buildAuthorization(req, account.address, { nowS: NOW_S, nonce: NONCE });
      const doc = authorizationTypedData(req, auth);
      const viem = hashTypedData({
        domain: doc.domain,
        types: { TransferWithAuthorization: doc.types.TransferWithAuthorization },
        primaryType: doc.primaryType,
        message: {
          ...auth,
          value: BigInt(auth.value),
          validAfter: BigInt(auth.validAfter),
          validBefore: BigInt(auth.validBefore),
        },
      });
      expect(`0x${Buffer.from(authorizationDigest(req, auth)).toString('hex')}`).toBe(viem);
    }
  });
});

describe('checking the wallet’s signature', () => {
  it('accepts the payer’s signature over exactly the authorization, with v as 27/28 or 0/1', async () => {
    const req = requirement();
    const auth = buildAuthorization(req, account.address, { nowS: NOW_S, nonce: NONCE });
    const signature = await sign(req, auth);
    expect(reason(() => checkAuthorizationSignature(req, auth, signature))).toBe('accepted');
    const v = Number.parseInt(signature.slice(-2), 16);
    const zeroOne = `${signature.slice(0, -2)}${(v - 27).toString(16).padStart(2, '0')}`;
    expect(recoverSigner(authorizationDigest(req, auth), zeroOne)).toBe(account.address);
  });

  it.each([
    ['another payee', { to: '0x000000000000000000000000000000000000dEaD' as const }],
    ['another value', { value: '10001' }],
    ['another window', { validBefore: String(NOW_S + 3600) }],
    ['another nonce', { nonce: `0x${'08'.repeat(32)}` as const }],
  ])('refuses a wallet that signed %s', async (_, change) => {
    const req = requirement();
    const auth = buildAuthorization(req, account.address, { nowS: NOW_S, nonce: NONCE });
    const signature = await sign(req, { ...auth, ...change });
    expect(reason(() => checkAuthorizationSignature(req, auth, signature))).toBe('wrong-signer');
  });

  it('refuses another key, another chain, malformed and high-S signatures', async () => {
    const req = requirement();
    const auth = buildAuthorization(req, account.address, { nowS: NOW_S, nonce: NONCE });
    const other = privateKeyToAccount(generatePrivateKey());
    expect(reason(() => checkAuthorizationSignature(req, auth, 'nope'))).toBe('bad-signature');
    const byOther = await sign(req, auth, other);
    expect(reason(() => checkAuthorizationSignature(req, auth, byOther))).toBe('wrong-signer');
    const mainnet = requirement({
      network: 'eip155:8453',
      asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
      extra: { name: 'USD Coin', version: '2' },
    });
    const onMainnet = await sign(mainnet, auth);
    expect(reason(() => checkAuthorizationSignature(req, auth, onMainnet))).toBe('wrong-signer');
    const good = await sign(req, auth);
    // s → n − s, v flipped: the same key, a malleable signature the token contract refuses.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${good.slice(66, 130)}`);
    const v = Number.parseInt(good.slice(130), 16);
    const high = `${good.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}`;
    expect(reason(() => checkAuthorizationSignature(req, auth, high))).toBe('bad-signature');
    expect(reason(() => checkAuthorizationSignature(req, auth, `${good.slice(0, 130)}1d`))).toBe(
      'bad-signature',
    );
    expect(reason(() => checkAuthorizationSignature(req, auth, `${good}00`))).toBe('bad-signature');
  });
});

describe('the retry credential', () => {
  it('is a v2 PAYMENT-SIGNATURE that @x402/core decodes, echoing the requirement as sent', async () => {
    const req = requirement();
    const auth = buildAuthorization(req, account.address, { nowS: NOW_S, nonce: NONCE });
    const signature = await sign(req, auth);
    const credential = paymentCredential(
      { version: 2, resource: { url: 'https://api.example.com/premium-data' } },
      req,
      auth,
      signature,
    );
    expect(credential.header).toBe('PAYMENT-SIGNATURE');
    expect(checkRetryCredential(credential)).toEqual(credential);
    expect(decodePaymentSignatureHeader(credential.value)).toEqual({
      x402Version: 2,
      resource: { url: 'https://api.example.com/premium-data' },
      accepted: req.raw,
      payload: { signature, authorization: auth },
    });
  });

  it('is a v1 X-PAYMENT naming the network as v1 does', async () => {
    const c = readX402Body(
      JSON.stringify({
        x402Version: 1,
        accepts: [
          {
            scheme: 'exact',
            network: 'base-sepolia',
            maxAmountRequired: '10000',
            asset: SEPOLIA_USDC,
            payTo: PAY_TO,
            resource: 'https://api.example.com/premium-data',
            description: '',
            mimeType: 'application/json',
            maxTimeoutSeconds: 60,
          },
        ],
      }),
    );
    const req = c.accepts[0]!;
    const auth = buildAuthorization(req, account.address, { nowS: NOW_S, nonce: NONCE });
    const credential = paymentCredential(c, req, auth, await sign(req, auth));
    expect(credential.header).toBe('X-PAYMENT');
    expect(JSON.parse(Buffer.from(credential.value, 'base64').toString())).toMatchObject({
      x402Version: 1,
      scheme: 'exact',
      network: 'base-sepolia',
      payload: { authorization: auth },
    });
  });
});

describe('the settlement answer', () => {
  it("reads the spec's example and what @x402/core encodes", () => {
    const spec =
      'eyJzdWNjZXNzIjp0cnVlLCJ0cmFuc2FjdGlvbiI6IjB4MTIzNDU2Nzg5MGFiY2RlZjEyMzQ1Njc4OTBhYmNkZWYxMjM0NTY3ODkwYWJjZGVmMTIzNDU2Nzg5MGFiY2RlZiIsIm5ldHdvcmsiOiJlaXAxNTU6ODQ1MzIiLCJwYXllciI6IjB4ODU3YjA2NTE5RTkxZTNBNTQ1Mzg3OTFiRGJiMEUyMjM3M2UzNmI2NiJ9';
    expect(readSettlement(spec)).toEqual({
      success: true,
      transaction: '0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef',
      network: 'eip155:84532',
      payer: '0x857b06519E91e3A54538791bDbb0E22373e36b66',
    });
    const upto = encodePaymentResponseHeader({
      success: true,
      transaction: `0x${'ab'.repeat(32)}`,
      network: 'eip155:84532',
      amount: '1234',
    });
    expect(readSettlement(upto).amount).toBe(1234n);
  });

  const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
  it.each([
    ['no success flag', encode({ transaction: `0x${'ab'.repeat(32)}`, network: 'eip155:84532' })],
    ['a short transaction hash', encode({ success: true, transaction: '0xabcd', network: 'eip155:84532' })],
    ['no network', encode({ success: true, transaction: `0x${'ab'.repeat(32)}` })],
    [
      'a payer that is not an address',
      encode({ success: false, transaction: '', network: 'x', payer: 'me' }),
    ],
    [
      'a fractional amount',
      encode({ success: true, transaction: `0x${'ab'.repeat(32)}`, network: 'x', amount: '1.5' }),
    ],
    ['not base64', '%%%'],
    ['a JSON list', encode([])],
  ])('refuses an answer with %s', (_, value) => {
    expect(reason(() => readSettlement(value))).toBe('bad-response');
  });
});

describe('a payment built here, against the real middleware', () => {
  let facilitator: FacilitatorStandin;
  let app: DemoApp;
  beforeAll(async () => {
    facilitator = await startX402Facilitator();
    app = await startDemoApp({
      port: 0,
      lnbitsUrl: 'http://127.0.0.1:9',
      invoiceKey: 'unused',
      x402: { facilitatorUrl: facilitator.url, payTo: '0x5ca1ab1e00000000000000000000000000000402' },
    });
    facilitator.fund(account.address, 50_000n);
  });
  afterAll(async () => {
    await app?.close();
    await facilitator?.close();
  });

  it('is taken: 402 → signed here → 200 with a settlement Paybound reads', async () => {
    const post = (headers: Record<string, string> = {}) =>
      fetch(`${app.url}${X402_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ prompt: 'built by Paybound' }),
      });
    const challenge = readX402Header((await post()).headers.get('payment-required') ?? '');
    const req = challenge.accepts[0]!;
    const auth = buildAuthorization(req, account.address, {
      nowS: Math.floor(Date.now() / 1000),
      nonce: crypto.getRandomValues(new Uint8Array(32)),
    });
    const signature = await sign(req, auth);
    checkAuthorizationSignature(req, auth, signature);
    const credential = paymentCredential(challenge, req, auth, signature);
    const paid = await post({ [credential.header]: credential.value });
    expect(paid.status).toBe(200);
    const settlement = readSettlement(paid.headers.get('payment-response') ?? '');
    expect(settlement).toMatchObject({ success: true, network: 'eip155:84532', payer: account.address });
    expect(facilitator.balanceOf(account.address)).toBe(40_000n);
  });

  it('upto is taken too: a permit for the maximum, and the app settles what the work cost', async () => {
    facilitator.fund(account.address, 100_000n);
    const before = facilitator.balanceOf(account.address);
    const prompt = 'three words here';
    const post = (headers: Record<string, string> = {}) =>
      fetch(`${app.url}${X402_UPTO_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ prompt }),
      });
    const challenge = readX402Header((await post()).headers.get('payment-required') ?? '');
    const req = challenge.accepts[0]!;
    expect(req).toMatchObject({ scheme: 'upto', amount: 50_000n, facilitator: facilitator.signer });
    const permit = buildUptoPermit(req, account.address, {
      nowS: Math.floor(Date.now() / 1000),
      nonce: crypto.getRandomValues(new Uint8Array(32)),
    });
    const signature = await signPermit(account, req, permit);
    checkUptoSignature(req, permit, signature);
    const credential = paymentCredential(challenge, req, { permit2Authorization: permit }, signature);
    const paid = await post({ [credential.header]: credential.value });
    expect(paid.status).toBe(200);
    const settlement = readSettlement(paid.headers.get('payment-response') ?? '');
    const cost = 3n * X402_UPTO_PER_WORD;
    expect(settlement).toMatchObject({ success: true, amount: cost });
    expect(before - facilitator.balanceOf(account.address)).toBe(cost);
  });
});
