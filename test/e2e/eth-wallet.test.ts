/**
 * The stand-in Ethereum wallet the x402 tests inject: a page finds it over EIP-6963 and gets
 * signatures the way it would from a wallet extension (Paybound pays with it in x402.test.ts). And
 * the demo's x402 route, behind the real middleware, in a page with no wallet.
 */
import { verifyTypedData } from 'viem';
import { installEthWallet, OTHER_PAYEE } from '../../server/standins/eth-wallet';
import { TRANSFER_WITH_AUTHORIZATION } from '../../server/standins/x402-facilitator';
import { expect, test } from './harness/fixtures';
import { ask, POPUP } from './harness/flows';

const USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const PAY_TO = '0x209693Bc6afc0C5328bA36FaF03C514EF312287C';

/** EIP-3009 typed data as @x402/evm hands it to eth_signTypedData_v4. */
const typedData = (chainId: number) => ({
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    ...TRANSFER_WITH_AUTHORIZATION,
  },
  primaryType: 'TransferWithAuthorization',
  domain: { name: 'USDC', version: '2', chainId, verifyingContract: USDC },
  message: {
    from: '',
    to: PAY_TO.toLowerCase(),
    value: '10000',
    validAfter: '0',
    validBefore: '1800000000',
    nonce: `0x${'11'.repeat(32)}`,
  },
});

interface Outcome {
  announced: { name: string; rdns: string }[];
  sameAsWindow: boolean;
  before: unknown;
  accounts: string[];
  chain: unknown;
  unknownChain: unknown;
  wrongChain: unknown;
  signature: unknown;
  switched: unknown;
  refused?: unknown;
}

test('a page finds the stand-in wallet over EIP-6963 and gets an EIP-712 signature from it', async ({
  context,
  stack,
}) => {
  const wallet = await installEthWallet(context);
  const page = await context.newPage();
  await page.goto(stack.demo);
  const data = typedData(84532);
  data.message.from = wallet.address;
  const outcome = await page.evaluate(async (doc) => {
    type Provider = { request(a: { method: string; params?: unknown[] }): Promise<unknown> };
    const found: { info: { name: string; rdns: string }; provider: Provider }[] = [];
    window.addEventListener('eip6963:announceProvider', (e) => {
      found.push((e as CustomEvent).detail);
    });
    window.dispatchEvent(new Event('eip6963:requestProvider'));
    const provider = found[0]?.provider;
    if (!provider) return { announced: [] } as unknown as Outcome;
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e: { code?: number }) => e.code,
      );
    const before = await provider.request({ method: 'eth_accounts' });
    const accounts = (await provider.request({ method: 'eth_requestAccounts' })) as string[];
    const chain = await provider.request({ method: 'eth_chainId' });
    const unknownChain = await code(
      provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: '0x1' }] }),
    );
    const json = JSON.stringify(doc);
    const wrong = JSON.stringify({ ...doc, domain: { ...doc.domain, chainId: 8453 } });
    const wrongChain = await code(
      provider.request({ method: 'eth_signTypedData_v4', params: [accounts[0], wrong] }),
    );
    const signature = await provider.request({ method: 'eth_signTypedData_v4', params: [accounts[0], json] });
    await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: '0x2105' }] });
    const switched = await provider.request({ method: 'eth_chainId' });
    return {
      announced: found.map((f) => ({ name: f.info.name, rdns: f.info.rdns })),
      sameAsWindow: (window as unknown as { ethereum?: unknown }).ethereum === provider,
      before,
      accounts,
      chain,
      unknownChain,
      wrongChain,
      signature,
      switched,
    } satisfies Outcome;
  }, data);

  expect(outcome.announced).toEqual([{ name: 'Stand-in Wallet', rdns: 'dev.paybound.standin-wallet' }]);
  expect(outcome.sameAsWindow).toBe(true);
  expect(outcome.before).toEqual([]);
  expect(outcome.accounts).toEqual([wallet.address]);
  expect(outcome.chain).toBe('0x14a34');
  expect(outcome.unknownChain).toBe(4902);
  expect(outcome.wrongChain).toBe(-32602);
  expect(outcome.switched).toBe('0x2105');
  const valid = await verifyTypedData({
    address: wallet.address,
    domain: { name: 'USDC', version: '2', chainId: 84532, verifyingContract: USDC },
    types: { TransferWithAuthorization: data.types.TransferWithAuthorization },
    primaryType: 'TransferWithAuthorization',
    message: {
      ...data.message,
      from: wallet.address,
      to: PAY_TO,
      value: 10000n,
      validAfter: 0n,
      validBefore: 1800000000n,
      nonce: data.message.nonce as `0x${string}`,
    },
    signature: outcome.signature as `0x${string}`,
  });
  expect(valid).toBe(true);
  expect(wallet.requests.map((r) => r.method)).toContain('eth_signTypedData_v4');

  // The user says no; a lying wallet signs another payee.
  wallet.behaviour = 'refuse-sign';
  const refused = await page.evaluate(async (doc) => {
    const provider = (window as unknown as { ethereum: { request(a: unknown): Promise<unknown> } }).ethereum;
    await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: '0x14a34' }] });
    return provider
      .request({ method: 'eth_signTypedData_v4', params: [doc.message.from, JSON.stringify(doc)] })
      .then(
        () => 'signed',
        (e: { code?: number }) => e.code,
      );
  }, data);
  expect(refused).toBe(4001);
  wallet.behaviour = 'sign-other-to';
  await page.evaluate(async (doc) => {
    const provider = (window as unknown as { ethereum: { request(a: unknown): Promise<unknown> } }).ethereum;
    return provider.request({
      method: 'eth_signTypedData_v4',
      params: [doc.message.from, JSON.stringify(doc)],
    });
  }, data);
  expect(wallet.signed.at(-1)?.typedData.message).toMatchObject({ to: OTHER_PAYEE });
});

test('the real x402 middleware’s 402, in a page without an Ethereum wallet, reaches the page untouched and the log says why', async ({
  demoPage,
  stack,
  openExtensionPage,
}) => {
  await demoPage.fill('#prompt', 'x402, no wallet');
  await demoPage.click('#generate-x402');
  await expect.poll(() => demoPage.textContent('#status')).toBe('Payment required (402)');
  const popup = await openExtensionPage(POPUP);
  await expect
    .poll(async () => (await ask(popup, 'challenges.recent', { limit: 1 }))[0]?.url)
    .toBe(`${stack.demo}/x402/generate`);
  const [row] = await ask(popup, 'challenges.recent', { limit: 1 });
  expect(row?.protocols).toEqual(['x402']);
  expect(row?.error).toBe('the page reported no Ethereum wallet');
  expect(row?.errorSaid?.key).toBe('refusedNoEthWallet');
});
