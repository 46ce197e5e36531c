/**
 * A stand-in Ethereum wallet in the page, as a wallet extension injects one: an EIP-1193 provider
 * announced over EIP-6963 (and, optionally, at `window.ethereum`), whose key stays in node — the page
 * asks a Playwright binding to sign, and the binding signs with a viem local account.
 *
 * It behaves as MetaMask does where x402 cares: `eth_accounts` is empty until `eth_requestAccounts`;
 * `wallet_switchEthereumChain` to a chain it does not know fails with 4902; `eth_signTypedData_v4`
 * refuses a domain whose chainId is not the active chain, and an address it does not hold; the user's
 * refusal is 4001. `behaviour` (changeable between requests) makes it refuse, or sign something
 * other than it was asked (another `to`, another value), for the tests of Paybound's own checks.
 *
 * Of `eth_call`, which a real wallet forwards to its chain, it answers one question, the one x402's
 * upto scheme needs: a token's `allowance(owner, Permit2)` for its own address, from
 * `permit2Allowance` (unlimited unless a test sets it, as the facilitator stand-in assumes).
 */
import { randomUUID } from 'node:crypto';
import { PERMIT2_ADDRESS } from '@x402/evm';
import type { BrowserContext } from 'playwright-core';
import { decodeFunctionData, erc20Abi, type Hex, isAddressEqual, type TypedDataDefinition } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';

export type EthWalletBehaviour =
  | 'honest'
  /** The user refuses to connect (eth_requestAccounts → 4001). */
  | 'refuse-connect'
  /** The user refuses to sign (eth_signTypedData_v4 → 4001). */
  | 'refuse-sign'
  /** Signs the authorization with `to` replaced by another address. */
  | 'sign-other-to'
  /** Signs the authorization with `value` one base unit more. */
  | 'sign-other-value';

export interface EthWalletOptions {
  privateKey?: Hex;
  /** The chain it starts on; default Base Sepolia (84532). */
  chainId?: number;
  /** The chains it can switch to; default Base Sepolia and Base. */
  chains?: number[];
  /** Also set `window.ethereum` (older pages look there); default true. */
  windowEthereum?: boolean;
  behaviour?: EthWalletBehaviour;
  /** What its tokens say Permit2 may move for it (base units); default unlimited. */
  permit2Allowance?: bigint;
}

export interface EthWalletRequest {
  method: string;
  params?: unknown;
}

export interface EthWallet {
  account: PrivateKeyAccount;
  address: Hex;
  /** The EIP-6963 identity it announces. */
  info: { uuid: string; name: string; icon: string; rdns: string };
  behaviour: EthWalletBehaviour;
  /** What its tokens say Permit2 may move for it (changeable between requests). */
  permit2Allowance: bigint;
  /** Every request the page made, in order. */
  requests: EthWalletRequest[];
  /** What it signed, as it signed it (after any `behaviour` change). */
  signed: { typedData: TypedDataDefinition; signature: Hex }[];
}

/** The address a `sign-other-to` wallet pays instead. */
export const OTHER_PAYEE = '0x000000000000000000000000000000000000dEaD';
const BINDING = '__standinEthWallet';
const ICON =
  'data:image/svg+xml;base64,' +
  Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#3b5bdb"/></svg>',
  ).toString('base64');

type Answer = { ok: true; value: unknown } | { ok: false; code: number; message: string };

