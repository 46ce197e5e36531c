/**
 * x402 through the page's own Ethereum wallet, in real Chromium against the demo's routes: v2
 * behind the real @x402/express middleware and v1 by hand, both settling through the facilitator
 * stand-in's in-memory USDC. The stand-in wallet is announced over EIP-6963 as a wallet extension
 * would be; Paybound quotes, asks the user, leads the wallet through account, chain and signature,
 * checks the signature itself, and only then lets the page retry.
 */
import type { Page } from 'playwright-core';
import type { StackInfo } from '../../server/dev/stack';
import { type EthWallet, installEthWallet } from '../../server/standins/eth-wallet';
import { expect, test } from './harness/fixtures';
import { ask, ledger, nextQuoteWindow, POPUP, step } from './harness/flows';

/** One cent of USDC: the demo route's price. */
const PRICE = 10_000n;

interface FacilitatorState {
  balances: Record<string, Record<string, string>>;
  settlements: { transaction: string; from: string; to: string; value: string; nonce: string }[];
}

async function facilitator(stack: StackInfo, path: string, body?: object): Promise<FacilitatorState> {
  const res = await fetch(`${stack.x402.facilitator}/_standin/${path}`, {
    method: body ? 'POST' : 'GET',
    ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  return (await res.json()) as FacilitatorState;
}

const settledBy = async (stack: StackInfo, wallet: EthWallet) =>
  (await facilitator(stack, 'state')).settlements.filter(
    (s) => s.from.toLowerCase() === wallet.address.toLowerCase(),
  );

const balanceOf = async (stack: StackInfo, address: string) =>
  BigInt((await facilitator(stack, 'state')).balances[stack.x402.network]?.[address.toLowerCase()] ?? '0');

/** A page of the demo with a funded stand-in Ethereum wallet in it. */
async function walletPage(
  context: import('playwright-core').BrowserContext,
  stack: StackInfo,
  behaviour: EthWallet['behaviour'] = 'honest',
): Promise<{ page: Page; wallet: EthWallet }> {
  const wallet = await installEthWallet(context, { behaviour });
  await facilitator(stack, 'fund', { address: wallet.address, amount: '1000000' });
  const page = await context.newPage();
  await page.goto(stack.demo);
  return { page, wallet };
}

/** Clicks a demo button that asks in x402, approves the quote, and returns the quote window's text. */
async function payWithApproval(
  context: import('playwright-core').BrowserContext,
  page: Page,
  button: string,
) {
  await page.fill('#prompt', 'paid in USDC');
  const [quote] = await Promise.all([nextQuoteWindow(context), page.click(button)]);
  const shown = (await quote.textContent('[data-testid=quote]')) ?? '';
  await quote.click('[data-testid=approve]');
  return shown;
}

test('x402 v2: quoted in dollars on the test network, signed by the page wallet, settled once, and the page gets 200', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const { page, wallet } = await walletPage(context, stack);
  const popup = await openExtensionPage(POPUP);
  const payeeBefore = await balanceOf(stack, stack.x402.payTo);
  const shown = await payWithApproval(context, page, '#generate-x402');
  // The network by name, marked as a test network; the payee's address, shortened.
  expect(shown).toContain('Base Sepolia');
  expect(shown).toMatch(/test network/i);
  expect(shown).toContain('0.01');
  await step('the paid retry', expect.poll(() => page.textContent('#status')).toBe('200 OK'), () =>
    ledger(popup),
  );
  const settled = await settledBy(stack, wallet);
  expect(settled).toHaveLength(1);
  expect(settled[0]?.value).toBe(PRICE.toString());
  expect((await balanceOf(stack, stack.x402.payTo)) - payeeBefore).toBe(PRICE);
  // The wallet was asked for its account, its chain, and one signature: nothing else.
  expect(wallet.requests.map((r) => r.method)).toEqual([
    'eth_requestAccounts',
    'eth_chainId',
    'eth_signTypedData_v4',
  ]);
  const row = (await ledger(popup)).find((p) => p.kind === 'x402');
  expect(row).toMatchObject({ state: 'paid', amountMinor: '1' });
  expect(row?.x402).toMatchObject({
    amount: '10000',
    networkName: 'Base Sepolia',
    testnet: true,
    payer: wallet.address,
  });
  // The app's settlement (PAYMENT-RESPONSE) is the proof on the ledger.
  await expect
    .poll(async () => (await ledger(popup)).find((p) => p.id === row?.id)?.x402?.transaction)
    .toBe(settled[0]?.transaction);
  // Budgets count the charge in the user's currency.
  const spend = await ask(popup, 'spend.summary', {});
  expect(spend.some((b) => BigInt(b.spentMinor) >= 1n)).toBe(true);
});

test('x402 v1 (the requirement in the 402 body, the retry in X-PAYMENT) is paid too', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const { page, wallet } = await walletPage(context, stack);
  const popup = await openExtensionPage(POPUP);
  await payWithApproval(context, page, '#generate-x402-v1');
  await step('the paid v1 retry', expect.poll(() => page.textContent('#status')).toBe('200 OK'), () =>
    ledger(popup),
  );
  expect(await settledBy(stack, wallet)).toHaveLength(1);
  const row = (await ledger(popup)).find((p) => p.kind === 'x402');
  expect(row?.state).toBe('paid');
  await expect
    .poll(async () => (await ledger(popup)).find((p) => p.id === row?.id)?.x402?.transaction)
    .toMatch(/^0x[0-9a-f]{64}$/);
});

