/**
 * The x402 payment flow with fake-indexeddb: a 402 carrying x402 is quoted in dollars, the page's
 * Ethereum wallet is led through account, chain and signature (a viem local account signs, as a
 * wallet would), and the signature is checked before any retry carries it.
 */
import 'fake-indexeddb/auto';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { SenderContext } from '../../../src/background/sender';
import type { ApprovalService } from '../../../src/background/services/approvals';
import { PaymentService } from '../../../src/background/services/payments';
import type { RateService } from '../../../src/background/services/rates';
import { type RuleApi, TokenService } from '../../../src/background/services/tokens';
import type { PageWalletRequest } from '../../../src/core/payments/page-wallet';
import { defaultRules, type Rules } from '../../../src/core/policy/rules';
import { PayboundDb, type RailRecord } from '../../../src/db/schema';
import type { ChallengeVerdict } from '../../../src/messages/map';

const ETH: RailRecord = {
  id: 'eth-page',
  kind: 'ethereum',
  label: 'page wallet',
  network: 'testnet',
  config: {},
  createdAt: 0,
};
const LNBITS: RailRecord = {
  id: 'lnbits',
  kind: 'lnbits',
  label: 'l',
  network: 'regtest',
  config: { url: 'http://wallet.invalid', adminKey: 'x'.repeat(16) },
  createdAt: 1,
};
const URL_ = 'https://app.example/x402/generate';
const ORIGIN = 'https://app.example';
const SENDER: SenderContext = { origin: ORIGIN, tabId: 3, frameId: 0 } as SenderContext;
const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';
const USDC_SEPOLIA = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';

const requirement = (over: Record<string, unknown> = {}) => ({
  scheme: 'exact',
  network: 'eip155:84532',
  amount: '10000',
  asset: USDC_SEPOLIA,
  payTo: PAY_TO,
  maxTimeoutSeconds: 120,
  extra: { name: 'USDC', version: '2' },
  ...over,
});
const v2Header = (accepts: unknown[] = [requirement()]) =>
  Buffer.from(
    JSON.stringify({ x402Version: 2, resource: { url: URL_, description: 'a haiku' }, accepts }),
  ).toString('base64');

const asking: Rules = { ...defaultRules('UTC'), autoMaxMinor: 0n };

function setup(
  opts: {
    openDispute?: (p: unknown, why: { key: string }) => Promise<void>;
    now?: () => number;
    wakeAt?: (id: string, when: number) => Promise<void>;
  } = {},
) {
  const db = new PayboundDb(`x-${Math.random()}`);
  const approvals = {
    request: vi.fn(async (p: { id: string }) => {
      await db.payments.update(p.id, { approval: 'approved' });
      return 'approved' as const;
    }),
    withdraw: vi.fn(async () => {}),
  } as unknown as ApprovalService;
  const rate = (currency: string) => ({
    currency,
    // 1 BTC = 100 000.00 USD = 90 000.00 EUR.
    minorPerBtc: currency === 'usd' || currency === 'USD' ? 10_000_000n : 9_000_000n,
    source: 'test',
    asOf: Date.now() - 5000,
  });
  const rates = {
    current: async (c: string) => ({ rate: rate(c.toLowerCase()), ageMs: 5000, stale: false }),
  } as unknown as RateService;
  const ruleApi: RuleApi = {
    updateSessionRules: vi.fn(async () => {}),
    getSessionRules: vi.fn(async () => []),
  };
  const service = new PaymentService({
    db,
    rates,
    approvals,
    tokens: new TokenService(db, ruleApi),
    defaultRail: async () => LNBITS,
    railFor: async () => {
      throw new Error('no worker rail here');
    },
    openRail: async (r) => r,
    rules: async () => asking,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.wakeAt ? { wakeAt: opts.wakeAt } : {}),
    ...(opts.openDispute
      ? { openDispute: async (p, why) => opts.openDispute?.(p, why as { key: string }) }
      : {}),
  });
  const present = (
    headers: [string, string][],
    extra: { body?: string; pageWallets?: ('eip1193' | 'webln')[]; bodySha256?: string } = {
      pageWallets: ['eip1193'],
    },
  ) =>
    service.onChallenge({
      url: URL_,
      method: 'POST',
      headers,
      origin: ORIGIN,
      tabId: 3,
      via: 'fetch',
      ...extra,
    });
  return { db, service, present, approvals };
}

