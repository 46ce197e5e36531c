import { encodePaymentRequiredHeader } from '@x402/core/http';
import type { PaymentRequired } from '@x402/core/types';
import { describe, expect, it } from 'vitest';
import {
  checksumAddress,
  isAddress,
  readX402,
  readX402Body,
  readX402Header,
  X402ChallengeError,
  type X402Refusal,
} from '../../../src/core/challenge/x402';
import { X402_ASSETS, x402AssetAt } from '../../../src/core/challenge/x402-assets';
import { formatToken } from '../../../src/core/money/rates';
import { baseUnitsToMinor, usdcToUsdCents, usdMinorTo } from '../../../src/core/money/tokens';

// The x402 v2 HTTP transport's own example (specs/transports-v2/http.md).
const SPEC_V2_HEADER =
  'eyJ4NDAyVmVyc2lvbiI6MiwiZXJyb3IiOiJQQVlNRU5ULVNJR05BVFVSRSBoZWFkZXIgaXMgcmVxdWlyZWQiLCJyZXNvdXJjZSI6eyJ1cmwiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbS9wcmVtaXVtLWRhdGEiLCJkZXNjcmlwdGlvbiI6IkFjY2VzcyB0byBwcmVtaXVtIG1hcmtldCBkYXRhIiwibWltZVR5cGUiOiJhcHBsaWNhdGlvbi9qc29uIn0sImFjY2VwdHMiOlt7InNjaGVtZSI6ImV4YWN0IiwibmV0d29yayI6ImVpcDE1NTo4NDUzMiIsImFtb3VudCI6IjEwMDAwIiwiYXNzZXQiOiIweDAzNkNiRDUzODQyYzU0MjY2MzRlNzkyOTU0MWVDMjMxOGYzZENGN2UiLCJwYXlUbyI6IjB4MjA5NjkzQmM2YWZjMEM1MzI4YkEzNkZhRjAzQzUxNEVGMzEyMjg3QyIsIm1heFRpbWVvdXRTZWNvbmRzIjo2MCwiZXh0cmEiOnsibmFtZSI6IlVTREMiLCJ2ZXJzaW9uIjoiMiJ9fV19';

const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';
const SEPOLIA_USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';

const v2Requirement = () => ({
  scheme: 'exact',
  network: 'eip155:84532' as const,
  amount: '10000',
  asset: SEPOLIA_USDC,
  payTo: PAY_TO,
  maxTimeoutSeconds: 60,
  extra: { name: 'USDC', version: '2' },
});
const v2 = (requirements: unknown[] = [v2Requirement()], over: Record<string, unknown> = {}) => ({
  x402Version: 2,
  resource: { url: 'https://api.example.com/premium-data', description: 'Access to premium market data' },
  accepts: requirements,
  ...over,
});
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

// The x402 v1 HTTP transport's own example (specs/transports-v1/http.md).
const SPEC_V1_BODY = {
  x402Version: 1,
  error: 'Payment required to access this resource',
  accepts: [
    {
      scheme: 'exact',
      network: 'base-sepolia',
      maxAmountRequired: '10000',
      asset: SEPOLIA_USDC,
      payTo: PAY_TO,
      resource: 'https://api.example.com/premium-data',
      description: 'Access to premium market data',
      mimeType: 'application/json',
      outputSchema: null,
      maxTimeoutSeconds: 60,
      extra: { name: 'USDC', version: '2' },
    },
  ],
};

function refusal(run: () => unknown): X402Refusal {
  try {
    run();
  } catch (e) {
    if (e instanceof X402ChallengeError) return e.reason;
    throw e;
  }
  throw new Error('expected a refusal');
}

const v2Refusal = (requirement: Record<string, unknown>) =>
  refusal(() => readX402Header(encode(v2([requirement]))));

