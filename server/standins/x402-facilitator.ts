/**
 * A stand-in x402 facilitator: the HTTP API a resource server's middleware calls to check and
 * settle payments, with an in-memory USDC ledger in place of a chain. It checks what a real
 * facilitator checks for the `exact` scheme on EVM (EIP-3009 `transferWithAuthorization`) and
 * answers with the same reason strings as @x402/evm's facilitator.
 *
 *   GET  /supported  200 {kinds: [{x402Version, scheme: 'exact', network}], extensions: [], signers}
 *   POST /verify     {x402Version, paymentPayload, paymentRequirements}
 *                    200 {isValid: true, payer} | {isValid: false, invalidReason, payer?}
 *   POST /settle     the same body
 *                    200 {success: true, transaction: 0x<64 hex>, network, payer, amount}
 *                      | {success: false, errorReason, transaction: '', network, payer?}
 *   Malformed bodies: 400 with the same shapes and reason `invalid_payload`.
 *
 * v2 pays exactly the requirement's `amount`; v1 (network names, `maxAmountRequired`) at least
 * it, as @x402/evm's v1 logic does. `upto` (v2 only) takes a Permit2 `PermitWitnessTransferFrom`
 * for at most a maximum, spent through x402's upto proxy, naming this facilitator as the only one
 * that may settle it: /verify wants the permit for exactly the requirement's amount (the
 * maximum), /settle moves the requirement's amount then (what the server settles, at most the
 * maximum; 0 moves nothing). Every funded address counts as having approved Permit2 for USDC
 * (on a chain that is a one-time approval transaction). The signature must recover to `authorization.from` over the
 * token's EIP-712 domain (the requirement's `extra.name`/`version`, the chain id, the asset), `to`
 * must be `payTo`, the window must be open (`validBefore` at least 6 s ahead), the nonce unused
 * by that payer, and the balance enough. A settled nonce is spent; the transfer moves balances.
 *
 * Test controls (HTTP, for e2e; also methods on the handle):
 *   POST /_standin/fund        {address, amount: base units, network?}   adds to a balance
 *   POST /_standin/fail-settle {reason?}  the next settle fails (nothing moves, the nonce stays unused)
 *   GET  /_standin/state       {balances: {<network>: {<address>: amount}}, settlements: […]}
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
// Permit2's types and addresses as the x402 packages define them: the stand-in checks what they sign.
import { PERMIT2_ADDRESS, uptoPermit2WitnessTypes, x402UptoPermit2ProxyAddress } from '@x402/evm';
import { type Address, getAddress, type Hex, isAddress, isHex, verifyTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  X402_ASSETS,
  type X402Asset,
  x402AssetAt,
  x402NetworkOf,
} from '../../src/core/challenge/x402-assets';
import { closer, listen } from '../lib/listen';

/** Shapes of @x402/core's facilitator types, as they travel. */
export interface VerifyAnswer {
  isValid: boolean;
  invalidReason?: string;
  payer?: string;
}
export interface SettleAnswer {
  success: boolean;
  errorReason?: string;
  transaction: string;
  network: string;
  payer?: string;
  amount?: string;
}

export interface Settlement {
  transaction: Hex;
  /** As the request named it (CAIP-2 on v2, a name on v1). */
  network: string;
  from: Address;
  to: Address;
  value: bigint;
  nonce: Hex;
}

export interface FacilitatorStandinOptions {
  port?: number;
  host?: string;
  /** CAIP-2 networks served; default Base Sepolia only. Each must be one Paybound knows. */
  networks?: string[];
  /** Unix ms; for tests that look past an authorization's window. */
  now?: () => number;
}

export interface FacilitatorStandin {
  url: string;
  /** The address the facilitator would settle from (named in /supported's signers). */
  signer: Address;
  fund(address: string, amount: bigint, network?: string): void;
  balanceOf(address: string, network?: string): bigint;
  /** The next settle fails with this reason (default `invalid_exact_evm_transaction_failed`). */
  failNextSettle(reason?: string): void;
  settlements: readonly Settlement[];
  verify(body: unknown): Promise<VerifyAnswer>;
  settle(body: unknown): Promise<SettleAnswer>;
  close(): Promise<void>;
}

