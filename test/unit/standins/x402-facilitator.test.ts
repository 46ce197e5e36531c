// The x402 facilitator stand-in, over its HTTP API, with payments signed by a viem local account.
import { HTTPFacilitatorClient } from '@x402/core/http';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import { type Hex, toHex } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type FacilitatorStandin,
  startX402Facilitator,
  TRANSFER_WITH_AUTHORIZATION,
} from '../../../server/standins/x402-facilitator';
import { readX402Header } from '../../../src/core/challenge/x402';
import { buildUptoPermit } from '../../../src/core/payments/x402-permit2';
import { signPermit } from '../../fixtures/x402';

const USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';
const NOW_MS = 1_800_000_000_000;
const NOW_S = NOW_MS / 1000;

let clock = NOW_MS;
let facilitator: FacilitatorStandin;
let payer: PrivateKeyAccount;
let nonceCounter = 0;

const requirements = (over: Partial<PaymentRequirements> = {}): PaymentRequirements => ({
  scheme: 'exact',
  network: 'eip155:84532',
  amount: '10000',
  asset: USDC,
  payTo: PAY_TO,
  maxTimeoutSeconds: 60,
  extra: { name: 'USDC', version: '2' },
  ...over,
});

interface Authorization {
  from: `0x${string}`;
  to: `0x${string}`;
  value: string;
  validAfter: string;
  validBefore: string;
  nonce: Hex;
}

function authorization(over: Partial<Authorization> = {}): Authorization {
  nonceCounter += 1;
  return {
    from: payer.address,
    to: PAY_TO,
    value: '10000',
    validAfter: String(NOW_S - 10),
    validBefore: String(NOW_S + 60),
    nonce: toHex(nonceCounter, { size: 32 }),
    ...over,
  };
}

async function sign(
  auth: Authorization,
  by: PrivateKeyAccount = payer,
  domain: { name?: string; chainId?: number } = {},
): Promise<Hex> {
  return by.signTypedData({
    domain: {
      name: domain.name ?? 'USDC',
      version: '2',
      chainId: domain.chainId ?? 84532,
      verifyingContract: USDC,
    },
    types: {
      ...TRANSFER_WITH_AUTHORIZATION,
    },
    primaryType: 'TransferWithAuthorization',
    message: {
      from: auth.from,
      to: auth.to,
      value: BigInt(auth.value),
      validAfter: BigInt(auth.validAfter),
      validBefore: BigInt(auth.validBefore),
      nonce: auth.nonce,
    },
  });
}

async function body(auth: Authorization, signature?: Hex, req = requirements()) {
  const paymentPayload: PaymentPayload = {
    x402Version: 2,
    accepted: req,
    payload: { signature: signature ?? (await sign(auth)), authorization: { ...auth } },
  };
  return { x402Version: 2, paymentPayload, paymentRequirements: req };
}