describe('x402 v2 (PAYMENT-REQUIRED header)', () => {
  it("reads the spec's example", () => {
    const c = readX402Header(SPEC_V2_HEADER);
    expect(c.version).toBe(2);
    expect(c.error).toBe('PAYMENT-SIGNATURE header is required');
    expect(c.resource).toEqual({
      url: 'https://api.example.com/premium-data',
      description: 'Access to premium market data',
      mimeType: 'application/json',
    });
    expect(c.refused).toEqual([]);
    const [r] = c.accepts;
    expect(r?.scheme).toBe('exact');
    expect(r?.amount).toBe(10000n);
    expect(r?.payTo).toBe(PAY_TO);
    expect(r?.maxTimeoutSeconds).toBe(60);
    expect(r?.asset.chainId).toBe(84532);
    expect(r?.asset.testnet).toBe(true);
    expect(r?.asset.eip712).toEqual({ name: 'USDC', version: '2' });
    // Echoed as sent in the payment's `accepted`.
    expect(r?.raw).toEqual(v2Requirement());
  });

  it("reads what @x402/core's own encoder writes", () => {
    const required: PaymentRequired = {
      x402Version: 2,
      resource: {
        url: 'http://127.0.0.1:8402/x402/generate',
        description: 'Quill: one text',
        mimeType: 'text/plain',
      },
      accepts: [
        {
          scheme: 'exact',
          network: 'eip155:8453',
          amount: '1500',
          asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
          payTo: PAY_TO,
          maxTimeoutSeconds: 300,
          extra: { name: 'USD Coin', version: '2' },
        },
        // As @x402/evm's upto server writes it: Permit2, and the facilitator that may settle it.
        {
          ...v2Requirement(),
          scheme: 'upto',
          amount: '250000',
          extra: {
            name: 'USDC',
            version: '2',
            assetTransferMethod: 'permit2',
            facilitatorAddress: '0x1111111111111111111111111111111111111111',
          },
        },
      ],
    };
    const c = readX402Header(encodePaymentRequiredHeader(required));
    expect(c.accepts.map((r) => [r.scheme, r.asset.network, r.amount, r.asset.testnet])).toEqual([
      ['exact', 'eip155:8453', 1500n, false],
      ['upto', 'eip155:84532', 250000n, true],
    ]);
    expect(c.accepts.map((r) => r.raw)).toEqual(required.accepts);
  });

  it('is found among the headers, and preferred to a v1 body', () => {
    const c = readX402({
      headers: [
        ['Content-Type', 'application/json'],
        ['payment-required', SPEC_V2_HEADER],
      ],
      body: JSON.stringify(SPEC_V1_BODY),
    });
    expect(c?.version).toBe(2);
    expect(readX402({ headers: [['content-type', 'text/html']], body: '<p>pay</p>' })).toBeUndefined();
    expect(readX402({ headers: [] })).toBeUndefined();
  });

  it('keeps the payable requirements and says why the others are not', () => {
    const c = readX402Header(
      encode(
        v2([
          { ...v2Requirement(), network: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp', asset: 'EPjF' },
          { ...v2Requirement(), amount: '20000' },
        ]),
      ),
    );
    expect(c.accepts.map((r) => [r.index, r.amount])).toEqual([[1, 20000n]]);
    expect(c.refused).toEqual([{ index: 0, reason: 'unknown-network', message: expect.any(String) }]);
  });

  it('refuses a challenge none of whose requirements is payable', () => {
    expect(refusal(() => readX402Header(encode(v2([{ ...v2Requirement(), scheme: 'stream' }]))))).toBe(
      'unknown-scheme',
    );
    expect(
      refusal(() =>
        readX402Header(
          encode(
            v2([
              { ...v2Requirement(), scheme: 'x' },
              { ...v2Requirement(), amount: '0' },
            ]),
          ),
        ),
      ),
    ).toBe('nothing-payable');
  });

  it.each([
    ['a version other than 2', encode(v2(undefined, { x402Version: 3 })), 'unknown-version'],
    ['a version as text', encode(v2(undefined, { x402Version: '2' })), 'unknown-version'],
    ['v1 in the header', encode({ ...SPEC_V1_BODY }), 'unknown-version'],
    ['no resource', encode(v2(undefined, { resource: undefined })), 'bad-resource'],
    ['a resource without URL', encode(v2(undefined, { resource: { description: 'x' } })), 'bad-resource'],
    ['no accepts', encode(v2([])), 'no-accepts'],
    ['accepts not a list', encode(v2(undefined, { accepts: v2Requirement() })), 'no-accepts'],
    ['too many accepts', encode(v2(Array.from({ length: 21 }, v2Requirement))), 'too-long'],
    ['not base64', 'eyJ4NDAy*ZXJzaW9uIjoyfQ', 'not-base64'],
    ['base64url', `${encode(v2()).replace(/\+/g, '-').replace(/\//g, '_')}-_`, 'not-base64'],
    ['too much padding', `${encode({ x402Version: 2 }).replace(/=+$/, '')}===`, 'not-base64'],
    ['empty', '', 'not-base64'],
    ['over-long', 'A'.repeat(16 * 1024 + 4), 'too-long'],
    ['base64 of text', Buffer.from('hello').toString('base64'), 'not-json'],
    ['base64 of a JSON list', encode([v2()]), 'not-json'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'), 'not-json'],
  ] as const)('refuses %s', (_, header, reason) => {
    expect(refusal(() => readX402Header(header))).toBe(reason);
  });

  it.each([
    ['an amount of zero', { amount: '0' }, 'bad-amount'],
    ['a leading zero', { amount: '010000' }, 'bad-amount'],
    ['a negative amount', { amount: '-10000' }, 'bad-amount'],
    ['a decimal amount', { amount: '100.5' }, 'bad-amount'],
    ['an exponent', { amount: '1e6' }, 'bad-amount'],
    ['an amount as a number', { amount: 10000 }, 'missing-field'],
    ['a 31-digit amount', { amount: '1'.repeat(31) }, 'bad-amount'],
    ['spaces', { amount: ' 10000' }, 'bad-amount'],
    ['no amount', { amount: undefined }, 'missing-field'],
    ['v1 amount field only', { amount: undefined, maxAmountRequired: '10000' }, 'missing-field'],
    ['an unknown scheme', { scheme: 'deferred' }, 'unknown-scheme'],
    ['a scheme in capitals', { scheme: 'EXACT' }, 'unknown-scheme'],
    ['a v1 network name', { network: 'base-sepolia' }, 'unknown-network'],
    ['an unknown chain', { network: 'eip155:137' }, 'unknown-network'],
    ['a padded chain id', { network: 'eip155:084532' }, 'unknown-network'],
    ['an unknown token', { asset: '0x0000000000000000000000000000000000000001' }, 'unknown-asset'],
    ['mainnet USDC on the testnet', { asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' }, 'unknown-asset'],
    ['a short asset', { asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7' }, 'bad-address'],
    ['a bad checksum', { payTo: '0x209693bc6afc0C5328bA36FaF03C514EF312287C' }, 'bad-address'],
    ['a payee without 0x', { payTo: '209693Bc6afc0C5328bA36FaF03C514EF312287C' }, 'bad-address'],
    ['a payee of 41 hex', { payTo: `${PAY_TO}0` }, 'bad-address'],
    ['a role instead of a payee', { payTo: 'merchant' }, 'bad-address'],
    ['the zero payee', { payTo: `0x${'0'.repeat(40)}` }, 'bad-address'],
    ['the token as payee', { payTo: SEPOLIA_USDC }, 'bad-address'],
    ['no timeout', { maxTimeoutSeconds: undefined }, 'bad-timeout'],
    ['a zero timeout', { maxTimeoutSeconds: 0 }, 'bad-timeout'],
    ['a fractional timeout', { maxTimeoutSeconds: 1.5 }, 'bad-timeout'],
    ['a week-long timeout', { maxTimeoutSeconds: 604_800 }, 'bad-timeout'],
    ['another domain name', { extra: { name: 'USD Coin', version: '2' } }, 'domain-mismatch'],
    ['another domain version', { extra: { name: 'USDC', version: '1' } }, 'domain-mismatch'],
    ['extra as text', { extra: 'USDC' }, 'missing-field'],
  ] as const)('refuses a requirement with %s', (_, change, reason) => {
    expect(v2Refusal({ ...v2Requirement(), ...change })).toBe(reason);
  });

  it('takes lowercase addresses and a requirement without extra (the domain is the token’s own)', () => {
    const c = readX402Header(
      encode(
        v2([
          {
            ...v2Requirement(),
            payTo: PAY_TO.toLowerCase(),
            asset: SEPOLIA_USDC.toLowerCase(),
            extra: undefined,
          },
        ]),
      ),
    );
    expect(c.accepts[0]?.asset.address).toBe(SEPOLIA_USDC);
    expect(c.accepts[0]?.asset.eip712).toEqual({ name: 'USDC', version: '2' });
  });

  it('cuts the app’s words to a readable length', () => {
    const c = readX402Header(
      encode(
        v2(undefined, {
          error: 'e'.repeat(5000),
          resource: { url: 'https://a.example/', description: 'd'.repeat(5000) },
        }),
      ),
    );
    expect(c.error).toHaveLength(500);
    expect(c.resource.description).toHaveLength(500);
  });
});

describe('x402 v1 (JSON body)', () => {
  it("reads the spec's example", () => {
    const c = readX402Body(JSON.stringify(SPEC_V1_BODY));
    expect(c.version).toBe(1);
    expect(c.error).toBe('Payment required to access this resource');
    expect(c.resource).toEqual({
      url: 'https://api.example.com/premium-data',
      description: 'Access to premium market data',
      mimeType: 'application/json',
    });
    const [r] = c.accepts;
    expect([r?.scheme, r?.amount, r?.asset.network, r?.payTo]).toEqual([
      'exact',
      10000n,
      'eip155:84532',
      PAY_TO,
    ]);
    expect(readX402({ headers: [], body: JSON.stringify(SPEC_V1_BODY) })?.version).toBe(1);
  });

  const v1Refusal = (change: Record<string, unknown>) =>
    refusal(() =>
      readX402Body(JSON.stringify({ ...SPEC_V1_BODY, accepts: [{ ...SPEC_V1_BODY.accepts[0], ...change }] })),
    );

  it.each([
    ['a CAIP-2 network', { network: 'eip155:84532' }, 'unknown-network'],
    ['an unknown network name', { network: 'polygon' }, 'unknown-network'],
    ['a v2 amount field only', { maxAmountRequired: undefined, amount: '10000' }, 'missing-field'],
    ['no description', { description: undefined }, 'missing-field'],
    ['no mimeType', { mimeType: undefined }, 'missing-field'],
    ['no resource', { resource: undefined }, 'missing-field'],
    ['an empty resource', { resource: '' }, 'bad-resource'],
    ['no payee', { payTo: undefined }, 'missing-field'],
    ['no asset', { asset: undefined }, 'missing-field'],
    ['a leading zero', { maxAmountRequired: '00' }, 'bad-amount'],
  ] as const)('refuses a requirement with %s', (_, change, reason) => {
    expect(v1Refusal(change)).toBe(reason);
  });

  it.each([
    ['version 2 in the body', JSON.stringify({ ...SPEC_V1_BODY, x402Version: 2 }), 'unknown-version'],
    ['no version', JSON.stringify({ ...SPEC_V1_BODY, x402Version: undefined }), 'unknown-version'],
    ['not JSON', '{"x402Version": 1,', 'not-json'],
    ['an over-long body', JSON.stringify({ ...SPEC_V1_BODY, pad: 'x'.repeat(64 * 1024) }), 'too-long'],
  ] as const)('refuses %s', (_, body, reason) => {
    expect(refusal(() => readX402Body(body))).toBe(reason);
  });
});

describe('the assets Paybound knows', () => {
  it('finds USDC by network and address, whatever the case', () => {
    expect(x402AssetAt('eip155:8453', '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913')?.networkName).toBe(
      'Base',
    );
    expect(x402AssetAt('eip155:84532', '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913')).toBeUndefined();
  });

  it('holds checksummed addresses, one entry per network', () => {
    for (const a of X402_ASSETS) {
      expect(checksumAddress(a.address)).toBe(a.address);
      expect(a.network).toBe(`eip155:${a.chainId}`);
    }
    expect(new Set(X402_ASSETS.map((a) => a.network)).size).toBe(X402_ASSETS.length);
  });

  it('checks EIP-55 on mixed-case addresses', () => {
    expect(isAddress(PAY_TO)).toBe(true);
    expect(isAddress(PAY_TO.toLowerCase())).toBe(true);
    expect(isAddress(`0x${PAY_TO.slice(2).toUpperCase()}`)).toBe(true);
    expect(isAddress(PAY_TO.replace('Bc', 'bc'))).toBe(false);
  });
});

describe('token amounts as money', () => {
  it('counts USDC base units as US cents, rounded up', () => {
    expect(usdcToUsdCents(10000n)).toBe(1n);
    expect(usdcToUsdCents(10001n)).toBe(2n);
    expect(usdcToUsdCents(1n)).toBe(1n);
    expect(usdcToUsdCents(0n)).toBe(0n);
    expect(usdcToUsdCents(1_000_000n)).toBe(100n);
    expect(usdcToUsdCents(123_456_789_000_000_000_000_001n)).toBe(12_345_678_900_000_000_001n);
  });

  it('handles tokens with fewer decimals than the currency, and refuses nonsense', () => {
    expect(baseUnitsToMinor(5n, 0, 2)).toBe(500n);
    expect(baseUnitsToMinor(1n, 18, 0)).toBe(1n);
    expect(() => baseUnitsToMinor(-1n, 6, 2)).toThrow(RangeError);
    expect(() => baseUnitsToMinor(1n, 1.5, 2)).toThrow(RangeError);
  });

  it('reaches another currency through both bitcoin rates, rounded up, in exact integers', () => {
    // 1 BTC = 100 000.00 USD = 90 000.00 EUR = 15 000 000 JPY (no minor digits).
    expect(usdMinorTo(1n, 10_000_000n, 9_000_000n)).toBe(1n); // 0.9 euro cents → 1
    expect(usdMinorTo(100n, 10_000_000n, 9_000_000n)).toBe(90n);
    expect(usdMinorTo(101n, 10_000_000n, 9_000_000n)).toBe(91n); // 90.9 → 91
    expect(usdMinorTo(1n, 10_000_000n, 15_000_000n)).toBe(2n); // 1.5 yen → 2
    expect(usdMinorTo(0n, 10_000_000n, 9_000_000n)).toBe(0n);
    expect(() => usdMinorTo(1n, 0n, 9_000_000n)).toThrow(RangeError);
    expect(() => usdMinorTo(-1n, 10_000_000n, 9_000_000n)).toThrow(RangeError);
  });

  it('shows token amounts exactly, with at least two decimals, as the locale writes numbers', () => {
    expect(formatToken(10_000n, 6, 'USDC', 'en')).toBe('0.01 USDC');
    expect(formatToken(1n, 6, 'USDC', 'en')).toBe('0.000001 USDC');
    expect(formatToken(1_234_567_890n, 6, 'USDC', 'en')).toBe('1,234.56789 USDC');
    expect(formatToken(50_000n, 6, 'USDC', 'de')).toBe('0,05 USDC');
    expect(formatToken(5n, 0, 'TOK', 'en')).toBe('5 TOK');
  });
});