type Wallet = (request: PageWalletRequest['request']) => Promise<unknown>;

/** A wallet as a page has one: a viem local account on Base Sepolia. */
/** What Permit2 may move, as an `eth_call` answers it: one 32-byte word. */
const uint256 = (n: bigint) => `0x${n.toString(16).padStart(64, '0')}`;
const MAX_UINT256 = 2n ** 256n - 1n;

function honestWallet(key = generatePrivateKey(), allowance: () => unknown = () => uint256(MAX_UINT256)) {
  const account = privateKeyToAccount(key);
  let chain = '0x14a34';
  const asked: string[] = [];
  const calls: unknown[][] = [];
  const call: Wallet = async ({ method, params }) => {
    asked.push(method);
    if (method === 'eth_requestAccounts') return [account.address];
    if (method === 'eth_call') {
      calls.push(params);
      return allowance();
    }
    if (method === 'eth_chainId') return chain;
    if (method === 'wallet_switchEthereumChain') {
      chain = (params[0] as { chainId: string }).chainId;
      return null;
    }
    if (method === 'eth_signTypedData_v4') {
      const doc = JSON.parse(params[1] as string);
      const { EIP712Domain: _domain, ...types } = doc.types;
      return account.signTypedData({ ...doc, types });
    }
    throw new Error(`unexpected ${method}`);
  };
  return { account, call, asked, calls, setChain: (c: string) => (chain = c) };
}

/** Answers every pay-in-page question with the wallet until the flow gives a final verdict. */
async function converse(service: PaymentService, first: ChallengeVerdict, wallet: Wallet) {
  let verdict = first;
  for (let turns = 0; verdict.action === 'pay-in-page' && turns < 10; turns++) {
    let answer: unknown;
    let error: string | undefined;
    try {
      answer = await wallet(verdict.request);
    } catch (e) {
      error = (e as Error).message;
    }
    verdict = await service.pageResult(
      {
        paymentId: verdict.paymentId,
        wallet: verdict.wallet,
        ...(answer !== undefined ? { answer } : {}),
        ...(error !== undefined ? { error } : {}),
      },
      SENDER,
    );
  }
  return verdict;
}

let env: ReturnType<typeof setup>;
beforeEach(async () => {
  env = setup();
  await env.db.rails.bulkPut([LNBITS, ETH]);
});