test('the same request presented twice at once is one charge: one quote, one signature, one settlement', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const { page, wallet } = await walletPage(context, stack);
  const popup = await openExtensionPage(POPUP);
  const twice = () =>
    page.evaluate(async () => {
      const once = () =>
        fetch('/x402/generate', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'same' }),
        }).then((r) => r.status);
      return Promise.all([once(), once()]);
    });
  const [quote, statuses] = await Promise.all([
    nextQuoteWindow(context).then(async (q) => {
      await q.click('[data-testid=approve]');
      return q;
    }),
    twice(),
  ]);
  expect(quote).toBeTruthy();
  // One of them got what was paid; the other was handed the same, already spent, authorization.
  expect([...statuses].sort()).toEqual([200, 402]);
  expect(await settledBy(stack, wallet)).toHaveLength(1);
  expect(wallet.signed).toHaveLength(1);
  expect((await ledger(popup)).filter((p) => p.kind === 'x402')).toHaveLength(1);
});

for (const behaviour of ['sign-other-to', 'sign-other-value'] as const) {
  test(`a wallet that signs something else (${behaviour}) is caught before the retry: nothing is sent, nothing paid`, async ({
    context,
    stack,
    openExtensionPage,
  }) => {
    const { page, wallet } = await walletPage(context, stack, behaviour);
    const popup = await openExtensionPage(POPUP);
    await payWithApproval(context, page, '#generate-x402');
    await expect.poll(() => page.textContent('#status')).toBe('Payment required (402)');
    expect(wallet.signed).toHaveLength(1);
    expect(await settledBy(stack, wallet)).toHaveLength(0);
    const row = (await ledger(popup)).find((p) => p.kind === 'x402');
    expect(row).toMatchObject({ state: 'failed', failure: { code: 'wallet_wrong_signature' } });
  });
}

test('the user refusing in the wallet: nothing signed, nothing paid, the reservation released', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const { page, wallet } = await walletPage(context, stack, 'refuse-sign');
  const popup = await openExtensionPage(POPUP);
  await payWithApproval(context, page, '#generate-x402');
  await expect.poll(() => page.textContent('#status')).toBe('Payment required (402)');
  expect(wallet.signed).toHaveLength(0);
  const row = (await ledger(popup)).find((p) => p.kind === 'x402');
  expect(row).toMatchObject({ state: 'failed', failure: { code: 'wallet_refused' } });
});

test('a facilitator that refuses the settlement: the user signed and got nothing, and a dispute opens', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const { page, wallet } = await walletPage(context, stack);
  const popup = await openExtensionPage(POPUP);
  await facilitator(stack, 'fail-settle', { reason: 'unexpected_settle_error' });
  await payWithApproval(context, page, '#generate-x402');
  await expect.poll(() => page.textContent('#status')).not.toBe('Working…');
  expect(await page.textContent('#status')).not.toBe('200 OK');
  expect(await settledBy(stack, wallet)).toHaveLength(0);
  const row = (await ledger(popup)).find((p) => p.kind === 'x402');
  await expect
    .poll(async () => (await ask(popup, 'disputes.list', {})).filter((d) => d.paymentId === row?.id).length)
    .toBe(1);
});