async function post(path: string, value: unknown) {
  const res = await fetch(`${facilitator.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(value),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  facilitator = await startX402Facilitator({ now: () => clock });
});
afterAll(() => facilitator.close());
beforeEach(() => {
  clock = NOW_MS;
  payer = privateKeyToAccount(generatePrivateKey());
  facilitator.fund(payer.address, 1_000_000n);
});

describe('x402 facilitator stand-in', () => {
  it('says what it supports, in the shape @x402/core reads', async () => {
    const client = new HTTPFacilitatorClient({ url: facilitator.url });
    const supported = await client.getSupported();
    expect(supported.kinds).toEqual([
      { x402Version: 2, scheme: 'exact', network: 'eip155:84532' },
      // upto names who may settle its permits: this facilitator.
      {
        x402Version: 2,
        scheme: 'upto',
        network: 'eip155:84532',
        extra: { facilitatorAddress: facilitator.signer },
      },
      { x402Version: 1, scheme: 'exact', network: 'base-sepolia' },
    ]);
    expect(supported.signers['eip155:*']).toEqual([facilitator.signer]);
  });

  it('verifies and settles a signed authorization, moving the balance once', async () => {
    const b = await body(authorization());
    expect((await post('/verify', b)).json).toEqual({ isValid: true, payer: payer.address });
    const settled = await post('/settle', b);
    expect(settled.status).toBe(200);
    expect(settled.json).toMatchObject({
      success: true,
      network: 'eip155:84532',
      payer: payer.address,
      amount: '10000',
    });
    expect(settled.json.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect(facilitator.balanceOf(payer.address)).toBe(990_000n);
    expect(facilitator.balanceOf(PAY_TO)).toBeGreaterThanOrEqual(10_000n);
    expect(facilitator.settlements.at(-1)).toMatchObject({
      transaction: settled.json.transaction,
      value: 10_000n,
    });
  });

  it('refuses a reused nonce, and leaves the balance alone', async () => {
    const b = await body(authorization());
    expect((await post('/settle', b)).json.success).toBe(true);
    const again = await post('/settle', b);
    expect(again.json).toMatchObject({
      success: false,
      errorReason: 'invalid_exact_evm_nonce_already_used',
      transaction: '',
    });
    expect((await post('/verify', b)).json.invalidReason).toBe('invalid_exact_evm_nonce_already_used');
    expect(facilitator.balanceOf(payer.address)).toBe(990_000n);
  });

  it('talks to the HTTP client of @x402/core', async () => {
    const client = new HTTPFacilitatorClient({ url: facilitator.url });
    const b = await body(authorization());
    expect(await client.verify(b.paymentPayload, b.paymentRequirements)).toMatchObject({ isValid: true });
    const s = await client.settle(b.paymentPayload, b.paymentRequirements);
    expect(s).toMatchObject({ success: true, network: 'eip155:84532' });
  });

  it.each([
    [
      'another signer',
      async () => {
        // The same authorization, signed by a key that is not `from`.
        const a = authorization();
        return body(a, await sign(a, privateKeyToAccount(generatePrivateKey())));
      },
    ],
    [
      'another chain in the domain',
      async () => {
        const a = authorization();
        return body(a, await sign(a, payer, { chainId: 8453 }));
      },
    ],
    [
      'a value other than the one signed',
      async () => {
        const a = authorization();
        return body({ ...a, value: '20000' }, await sign(a));
      },
    ],
    ['a signature that is not hex', async () => body(authorization(), '0xnothex' as Hex)],
  ] as const)('refuses %s as a bad signature', async (_, make) => {
    const b = await make();
    const answer = (await post('/verify', b)).json;
    expect(answer.isValid).toBe(false);
    expect(String(answer.invalidReason)).toMatch(/^invalid_exact_evm_(signature|failed_to_parse_signature)$/);
    expect((await post('/settle', b)).json.success).toBe(false);
    expect(facilitator.balanceOf(payer.address)).toBe(1_000_000n);
  });

  it.each([
    [
      'another payee',
      { to: '0x1111111111111111111111111111111111111111' },
      'invalid_exact_evm_recipient_mismatch',
    ],
    [
      'more than asked (v2 pays exactly)',
      { value: '10001' },
      'invalid_exact_evm_payload_authorization_value_mismatch',
    ],
    ['less than asked', { value: '9999' }, 'invalid_exact_evm_payload_authorization_value_mismatch'],
    [
      'an expired window',
      { validBefore: String(NOW_S - 1) },
      'invalid_exact_evm_payload_authorization_valid_before',
    ],
    [
      'a window closing within the margin',
      { validBefore: String(NOW_S + 5) },
      'invalid_exact_evm_payload_authorization_valid_before',
    ],
    [
      'a window not yet open',
      { validAfter: String(NOW_S + 30) },
      'invalid_exact_evm_payload_authorization_valid_after',
    ],
    ['more than the balance', { value: '2000000' }, 'invalid_exact_evm_insufficient_balance'],
  ] as const)('refuses a well-signed authorization with %s', async (_, change, reason) => {
    const a = authorization(change);
    const req =
      reason === 'invalid_exact_evm_insufficient_balance'
        ? requirements({ amount: '2000000' })
        : requirements();
    const b = await body(a, undefined, req);
    expect((await post('/verify', b)).json).toEqual({
      isValid: false,
      invalidReason: reason,
      payer: payer.address,
    });
    expect((await post('/settle', b)).json).toMatchObject({ success: false, errorReason: reason });
    expect(facilitator.balanceOf(payer.address)).toBe(1_000_000n);
  });

  it('refuses another token, another scheme, a domain the token does not have, and malformed bodies', async () => {
    const a = authorization();
    const other = await body(
      a,
      undefined,
      requirements({ asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' }),
    );
    expect((await post('/verify', other)).json.invalidReason).toBe('asset_not_deployed_contract');
    const upto = await body(a, undefined, requirements({ scheme: 'upto' }));
    expect((await post('/verify', upto)).json.invalidReason).toBe('invalid_exact_evm_scheme');
    const mainnet = await body(a, undefined, requirements({ network: 'eip155:8453' }));
    expect((await post('/verify', mainnet)).json.invalidReason).toBe('invalid_network');
    const named = requirements({ extra: { name: 'USD Coin', version: '2' } });
    const wrongName = await body(a, await sign(a, payer, { name: 'USD Coin' }), named);
    expect((await post('/verify', wrongName)).json.invalidReason).toBe(
      'invalid_exact_evm_token_name_mismatch',
    );
    const bad = await post('/verify', { x402Version: 2, paymentPayload: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.json.isValid).toBe(false);
  });

  it('refuses an authorization that was valid once, when the clock has passed it', async () => {
    const b = await body(authorization());
    clock = NOW_MS + 55_000;
    expect((await post('/settle', b)).json.errorReason).toBe(
      'invalid_exact_evm_payload_authorization_valid_before',
    );
  });

  it('fails the next settle on request, without spending the nonce', async () => {
    const b = await body(authorization());
    expect((await post('/_standin/fail-settle', {})).json.ok).toBe(true);
    expect((await post('/settle', b)).json).toMatchObject({
      success: false,
      errorReason: 'invalid_exact_evm_transaction_failed',
    });
    expect(facilitator.balanceOf(payer.address)).toBe(1_000_000n);
    expect((await post('/settle', b)).json.success).toBe(true);
  });

  it('takes v1 payments of at least the amount asked', async () => {
    const req = {
      scheme: 'exact',
      network: 'base-sepolia',
      maxAmountRequired: '10000',
      asset: USDC,
      payTo: PAY_TO,
      resource: 'http://127.0.0.1/x',
      description: '',
      mimeType: 'application/json',
      maxTimeoutSeconds: 60,
      extra: { name: 'USDC', version: '2' },
    };
    const a = authorization({ value: '12000' });
    const payload = {
      x402Version: 1,
      scheme: 'exact',
      network: 'base-sepolia',
      payload: { signature: await sign(a), authorization: a },
    };
    const settled = await post('/settle', {
      x402Version: 1,
      paymentPayload: payload,
      paymentRequirements: req,
    });
    expect(settled.json).toMatchObject({ success: true, network: 'base-sepolia', amount: '12000' });
    const short = authorization({ value: '9999' });
    const shortPayload = { ...payload, payload: { signature: await sign(short), authorization: short } };
    expect(
      (await post('/verify', { x402Version: 1, paymentPayload: shortPayload, paymentRequirements: req })).json
        .invalidReason,
    ).toBe('invalid_exact_evm_payload_authorization_value_mismatch');
  });

  it('funds and reports over HTTP', async () => {
    const fresh = privateKeyToAccount(generatePrivateKey()).address;
    expect((await post('/_standin/fund', { address: fresh, amount: '5000000' })).json.balance).toBe(
      '5000000',
    );
    const state = (await (await fetch(`${facilitator.url}/_standin/state`)).json()) as {
      balances: Record<string, Record<string, string>>;
    };
    expect(state.balances['eip155:84532']?.[fresh.toLowerCase()]).toBe('5000000');
    expect((await post('/_standin/fund', { address: 'nobody', amount: '1' })).status).toBe(400);
  });

  describe('upto (Permit2)', () => {
    const uptoReq = (
      amount = '50000',
      facilitatorAddress: string = facilitator.signer,
    ): PaymentRequirements =>
      requirements({
        scheme: 'upto',
        amount,
        extra: { name: 'USDC', version: '2', assetTransferMethod: 'permit2', facilitatorAddress },
      });
    async function permitBody(max: PaymentRequirements, settleAmount?: string, facilitatorAddress?: string) {
      const req = readX402Header(
        Buffer.from(
          JSON.stringify({ x402Version: 2, resource: { url: 'https://app.example/x' }, accepts: [max] }),
        ).toString('base64'),
      ).accepts[0];
      if (!req) throw new Error('not read');
      const permit = buildUptoPermit(
        facilitatorAddress ? { ...req, facilitator: facilitatorAddress as `0x${string}` } : req,
        payer.address,
        { nowS: NOW_S, nonce: crypto.getRandomValues(new Uint8Array(32)) },
      );
      const signature = await signPermit(payer, req, permit);
      const paymentPayload = {
        x402Version: 2,
        accepted: max,
        payload: { signature, permit2Authorization: permit },
      };
      return {
        verify: { x402Version: 2, paymentPayload, paymentRequirements: max },
        settle: {
          x402Version: 2,
          paymentPayload,
          paymentRequirements: { ...max, amount: settleAmount ?? max.amount },
        },
      };
    }

    it('verifies a permit for the maximum and settles what the server says, at most it', async () => {
      const b = await permitBody(uptoReq());
      expect((await post('/verify', b.verify)).json).toEqual({ isValid: true, payer: payer.address });
      const settled = await post('/settle', {
        ...b.settle,
        paymentRequirements: { ...b.settle.paymentRequirements, amount: '20000' },
      });
      expect(settled.json).toMatchObject({ success: true, amount: '20000' });
      expect(facilitator.balanceOf(payer.address)).toBe(980_000n);
      // The permit's nonce is spent: settling it again is refused.
      expect((await post('/settle', b.settle)).json).toMatchObject({
        success: false,
        errorReason: 'permit2_invalid_nonce',
      });
    });

    it('refuses to settle above the maximum, a permit naming another facilitator, and a verify for less', async () => {
      const over = await permitBody(uptoReq(), '50001');
      expect((await post('/settle', over.settle)).json).toMatchObject({
        success: false,
        errorReason: 'invalid_upto_evm_payload_settlement_exceeds_amount',
      });
      const other = await permitBody(uptoReq(), undefined, '0x1111111111111111111111111111111111111111');
      expect((await post('/verify', other.verify)).json).toMatchObject({
        isValid: false,
        invalidReason: 'upto_facilitator_mismatch',
      });
      const less = await permitBody(uptoReq());
      expect(
        (await post('/verify', { ...less.verify, paymentRequirements: uptoReq('40000') })).json,
      ).toMatchObject({ isValid: false });
      expect(facilitator.balanceOf(payer.address)).toBe(1_000_000n);
    });
  });
});