describe('x402 through the page wallet', () => {
  it('quotes in dollars, asks account, chain and signature, and retries with PAYMENT-SIGNATURE', async () => {
    const wallet = honestWallet();
    const first = await env.present([['payment-required', v2Header()]]);
    expect(first).toMatchObject({ action: 'pay-in-page', wallet: 'eip1193' });
    const verdict = await converse(env.service, first, wallet.call);
    expect(wallet.asked).toEqual(['eth_requestAccounts', 'eth_chainId', 'eth_signTypedData_v4']);
    expect(verdict.action).toBe('retry');
    if (verdict.action !== 'retry') return;
    expect(verdict.credential.header).toBe('PAYMENT-SIGNATURE');
    const payment = JSON.parse(Buffer.from(verdict.credential.value, 'base64').toString());
    expect(payment.x402Version).toBe(2);
    expect(payment.accepted).toEqual(requirement());
    expect(payment.payload.authorization).toMatchObject({
      from: wallet.account.address,
      to: PAY_TO,
      value: '10000',
    });
    const [row] = await env.db.payments.toArray();
    expect(row).toMatchObject({ kind: 'x402', state: 'paid', amountMinor: 1n, payee: { kind: 'address' } });
    if (row?.kind !== 'x402') return;
    expect(row.amount).toEqual({ unit: 'token', symbol: 'USDC', decimals: 6, value: 10_000n });
    expect(row.x402.usdMinor).toBe(1n);
    expect(row.rate).toBeUndefined();
    // Budgets count it: the reservation became spent.
    expect(row.reservationState).toBe('committed');
  });

  it('asks the wallet to switch chains only when it is on another one', async () => {
    const wallet = honestWallet();
    wallet.setChain('0x2105');
    const verdict = await converse(
      env.service,
      await env.present([['payment-required', v2Header()]]),
      wallet.call,
    );
    expect(wallet.asked).toEqual([
      'eth_requestAccounts',
      'eth_chainId',
      'wallet_switchEthereumChain',
      'eth_signTypedData_v4',
    ]);
    expect(verdict.action).toBe('retry');
  });

  it('v1: reads the body, retries with X-PAYMENT', async () => {
    const v1 = {
      x402Version: 1,
      error: 'pay',
      accepts: [
        {
          scheme: 'exact',
          network: 'base-sepolia',
          maxAmountRequired: '10000',
          resource: URL_,
          description: 'a haiku',
          mimeType: 'application/json',
          payTo: PAY_TO,
          maxTimeoutSeconds: 60,
          asset: USDC_SEPOLIA,
          extra: { name: 'USDC', version: '2' },
        },
      ],
    };
    const verdict = await converse(
      env.service,
      await env.present([], { body: JSON.stringify(v1), pageWallets: ['eip1193'] }),
      honestWallet().call,
    );
    expect(verdict.action).toBe('retry');
    if (verdict.action !== 'retry') return;
    expect(verdict.credential.header).toBe('X-PAYMENT');
    expect(JSON.parse(Buffer.from(verdict.credential.value, 'base64').toString())).toMatchObject({
      x402Version: 1,
      scheme: 'exact',
      network: 'base-sepolia',
    });
  });

  it('prices USDC in the user currency through the dollar rate, rounded up', async () => {
    await env.db.settings.put({ key: 'currency', value: 'EUR' });
    await converse(env.service, await env.present([['payment-required', v2Header()]]), honestWallet().call);
    const [row] = await env.db.payments.toArray();
    if (row?.kind !== 'x402') throw new Error('no x402 row');
    // 1 US cent at 0.90 EUR per USD: 0.9 euro cents, rounded up to 1.
    expect(row.amountMinor).toBe(1n);
    expect(row.x402.usdRate?.currency).toBe('usd');
    expect(row.rate?.currency).toBe('eur');
  });

  for (const [name, tamper] of [
    [
      'another payee',
      (m: Record<string, unknown>) => ({ ...m, to: '0x000000000000000000000000000000000000dEaD' }),
    ],
    ['another value', (m: Record<string, unknown>) => ({ ...m, value: '10001' })],
  ] as const) {
    it(`a wallet that signs ${name} is refused before any retry: nothing paid`, async () => {
      const wallet = honestWallet();
      const lying: Wallet = async (r) => {
        if (r.method !== 'eth_signTypedData_v4') return wallet.call(r);
        const doc = JSON.parse(r.params[1] as string);
        return wallet.call({
          ...r,
          params: [r.params[0], JSON.stringify({ ...doc, message: tamper(doc.message) })],
        });
      };
      const verdict = await converse(
        env.service,
        await env.present([['payment-required', v2Header()]]),
        lying,
      );
      expect(verdict.action).toBe('pass');
      const [row] = await env.db.payments.toArray();
      expect(row).toMatchObject({ state: 'failed', failure: { code: 'wallet_wrong_signature' } });
      expect(row?.reservationState).toBe('released');
    });
  }

  it('a page that claims an answer nobody asked for (a signature before the account) pays nothing', async () => {
    const first = await env.present([['payment-required', v2Header()]]);
    if (first.action !== 'pay-in-page') throw new Error('not handed over');
    const verdict = await env.service.pageResult(
      { paymentId: first.paymentId, wallet: 'eip1193', answer: `0x${'11'.repeat(65)}` },
      SENDER,
    );
    expect(verdict.action).toBe('pass');
    const [row] = await env.db.payments.toArray();
    expect(row?.state).toBe('failed');
  });

  it('a result from another tab or origin is refused and changes nothing', async () => {
    const first = await env.present([['payment-required', v2Header()]]);
    if (first.action !== 'pay-in-page') throw new Error('not handed over');
    for (const sender of [
      { ...SENDER, tabId: 4 },
      { ...SENDER, origin: 'https://evil.example' },
    ]) {
      const verdict = await env.service.pageResult(
        {
          paymentId: first.paymentId,
          wallet: 'eip1193',
          answer: ['0x0000000000000000000000000000000000000001'],
        },
        sender as SenderContext,
      );
      expect(verdict.action).toBe('pass');
    }
    const [row] = await env.db.payments.toArray();
    expect(row).toMatchObject({ state: 'paying' });
    if (row?.kind === 'x402') expect(row.x402.payer).toBeUndefined();
  });

  it('the user refusing in the wallet fails the charge and releases the reservation', async () => {
    const refusing: Wallet = async () => {
      throw new Error('User rejected the request.');
    };
    const verdict = await converse(
      env.service,
      await env.present([['payment-required', v2Header()]]),
      refusing,
    );
    expect(verdict.action).toBe('pass');
    const [row] = await env.db.payments.toArray();
    expect(row).toMatchObject({
      state: 'failed',
      failure: { code: 'wallet_refused' },
      reservationState: 'released',
    });
  });

  it('the same request presented again while its charge is open joins it; once paid and used, a new one charges again', async () => {
    const headers: [string, string][] = [['payment-required', v2Header()]];
    const extra = { pageWallets: ['eip1193' as const], bodySha256: 'ab'.repeat(32) };
    const first = await env.present(headers, extra);
    const again = await env.present(headers, extra);
    // The second presentation is answered from the open one: no second charge is recorded.
    expect(again.action).toBe('pass');
    expect(await env.db.payments.count()).toBe(1);
    await converse(env.service, first, honestWallet().call);
    // Paid and handed to the page: a new request (the app's next call) is a new charge.
    const next = await env.present(headers, extra);
    expect(next.action).toBe('pay-in-page');
    expect(await env.db.payments.count()).toBe(2);
  });

  it('refuses what it cannot pay before any quote: mainnet on a test wallet, no wallet in the page, malformed', async () => {
    const cases: [string, [string, string][], object, string][] = [
      [
        'mainnet',
        [
          [
            'payment-required',
            v2Header([
              requirement({
                network: 'eip155:8453',
                asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
                extra: { name: 'USD Coin', version: '2' },
              }),
            ]),
          ],
        ],
        { pageWallets: ['eip1193'] },
        'refusedX402Mainnet',
      ],
      ['no wallet', [['payment-required', v2Header()]], {}, 'refusedNoEthWallet'],
      [
        'malformed',
        [['payment-required', 'not base64!']],
        { pageWallets: ['eip1193'] },
        'refusedX402Malformed',
      ],
      [
        'version 3',
        [['payment-required', Buffer.from('{"x402Version":3}').toString('base64')]],
        { pageWallets: ['eip1193'] },
        'refusedX402Version',
      ],
    ];
    for (const [name, headers, extra, key] of cases) {
      const verdict = await env.present(headers, extra);
      expect(verdict, name).toMatchObject({ action: 'pass' });
      const [log] = await env.db.challenges.orderBy('id').reverse().limit(1).toArray();
      expect(log?.errorSaid?.key, name).toBe(key);
    }
    expect(await env.db.payments.count()).toBe(0);
    expect(env.approvals.request).not.toHaveBeenCalled();
  });

  it('upto: quoted as an estimate up to the maximum, signed as a Permit2 permit, and the settled amount is what counts', async () => {
    const facilitator = '0x1111111111111111111111111111111111111111';
    const max = requirement({
      scheme: 'upto',
      amount: '50000',
      extra: { name: 'USDC', version: '2', assetTransferMethod: 'permit2', facilitatorAddress: facilitator },
    });
    const wallet = honestWallet();
    const verdict = await converse(
      env.service,
      await env.present([['payment-required', v2Header([max])]]),
      wallet.call,
    );
    expect(verdict.action).toBe('retry');
    if (verdict.action !== 'retry') return;
    const payment = JSON.parse(Buffer.from(verdict.credential.value, 'base64').toString());
    expect(payment.payload.permit2Authorization).toMatchObject({
      from: wallet.account.address,
      permitted: { token: USDC_SEPOLIA, amount: '50000' },
      witness: { to: PAY_TO, facilitator },
    });
    let [row] = await env.db.payments.toArray();
    expect(row).toMatchObject({ kind: 'x402', amountMinor: 5n, estimate: { min: 0n, max: 50_000n } });
    const spent = async () => (await env.db.spend.toArray()).reduce((n, t) => n + t.committedMinor, 0n);
    const before = await spent();
    // The app settled 0.02 of the 0.05 it was allowed: 3 cents never left and stop counting.
    const response = Buffer.from(
      JSON.stringify({
        success: true,
        transaction: `0x${'ab'.repeat(32)}`,
        network: 'eip155:84532',
        amount: '20000',
      }),
    ).toString('base64');
    await env.service.delivered(
      {
        paymentId: verdict.paymentId ?? '',
        status: 200,
        sha256: 'cd'.repeat(32),
        headers: [['payment-response', response]],
      },
      SENDER,
    );
    [row] = await env.db.payments.toArray();
    expect(row?.settlement).toMatchObject({ actual: 20_000n, refunded: 30_000n, countedMinor: 3n });
    expect(before - (await spent())).toBe(3n);
    if (row?.kind === 'x402') expect(row.x402.settlement?.transaction).toBe(`0x${'ab'.repeat(32)}`);
  });

  describe('upto: the Permit2 allowance is read before the permit is asked for', () => {
    const facilitator = '0x1111111111111111111111111111111111111111';
    const uptoHeader = () =>
      v2Header([
        requirement({
          scheme: 'upto',
          amount: '50000',
          extra: {
            name: 'USDC',
            version: '2',
            assetTransferMethod: 'permit2',
            facilitatorAddress: facilitator,
          },
        }),
      ]);

    /** One upto payment on a fresh service, with a wallet whose allowance answer is `allowance`. */
    async function payUpto(allowance?: () => unknown) {
      const local = setup();
      await local.db.rails.bulkPut([LNBITS, ETH]);
      const wallet = honestWallet(undefined, allowance);
      const verdict = await converse(
        local.service,
        await local.present([['payment-required', uptoHeader()]]),
        wallet.call,
      );
      const [row] = await local.db.payments.toArray();
      return { verdict, wallet, row };
    }
    const SIGNED_AFTER_ALLOWANCE = ['eth_requestAccounts', 'eth_chainId', 'eth_call', 'eth_signTypedData_v4'];

    it('asks the token what Permit2 may move for the payer, then the permit', async () => {
      const { verdict, wallet } = await payUpto();
      expect(verdict.action).toBe('retry');
      expect(wallet.asked).toEqual(SIGNED_AFTER_ALLOWANCE);
      const owner = wallet.account.address.slice(2).toLowerCase().padStart(64, '0');
      const permit2 = '000000000022d473030f116ddee9f6b43ac78ba3'.padStart(64, '0');
      expect(wallet.calls).toEqual([[{ to: USDC_SEPOLIA, data: `0xdd62ed3e${owner}${permit2}` }, 'latest']]);
    });

    it('an allowance below the maximum: nothing is signed, nothing paid, and the user reads why', async () => {
      for (const allowance of [0n, 49_999n]) {
        const { verdict, wallet, row } = await payUpto(() => uint256(allowance));
        expect(verdict.action).toBe('pass');
        expect(wallet.asked).not.toContain('eth_signTypedData_v4');
        expect(row).toMatchObject({
          state: 'failed',
          failure: {
            code: 'wallet_no_allowance',
            said: { key: 'failureEthNoPermit2Allowance', args: ['USDC'] },
          },
          reservationState: 'released',
        });
      }
    });

    it('a wallet that cannot say, or says nonsense, still gets the permit to sign: without the allowance it moves nothing', async () => {
      for (const answer of [
        () => {
          throw new Error('eth_call is not supported');
        },
        () => '0x01',
        () => ({ allowance: 'plenty' }),
      ]) {
        const { verdict, wallet } = await payUpto(answer);
        expect(verdict.action).toBe('retry');
        expect(wallet.asked).toEqual(SIGNED_AFTER_ALLOWANCE);
      }
    });

    it('exact needs no allowance: nothing is read before its signature', async () => {
      const wallet = honestWallet();
      await converse(env.service, await env.present([['payment-required', v2Header()]]), wallet.call);
      expect(wallet.asked).not.toContain('eth_call');
    });
  });

  it('a settlement above what was authorized, or none at all, opens a dispute', async () => {
    const disputes: string[] = [];
    const local = setup({
      openDispute: async (_p, why) => {
        disputes.push(why.key);
      },
    });
    await local.db.rails.bulkPut([LNBITS, ETH]);
    for (const headers of [
      [
        [
          'payment-response',
          Buffer.from(
            JSON.stringify({
              success: true,
              transaction: `0x${'ab'.repeat(32)}`,
              network: 'eip155:84532',
              amount: '10001',
            }),
          ).toString('base64'),
        ],
      ],
      [],
    ] as [string, string][][]) {
      const verdict = await converse(
        local.service,
        await local.present([['payment-required', v2Header()]], {
          pageWallets: ['eip1193'],
          bodySha256: String(headers.length).repeat(64),
        }),
        honestWallet().call,
      );
      if (verdict.action !== 'retry') throw new Error('not paid');
      await local.service.delivered(
        { paymentId: verdict.paymentId ?? '', status: 200, sha256: 'cd'.repeat(32), headers },
        SENDER,
      );
    }
    expect(disputes).toEqual(['disputeX402OverSettled', 'disputeX402NotSettled']);
  });

  it('a page that stops answering its wallet holds the amount only until the authorization would run out', async () => {
    let clock = Date.now();
    const wakes: [string, number][] = [];
    const local = setup({
      now: () => clock,
      wakeAt: async (id, when) => {
        wakes.push([id, when]);
      },
    });
    await local.db.rails.bulkPut([LNBITS, ETH]);
    const first = await local.present([['payment-required', v2Header()]]);
    if (first.action !== 'pay-in-page') throw new Error('not handed over');
    // The page answers the account and the chain, is asked to sign, and is never heard of again.
    const account = honestWallet();
    let verdict: ChallengeVerdict = first;
    for (let i = 0; i < 2 && verdict.action === 'pay-in-page'; i++) {
      verdict = await local.service.pageResult(
        { paymentId: first.paymentId, wallet: 'eip1193', answer: await account.call(verdict.request) },
        SENDER,
      );
    }
    expect(verdict).toMatchObject({ action: 'pay-in-page', request: { method: 'eth_signTypedData_v4' } });
    const [asked] = await local.db.payments.toArray();
    if (asked?.kind !== 'x402') throw new Error('no x402 row');
    const until = Number(asked.x402.authorization?.validBefore) * 1000;
    expect(wakes.at(-1)).toEqual([first.paymentId, Math.max(asked.expiresAt * 1000, until)]);
    await local.service.expire(first.paymentId);
    expect((await local.db.payments.get(first.paymentId))?.state).toBe('paying');
    clock = asked.expiresAt * 1000 + 1;
    await local.service.expire(first.paymentId);
    const row = await local.db.payments.get(first.paymentId);
    expect(row).toMatchObject({
      state: 'failed',
      reservationState: 'released',
      failure: { code: 'page_wallet_unconfirmed' },
    });
  });
});