test('a page without an Ethereum wallet: no quote window, nothing signed, and the log says why', async ({
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await demoPage.fill('#prompt', 'no wallet');
  await demoPage.click('#generate-x402');
  await expect.poll(() => demoPage.textContent('#status')).toBe('Payment required (402)');
  const log = await ask(popup, 'challenges.recent', { limit: 5 });
  expect(log[0]?.errorSaid?.key).toBe('refusedNoEthWallet');
  expect((await ledger(popup)).filter((p) => p.kind === 'x402')).toHaveLength(0);
});

test('a main-network requirement is refused by a wallet set up for test networks, before any signature', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const { page, wallet } = await walletPage(context, stack);
  const popup = await openExtensionPage(POPUP);
  const mainnet = {
    x402Version: 2,
    resource: { url: `${stack.demo}/x402/mainnet`, description: 'real money' },
    accepts: [
      {
        scheme: 'exact',
        network: 'eip155:8453',
        amount: '10000',
        asset: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
        payTo: stack.x402.payTo,
        maxTimeoutSeconds: 60,
        extra: { name: 'USD Coin', version: '2' },
      },
    ],
  };
  await page.route('**/x402/mainnet', (route) =>
    route.fulfill({
      status: 402,
      headers: { 'payment-required': Buffer.from(JSON.stringify(mainnet)).toString('base64') },
      body: '{}',
    }),
  );
  const status = await page.evaluate(async () => (await fetch('/x402/mainnet', { method: 'POST' })).status);
  expect(status).toBe(402);
  const log = await ask(popup, 'challenges.recent', { limit: 5 });
  expect(log[0]?.errorSaid?.key).toBe('refusedX402Mainnet');
  expect(wallet.requests).toEqual([]);
});

/** One request to the demo's upto route from the page; resolves with its status. */
const uptoRequest = (page: Page, prompt: string) =>
  page.evaluate(
    (p) =>
      fetch('/x402/upto/generate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: p }),
      }).then((r) => r.status),
    prompt,
  );

test('x402 upto: quoted "up to" the maximum, a Permit2 permit signed, and only what the app settled counts', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const { page, wallet } = await walletPage(context, stack);
  const popup = await openExtensionPage(POPUP);
  const [quote, status] = await Promise.all([
    nextQuoteWindow(context).then(async (q) => {
      const shown = (await q.textContent('[data-testid=estimate]')) ?? '';
      await q.click('[data-testid=approve]');
      return shown;
    }),
    uptoRequest(page, 'four words of prompt'),
  ]);
  expect(quote).toMatch(/^Up to \$0\.05/);
  expect(status).toBe(200);
  // Four words at 0.005 USDC: 0.02 of the 0.05 permitted moved.
  const settled = await settledBy(stack, wallet);
  expect(settled.map((s) => s.value)).toEqual(['20000']);
  expect(wallet.signed[0]?.typedData.primaryType).toBe('PermitWitnessTransferFrom');
  // What Permit2 may move was read before the permit was asked for.
  expect(wallet.requests.map((r) => r.method)).toEqual([
    'eth_requestAccounts',
    'eth_chainId',
    'eth_call',
    'eth_signTypedData_v4',
  ]);
  await expect.poll(async () => (await ledger(popup)).find((p) => p.kind === 'x402')?.actualMinor).toBe('2');
  const row = (await ledger(popup)).find((p) => p.kind === 'x402');
  expect(row).toMatchObject({ amountMinor: '5', estimateMinor: { max: '5' }, refundedMinor: '3' });
});

test('x402 upto: a wallet that signs a larger permit than asked is caught before the retry', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const { page, wallet } = await walletPage(context, stack, 'sign-other-value');
  const popup = await openExtensionPage(POPUP);
  const [, status] = await Promise.all([
    nextQuoteWindow(context).then((q) => q.click('[data-testid=approve]')),
    uptoRequest(page, 'lying wallet'),
  ]);
  expect(status).toBe(402);
  expect(await settledBy(stack, wallet)).toHaveLength(0);
  expect((await ledger(popup)).find((p) => p.kind === 'x402')).toMatchObject({
    state: 'failed',
    failure: { code: 'wallet_wrong_signature' },
  });
});

test('x402 upto: a wallet that has not allowed Permit2 is told so, and nothing is signed or paid', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const { page, wallet } = await walletPage(context, stack);
  wallet.permit2Allowance = 0n;
  const popup = await openExtensionPage(POPUP);
  const [, status] = await Promise.all([
    nextQuoteWindow(context).then((q) => q.click('[data-testid=approve]')),
    uptoRequest(page, 'no allowance'),
  ]);
  expect(status).toBe(402);
  expect(wallet.signed).toHaveLength(0);
  expect(wallet.requests.map((r) => r.method)).not.toContain('eth_signTypedData_v4');
  expect(await settledBy(stack, wallet)).toHaveLength(0);
  const row = (await ledger(popup)).find((p) => p.kind === 'x402');
  expect(row).toMatchObject({ state: 'failed', failure: { code: 'wallet_no_allowance' } });
  expect(row?.failure?.said).toEqual({ key: 'failureEthNoPermit2Allowance', args: ['USDC'] });
});