/** Installs the wallet in every page of the context opened from now on. */
export async function installEthWallet(
  context: BrowserContext,
  opts: EthWalletOptions = {},
): Promise<EthWallet> {
  const account = privateKeyToAccount(opts.privateKey ?? generatePrivateKey());
  const wallet: EthWallet = {
    account,
    address: account.address,
    info: { uuid: randomUUID(), name: 'Stand-in Wallet', icon: ICON, rdns: 'dev.paybound.standin-wallet' },
    behaviour: opts.behaviour ?? 'honest',
    permit2Allowance: opts.permit2Allowance ?? 2n ** 256n - 1n,
    requests: [],
    signed: [],
  };

  await context.exposeBinding(BINDING, async (_source, kind: string, payload: unknown): Promise<Answer> => {
    if (kind === 'log') {
      wallet.requests.push(payload as EthWalletRequest);
      return { ok: true, value: null };
    }
    if (kind === 'connect') {
      return wallet.behaviour === 'refuse-connect'
        ? { ok: false, code: 4001, message: 'User rejected the request.' }
        : { ok: true, value: null };
    }
    if (kind === 'sign') {
      if (wallet.behaviour === 'refuse-sign')
        return { ok: false, code: 4001, message: 'User rejected the request.' };
      try {
        const typedData = toViemTypedData(JSON.parse(String(payload)) as unknown, wallet.behaviour);
        const signature = await account.signTypedData(typedData);
        wallet.signed.push({ typedData, signature });
        return { ok: true, value: signature };
      } catch (e) {
        return { ok: false, code: -32602, message: `cannot sign: ${(e as Error).message}` };
      }
    }
    if (kind === 'call') {
      const data = (payload as { data?: unknown } | null)?.data;
      const read = (() => {
        try {
          return typeof data === 'string'
            ? decodeFunctionData({ abi: erc20Abi, data: data as Hex })
            : undefined;
        } catch {
          return undefined;
        }
      })();
      if (
        read?.functionName === 'allowance' &&
        isAddressEqual(read.args[0], account.address) &&
        isAddressEqual(read.args[1], PERMIT2_ADDRESS)
      )
        return { ok: true, value: `0x${wallet.permit2Allowance.toString(16).padStart(64, '0')}` };
      return { ok: false, code: -32000, message: 'execution reverted' };
    }
    return { ok: false, code: 4200, message: `unsupported: ${kind}` };
  });

  // `pageWallet` is sent to the page as its source text. Run through tsx (npm start), esbuild keeps
  // function names by wrapping them in `__name(...)` calls, which the page must then have.
  await context.addInitScript('globalThis.__name ??= (f) => f;');
  await context.addInitScript(pageWallet, {
    binding: BINDING,
    address: account.address,
    chainId: opts.chainId ?? 84532,
    chains: opts.chains ?? [84532, 8453],
    info: wallet.info,
    windowEthereum: opts.windowEthereum ?? true,
  });
  return wallet;
}

interface PageConfig {
  binding: string;
  address: string;
  chainId: number;
  chains: number[];
  info: EthWallet['info'];
  windowEthereum: boolean;
}

/** Runs in the page (serialized by Playwright): no closure over node values. */
function pageWallet(config: PageConfig): void {
  type Ask = (kind: string, payload: unknown) => Promise<Answer>;
  const found = (window as unknown as Record<string, Ask | undefined>)[config.binding];
  if (!found) return;
  const ask: Ask = found;
  const hex = (n: number) => `0x${n.toString(16)}`;
  let chainId = config.chainId;
  let connected = false;
  const listeners = new Map<string, Set<(value: unknown) => void>>();
  const emit = (event: string, value: unknown) => {
    for (const fn of listeners.get(event) ?? []) fn(value);
  };
  const rpcError = (code: number, message: string) => Object.assign(new Error(message), { code });
  const same = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

  async function request(args: { method: string; params?: unknown }): Promise<unknown> {
    if (typeof args !== 'object' || args === null || typeof args.method !== 'string') {
      throw rpcError(-32600, 'Invalid request');
    }
    const { method, params } = args;
    await ask('log', { method, params: JSON.parse(JSON.stringify(params ?? null)) });
    const list = Array.isArray(params) ? params : [];
    switch (method) {
      case 'eth_chainId':
        return hex(chainId);
      case 'net_version':
        return String(chainId);
      case 'eth_accounts':
        return connected ? [config.address] : [];
      case 'eth_requestAccounts': {
        const answer = await ask('connect', null);
        if (!answer.ok) throw rpcError(answer.code, answer.message);
        if (!connected) {
          connected = true;
          emit('accountsChanged', [config.address]);
        }
        return [config.address];
      }
      case 'wallet_switchEthereumChain': {
        const wanted = (list[0] as { chainId?: unknown } | undefined)?.chainId;
        if (typeof wanted !== 'string' || !/^0x[0-9a-f]+$/i.test(wanted))
          throw rpcError(-32602, 'Invalid chainId');
        const id = Number.parseInt(wanted, 16);
        if (!config.chains.includes(id)) throw rpcError(4902, `Unrecognized chain ID "${wanted}".`);
        if (id !== chainId) {
          chainId = id;
          emit('chainChanged', hex(id));
        }
        return null;
      }
      case 'eth_signTypedData_v4': {
        if (!connected) throw rpcError(4100, 'The requested account has not been authorized by the user.');
        const [from, data] = list;
        if (!same(from, config.address)) throw rpcError(4100, 'The requested account is not this wallet’s.');
        const text = typeof data === 'string' ? data : JSON.stringify(data);
        let parsed: { domain?: { chainId?: unknown } };
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          throw rpcError(-32602, 'Invalid typed data');
        }
        const domainChain = parsed.domain?.chainId;
        const asNumber =
          typeof domainChain === 'string'
            ? Number(domainChain)
            : typeof domainChain === 'number'
              ? domainChain
              : NaN;
        if (domainChain !== undefined && asNumber !== chainId) {
          throw rpcError(
            -32602,
            `Provided chainId "${String(domainChain)}" must match the active chainId "${chainId}"`,
          );
        }
        const answer = await ask('sign', text);
        if (!answer.ok) throw rpcError(answer.code, answer.message);
        return answer.value;
      }
      case 'eth_call': {
        const answer = await ask('call', list[0] ?? null);
        if (!answer.ok) throw rpcError(answer.code, answer.message);
        return answer.value;
      }
      default:
        throw rpcError(4200, `The wallet does not support ${method}`);
    }
  }

  const provider = Object.freeze({
    isStandinWallet: true,
    request,
    on(event: string, fn: (value: unknown) => void) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)?.add(fn);
      return provider;
    },
    removeListener(event: string, fn: (value: unknown) => void) {
      listeners.get(event)?.delete(fn);
      return provider;
    },
  });
  const detail = Object.freeze({ info: Object.freeze({ ...config.info }), provider });
  const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail }));
  window.addEventListener('eip6963:requestProvider', announce);
  announce();
  if (config.windowEthereum) {
    Object.defineProperty(window, 'ethereum', { value: provider, configurable: true, enumerable: false });
  }
}