/** Refused before validBefore comes within this many seconds, as @x402/evm's facilitator does. */
const VALID_BEFORE_MARGIN_S = 6n;
const UINT256_DIGITS = /^(0|[1-9]\d{0,77})$/;

/** EIP-3009's typed-data types, as a payer's wallet signs them (tests sign with these too). */
export const TRANSFER_WITH_AUTHORIZATION = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Checked {
  version: 1 | 2;
  /** As the request named it. */
  network: string;
  asset: X402Asset;
  from: Address;
  to: Address;
  value: bigint;
  nonce: Hex;
}

type Check =
  | { ok: true; checked: Checked }
  | { ok: false; reason: string; payer?: string; malformed?: boolean };

export async function startX402Facilitator(
  opts: FacilitatorStandinOptions = {},
): Promise<FacilitatorStandin> {
  const now = opts.now ?? Date.now;
  const served = (opts.networks ?? ['eip155:84532']).map((n) => {
    const asset = X402_ASSETS.find((a) => a.network === n);
    if (!asset) throw new Error(`the facilitator stand-in knows no USDC on ${n}`);
    return asset;
  });
  const signer = privateKeyToAccount(generatePrivateKey()).address;
  /** `<network>|<address lower>` → base units. One token per network (USDC). */
  const balances = new Map<string, bigint>();
  /** `<network>|<payer lower>|<nonce lower>`: EIP-3009 nonces are per authorizer. */
  const usedNonces = new Set<string>();
  const settlements: Settlement[] = [];
  let failNext: string | undefined;

  const key = (network: string, address: string) => `${network}|${address.toLowerCase()}`;
  const balanceOf = (address: string, network: string = served[0]!.network) =>
    balances.get(key(network, address)) ?? 0n;
  const fund = (address: string, amount: bigint, network: string = served[0]!.network) => {
    if (!isAddress(address, { strict: false })) throw new Error('not an address');
    if (amount < 0n) throw new Error('negative amount');
    balances.set(key(network, address), balanceOf(address, network) + amount);
  };

  async function checkUpto(
    version: 2,
    payload: Json,
    req: Json,
    inner: Json,
    permit: Json,
    phase: 'verify' | 'settle',
  ): Promise<Check> {
    const malformed = (reason = 'invalid_payload') => ({ ok: false as const, reason, malformed: true });
    const from = permit.from;
    if (typeof from !== 'string' || !isAddress(from, { strict: false })) return malformed();
    const payer = getAddress(from);
    const refuse = (reason: string): Check => ({ ok: false, reason, payer });
    const accepted = payload.accepted;
    if (!isObject(accepted) || accepted.scheme !== 'upto' || req.scheme !== 'upto')
      return refuse('invalid_upto_evm_scheme');
    if (accepted.network !== req.network || typeof req.network !== 'string')
      return refuse('invalid_upto_evm_network_mismatch');
    const caip = x402NetworkOf(req.network);
    if (!caip || caip !== req.network || !served.some((a) => a.network === caip))
      return refuse('invalid_network');
    const asset = typeof req.asset === 'string' ? x402AssetAt(caip, req.asset) : undefined;
    if (!asset) return refuse('asset_not_deployed_contract');
    const permitted = permit.permitted;
    const witness = permit.witness;
    if (!isObject(permitted) || !isObject(witness) || typeof inner.signature !== 'string') return malformed();
    const addresses = [permitted.token, permit.spender, witness.to, witness.facilitator];
    const numbers = [permitted.amount, permit.nonce, permit.deadline, witness.validAfter];
    if (!addresses.every((a) => typeof a === 'string' && isAddress(a, { strict: false }))) return malformed();
    if (!numbers.every((n) => typeof n === 'string' && UINT256_DIGITS.test(n))) return malformed();
    const [token, spender, to, facilitator] = (addresses as string[]).map((a) => getAddress(a)) as [
      Address,
      Address,
      Address,
      Address,
    ];
    const [max, nonce, deadline, validAfter] = (numbers as string[]).map((n) => BigInt(n)) as [
      bigint,
      bigint,
      bigint,
      bigint,
    ];
    if (spender !== getAddress(x402UptoPermit2ProxyAddress)) return refuse('invalid_permit2_spender');
    if (typeof req.payTo !== 'string' || to !== getAddress(req.payTo))
      return refuse('invalid_permit2_recipient_mismatch');
    if (facilitator !== signer) return refuse('upto_facilitator_mismatch');
    const nowS = BigInt(Math.floor(now() / 1000));
    if (deadline < nowS + VALID_BEFORE_MARGIN_S) return refuse('permit2_deadline_expired');
    if (validAfter > nowS) return refuse('permit2_not_yet_valid');
    if (token !== getAddress(asset.address)) return refuse('permit2_token_mismatch');
    const due = typeof req.amount === 'string' && UINT256_DIGITS.test(req.amount) ? BigInt(req.amount) : -1n;
    if (due < 0n) return refuse('permit2_invalid_amount');
    // Verified for the maximum; settled for what the server says the work cost.
    if (phase === 'verify' ? due !== max : due > max)
      return refuse(
        phase === 'verify' ? 'permit2_amount_mismatch' : 'invalid_upto_evm_payload_settlement_exceeds_amount',
      );
    let signed = false;
    try {
      signed = await verifyTypedData({
        address: payer,
        domain: { name: 'Permit2', chainId: asset.chainId, verifyingContract: PERMIT2_ADDRESS },
        types: uptoPermit2WitnessTypes,
        primaryType: 'PermitWitnessTransferFrom',
        message: {
          permitted: { token, amount: max },
          spender,
          nonce,
          deadline,
          witness: { to, facilitator, validAfter },
        },
        signature: inner.signature as Hex,
      });
    } catch {
      signed = false;
    }
    if (!signed) return refuse('invalid_permit2_signature');
    const nonceHex = `0x${nonce.toString(16).padStart(64, '0')}` as Hex;
    if (usedNonces.has(`${caip}|${payer.toLowerCase()}|${nonceHex}`)) return refuse('permit2_invalid_nonce');
    if (balanceOf(payer, caip) < due) return refuse('permit2_insufficient_balance');
    return {
      ok: true,
      checked: { version, network: req.network, asset, from: payer, to, value: due, nonce: nonceHex },
    };
  }

  async function check(body: unknown, phase: 'verify' | 'settle' = 'verify'): Promise<Check> {
    const malformed = (reason = 'invalid_payload') => ({ ok: false as const, reason, malformed: true });
    if (!isObject(body) || !isObject(body.paymentPayload) || !isObject(body.paymentRequirements))
      return malformed();
    const payload = body.paymentPayload;
    const req = body.paymentRequirements;
    const version = payload.x402Version;
    if ((version !== 1 && version !== 2) || body.x402Version !== version)
      return malformed('invalid_x402_version');
    const inner = payload.payload;
    if (version === 2 && isObject(inner) && isObject(inner.permit2Authorization))
      return checkUpto(version, payload, req, inner, inner.permit2Authorization, phase);
    if (!isObject(inner) || !isObject(inner.authorization) || typeof inner.signature !== 'string')
      return malformed();
    const auth = inner.authorization;
    const from = auth.from;
    if (typeof from !== 'string' || !isAddress(from, { strict: false })) return malformed();
    const payer = getAddress(from);
    const refuse = (reason: string): Check => ({ ok: false, reason, payer });

    const accepted = version === 2 ? payload.accepted : payload;
    if (!isObject(accepted)) return malformed();
    if (accepted.scheme !== 'exact' || req.scheme !== 'exact') return refuse('invalid_exact_evm_scheme');
    if (accepted.network !== req.network || typeof req.network !== 'string') {
      return refuse('invalid_exact_evm_network_mismatch');
    }
    const network = req.network;
    // v2 speaks CAIP-2, v1 network names; each version only its own.
    const caip = x402NetworkOf(network);
    if (
      !caip ||
      (version === 2) !== network.startsWith('eip155:') ||
      !served.some((a) => a.network === caip)
    ) {
      return refuse('invalid_network');
    }
    const asset = typeof req.asset === 'string' ? x402AssetAt(caip, req.asset) : undefined;
    if (!asset) return refuse('asset_not_deployed_contract');
    const extra = req.extra;
    if (!isObject(extra) || typeof extra.name !== 'string' || typeof extra.version !== 'string') {
      return refuse('invalid_exact_evm_missing_eip712_domain');
    }
    const numbers = [auth.value, auth.validAfter, auth.validBefore];
    if (!numbers.every((n) => typeof n === 'string' && UINT256_DIGITS.test(n))) {
      return refuse('invalid_exact_evm_authorization_value');
    }
    const [value, validAfter, validBefore] = numbers.map((n) => BigInt(n as string)) as [
      bigint,
      bigint,
      bigint,
    ];
    const to = auth.to;
    const nonce = auth.nonce;
    if (typeof to !== 'string' || !isAddress(to, { strict: false }))
      return refuse('invalid_exact_evm_recipient_mismatch');
    if (typeof nonce !== 'string' || !isHex(nonce) || nonce.length !== 66)
      return refuse('invalid_exact_evm_signature');
    if (!isHex(inner.signature)) return refuse('invalid_exact_evm_failed_to_parse_signature');

    let signed = false;
    try {
      signed = await verifyTypedData({
        address: payer,
        domain: {
          name: extra.name,
          version: extra.version,
          chainId: asset.chainId,
          verifyingContract: getAddress(asset.address),
        },
        types: TRANSFER_WITH_AUTHORIZATION,
        primaryType: 'TransferWithAuthorization',
        message: { from: payer, to: getAddress(to), value, validAfter, validBefore, nonce },
        signature: inner.signature,
      });
    } catch {
      signed = false;
    }
    if (!signed) return refuse('invalid_exact_evm_signature');
    // The token's own domain: a signature over another name or version would not move USDC.
    if (extra.name !== asset.eip712.name) return refuse('invalid_exact_evm_token_name_mismatch');
    if (extra.version !== asset.eip712.version) return refuse('invalid_exact_evm_token_version_mismatch');
    if (typeof req.payTo !== 'string' || getAddress(to) !== getAddress(req.payTo)) {
      return refuse('invalid_exact_evm_recipient_mismatch');
    }
    const nowS = BigInt(Math.floor(now() / 1000));
    if (validBefore < nowS + VALID_BEFORE_MARGIN_S)
      return refuse('invalid_exact_evm_payload_authorization_valid_before');
    if (validAfter > nowS) return refuse('invalid_exact_evm_payload_authorization_valid_after');
    const due = version === 2 ? req.amount : req.maxAmountRequired;
    if (typeof due !== 'string' || !/^[1-9]\d{0,77}$/.test(due))
      return refuse('invalid_exact_evm_authorization_value');
    const fits = version === 2 ? value === BigInt(due) : value >= BigInt(due);
    if (!fits) return refuse('invalid_exact_evm_payload_authorization_value_mismatch');
    if (usedNonces.has(`${caip}|${payer.toLowerCase()}|${nonce.toLowerCase()}`)) {
      return refuse('invalid_exact_evm_nonce_already_used');
    }
    if (balanceOf(payer, caip) < value) return refuse('invalid_exact_evm_insufficient_balance');
    return { ok: true, checked: { version, network, asset, from: payer, to: getAddress(to), value, nonce } };
  }

  async function verify(body: unknown): Promise<VerifyAnswer> {
    const c = await check(body);
    if (c.ok) return { isValid: true, payer: c.checked.from };
    return { isValid: false, invalidReason: c.reason, ...(c.payer ? { payer: c.payer } : {}) };
  }

  async function settle(body: unknown): Promise<SettleAnswer> {
    const c = await check(body, 'settle');
    const network =
      isObject(body) && isObject(body.paymentRequirements) ? body.paymentRequirements.network : undefined;
    const named = typeof network === 'string' ? network : '';
    if (!c.ok) {
      return {
        success: false,
        errorReason: c.reason,
        transaction: '',
        network: named,
        ...(c.payer ? { payer: c.payer } : {}),
      };
    }
    const { asset, from, to, value, nonce } = c.checked;
    if (failNext !== undefined) {
      const reason = failNext;
      failNext = undefined;
      return { success: false, errorReason: reason, transaction: '', network: named, payer: from };
    }
    // The checks above and these moves run without an await between them: no double spend.
    usedNonces.add(`${asset.network}|${from.toLowerCase()}|${nonce.toLowerCase()}`);
    // An upto settled for nothing moves nothing, and has no transaction (as @x402/evm answers).
    if (value === 0n) return { success: true, transaction: '', network: named, payer: from, amount: '0' };
    balances.set(key(asset.network, from), balanceOf(from, asset.network) - value);
    balances.set(key(asset.network, to), balanceOf(to, asset.network) + value);
    const transaction = `0x${randomBytes(32).toString('hex')}` as Hex;
    settlements.push({ transaction, network: named, from, to, value, nonce });
    return { success: true, transaction, network: named, payer: from, amount: value.toString() };
  }

  function supported() {
    return {
      kinds: served.flatMap((a) => [
        { x402Version: 2, scheme: 'exact', network: a.network },
        // The upto server scheme names this address in its requirements: only it may settle.
        { x402Version: 2, scheme: 'upto', network: a.network, extra: { facilitatorAddress: signer } },
        { x402Version: 1, scheme: 'exact', network: a.v1Network },
      ]),
      extensions: [],
      signers: { 'eip155:*': [signer] },
    };
  }

  function state() {
    const out: Record<string, Record<string, string>> = {};
    for (const [k, v] of balances) {
      const [network, address] = k.split('|') as [string, string];
      out[network] ??= {};
      out[network][address] = v.toString();
    }
    return {
      balances: out,
      settlements: settlements.map((s) => ({ ...s, value: s.value.toString() })),
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/supported') return send(res, 200, supported());
    if (method === 'GET' && path === '/_standin/state') return send(res, 200, state());
    if (method !== 'POST') return send(res, 404, { error: `no route for ${method} ${path}` });
    const body = await readBody(req);
    if (path === '/verify') {
      const c = await verify(body);
      return send(res, c.invalidReason === 'invalid_payload' ? 400 : 200, c);
    }
    if (path === '/settle') {
      const s = await settle(body);
      return send(res, s.errorReason === 'invalid_payload' ? 400 : 200, s);
    }
    if (path === '/_standin/fund') {
      if (!isObject(body) || typeof body.address !== 'string' || typeof body.amount !== 'string') {
        return send(res, 400, { error: 'expected {address, amount}' });
      }
      if (!isAddress(body.address, { strict: false }) || !/^\d{1,30}$/.test(body.amount)) {
        return send(res, 400, { error: 'expected an address and a whole amount of base units' });
      }
      const network = typeof body.network === 'string' ? body.network : undefined;
      if (network !== undefined && !served.some((a) => a.network === network)) {
        return send(res, 400, { error: `not served: ${network}` });
      }
      fund(body.address, BigInt(body.amount), network);
      return send(res, 200, { balance: balanceOf(body.address, network).toString() });
    }
    if (path === '/_standin/fail-settle') {
      const reason = isObject(body) && typeof body.reason === 'string' ? body.reason : undefined;
      handle_.failNextSettle(reason);
      return send(res, 200, { ok: true });
    }
    send(res, 404, { error: `no route for ${path}` });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  const url = await listen(server, opts.port, opts.host);
  const handle_: FacilitatorStandin = {
    url,
    signer,
    fund,
    balanceOf,
    failNextSettle(reason = 'invalid_exact_evm_transaction_failed') {
      failNext = reason;
    },
    settlements,
    verify,
    settle,
    close: closer(server),
  };
  return handle_;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
