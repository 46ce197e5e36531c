/**
 * x402 `upto`: the Permit2 permit Paybound builds, its EIP-712 digest (checked against viem's, and
 * against @x402/evm's own types), and the signature check.
 */
import { uptoPermit2WitnessTypes, x402UptoPermit2ProxyAddress } from '@x402/evm';
import { hashTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { readX402Header, type X402Requirement } from '../../../src/core/challenge/x402';
import {
  buildUptoPermit,
  checkUptoSignature,
  PERMIT2_ADDRESS,
  uptoDigest,
  uptoTypedData,
  X402_UPTO_PROXY,
} from '../../../src/core/payments/x402-permit2';
import { permitMessage, signPermit } from '../../fixtures/x402';

const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';
const FACILITATOR = '0x1111111111111111111111111111111111111111' as const;
const SEPOLIA_USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const NOW_S = 1_800_000_000;
const NONCE = new Uint8Array(32).fill(9);

const upto = (
  extra: Record<string, unknown> = { name: 'USDC', version: '2', facilitatorAddress: FACILITATOR },
) =>
  readX402Header(
    Buffer.from(
      JSON.stringify({
        x402Version: 2,
        resource: { url: 'https://api.example.com/llm' },
        accepts: [
          {
            scheme: 'upto',
            network: 'eip155:84532',
            amount: '50000',
            asset: SEPOLIA_USDC,
            payTo: PAY_TO,
            maxTimeoutSeconds: 60,
            extra,
          },
        ],
      }),
    ).toString('base64'),
  ).accepts[0] as X402Requirement;

describe('x402 upto (Permit2)', () => {
  it("names x402's proxy and Permit2 as @x402/evm does", () => {
    expect(X402_UPTO_PROXY).toBe(x402UptoPermit2ProxyAddress);
    expect(
      uptoTypedData(upto(), buildUptoPermit(upto(), PAY_TO, { nowS: NOW_S, nonce: NONCE })).types,
    ).toMatchObject(uptoPermit2WitnessTypes);
  });

  it('permits at most the amount, to the payee, through the named facilitator, for at most five minutes', () => {
    const req = upto();
    const permit = buildUptoPermit(req, `0x${'ab'.repeat(20)}`, { nowS: NOW_S, nonce: NONCE });
    expect(permit).toMatchObject({
      permitted: { token: SEPOLIA_USDC, amount: '50000' },
      spender: X402_UPTO_PROXY,
      deadline: String(NOW_S + 60),
      witness: { to: PAY_TO, facilitator: FACILITATOR, validAfter: '0' },
    });
    expect(BigInt(permit.nonce)).toBe(BigInt(`0x${'09'.repeat(32)}`));
  });

  it('computes the digest viem computes for the same document', () => {
    const req = upto();
    const permit = buildUptoPermit(req, PAY_TO, { nowS: NOW_S, nonce: NONCE });
    const expected = hashTypedData({
      domain: { name: 'Permit2', chainId: 84532, verifyingContract: PERMIT2_ADDRESS },
      types: uptoPermit2WitnessTypes,
      primaryType: 'PermitWitnessTransferFrom',
      message: permitMessage(permit),
    });
    expect(`0x${Buffer.from(uptoDigest(req, permit)).toString('hex')}`).toBe(expected);
  });

  it('takes the payer’s signature over exactly this permit, and no other', async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const req = upto();
    const permit = buildUptoPermit(req, account.address, { nowS: NOW_S, nonce: NONCE });
    const signature = await signPermit(account, req, permit);
    expect(() => checkUptoSignature(req, permit, signature)).not.toThrow();
    const more = { ...permit, permitted: { ...permit.permitted, amount: '50001' } };
    expect(() => checkUptoSignature(req, more, signature)).toThrow(/not the payer/);
    const elsewhere = { ...permit, witness: { ...permit.witness, to: FACILITATOR } };
    expect(() => checkUptoSignature(req, elsewhere, signature)).toThrow(/not the payer/);
  });

  it('refuses an upto requirement that names no facilitator', () => {
    expect(() => upto({ name: 'USDC', version: '2' })).toThrow(/facilitator/);
    expect(() => upto({ name: 'USDC', version: '2', facilitatorAddress: `0x${'0'.repeat(40)}` })).toThrow(
      /facilitator/,
    );
  });
});