/** A `eth_signTypedData_v4` JSON document → viem's typed data, with any `behaviour` change applied. */
function toViemTypedData(doc: unknown, behaviour: EthWalletBehaviour): TypedDataDefinition {
  if (typeof doc !== 'object' || doc === null) throw new Error('not an object');
  const { types, primaryType, domain, message } = doc as {
    types: Record<string, { name: string; type: string }[]>;
    primaryType: string;
    domain: Record<string, unknown>;
    message: Record<string, unknown>;
  };
  if (!types?.[primaryType] || typeof message !== 'object') throw new Error('no primary type');
  const { EIP712Domain: _domainTypes, ...structs } = types;
  const changed = { ...message };
  if (primaryType === 'TransferWithAuthorization') {
    if (behaviour === 'sign-other-to') changed.to = OTHER_PAYEE;
    if (behaviour === 'sign-other-value') changed.value = (BigInt(String(message.value)) + 1n).toString();
  }
  // x402 upto: a Permit2 permit, its payee in the witness and its maximum in `permitted`.
  if (primaryType === 'PermitWitnessTransferFrom') {
    const witness = message.witness as Record<string, unknown>;
    const permitted = message.permitted as Record<string, unknown>;
    if (behaviour === 'sign-other-to') changed.witness = { ...witness, to: OTHER_PAYEE };
    if (behaviour === 'sign-other-value')
      changed.permitted = { ...permitted, amount: (BigInt(String(permitted.amount)) + 1n).toString() };
  }
  return {
    domain: {
      ...domain,
      ...(domain.chainId === undefined ? {} : { chainId: Number(domain.chainId) }),
    },
    types: structs,
    primaryType,
    message: numbersAsBigints(structs, primaryType, changed),
  } as unknown as TypedDataDefinition;
}

/** JSON carries uint256 as decimal strings or numbers; viem wants bigints for integer fields. */
function numbersAsBigints(
  types: Record<string, { name: string; type: string }[]>,
  type: string,
  value: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of types[type] ?? []) {
    const v = value[field.name];
    if (/^u?int\d*$/.test(field.type) && (typeof v === 'string' || typeof v === 'number'))
      out[field.name] = BigInt(v);
    else if (types[field.type] && typeof v === 'object' && v !== null)
      out[field.name] = numbersAsBigints(types, field.type, v as Record<string, unknown>);
    else out[field.name] = v;
  }
  return out;
}
