/**
 * An x402 `exact` payment on EVM: the EIP-3009 `TransferWithAuthorization` Paybound builds from an
 * accepted requirement, the EIP-712 document a wallet signs (`eth_signTypedData_v4`), the check
 * that a returned signature is the payer's over exactly that document, the retry header, and the
 * settlement a server answers with. Pure: the digest and the recovery are computed here, not asked
 * of the page, whose wallet may lie.
 *
 *   v2 retry  PAYMENT-SIGNATURE: base64 {x402Version: 2, resource, accepted: <requirement as sent>,
 *                                        payload: {signature, authorization}}
 *   v1 retry  X-PAYMENT:         base64 {x402Version: 1, scheme, network: <name>, payload: {…}}
 *   answer    PAYMENT-RESPONSE (v2) / X-PAYMENT-RESPONSE (v1): base64 {success, transaction,
 *             network, payer?, amount?, errorReason?}
 */

import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import type { X402Challenge, X402Requirement } from '../challenge/x402';
import { checksumAddress, isAddress } from '../challenge/x402';
import type { EvmAddress } from '../challenge/x402-assets';
import { stripPadding } from '../text/base64';
import type { RetryCredential } from './retry-credential';

export type Hex = `0x${string}`;

/** EIP-3009's message, numbers as decimal strings (as x402 carries them). */
export interface TransferAuthorization {
  from: EvmAddress;
  to: EvmAddress;
  value: string;
  validAfter: string;
  validBefore: string;
  /** 32 random bytes. */
  nonce: Hex;
}

export class X402AuthorizationError extends Error {
  constructor(
    readonly reason:
      | 'not-exact'
      | 'bad-payer'
      | 'bad-nonce'
      | 'bad-signature'
      | 'wrong-signer'
      | 'bad-response',
    message: string,
  ) {
    super(message);
    this.name = 'X402AuthorizationError';
  }
}

/** How far back `validAfter` reaches, for payers whose clock runs ahead of the chain's (as @x402/evm). */
export const VALID_AFTER_SLACK_S = 600;
/** The longest a signed authorization stays usable, whatever the server allows. */
export const MAX_AUTHORIZATION_LIFETIME_S = 300;

/**
 * The authorization for one accepted `exact` requirement: exactly its amount, to its payee, valid
 * from a little before now until the shorter of its timeout and five minutes.
 */
export function buildAuthorization(
  req: X402Requirement,
  from: string,
  opts: { nowS: number; nonce: Uint8Array },
): TransferAuthorization {
  if (req.scheme !== 'exact') {
    throw new X402AuthorizationError('not-exact', `the ${req.scheme} scheme is not paid with EIP-3009`);
  }
  if (!isAddress(from)) throw new X402AuthorizationError('bad-payer', 'the payer is not an EVM address');
  if (opts.nonce.length !== 32) throw new X402AuthorizationError('bad-nonce', 'the nonce must be 32 bytes');
  const nowS = Math.floor(opts.nowS);
  const lifetime = Math.min(req.maxTimeoutSeconds, MAX_AUTHORIZATION_LIFETIME_S);
  return {
    from: checksumAddress(from),
    to: checksumAddress(req.payTo),
    value: req.amount.toString(),
    validAfter: String(Math.max(0, nowS - VALID_AFTER_SLACK_S)),
    validBefore: String(nowS + lifetime),
    nonce: `0x${bytesToHex(opts.nonce)}`,
  };
}

const DOMAIN_FIELDS = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
] as const;
const AUTHORIZATION_FIELDS = [
  { name: 'from', type: 'address' },
  { name: 'to', type: 'address' },
  { name: 'value', type: 'uint256' },
  { name: 'validAfter', type: 'uint256' },
  { name: 'validBefore', type: 'uint256' },
  { name: 'nonce', type: 'bytes32' },
] as const;

/** The `eth_signTypedData_v4` document: the token's own domain, on the requirement's chain. */
export function authorizationTypedData(req: X402Requirement, auth: TransferAuthorization) {
  return {
    types: { EIP712Domain: DOMAIN_FIELDS, TransferWithAuthorization: AUTHORIZATION_FIELDS },
    primaryType: 'TransferWithAuthorization' as const,
    domain: {
      name: req.asset.eip712.name,
      version: req.asset.eip712.version,
      chainId: req.asset.chainId,
      verifyingContract: req.asset.address,
    },
    message: { ...auth },
  };
}

const utf8 = new TextEncoder();
/** EIP-712's building blocks, shared with the Permit2 document (x402-permit2.ts). */
export const keccak = (...parts: Uint8Array[]) => keccak_256(concat(parts));
export const typeHash = (text: string) => keccak_256(utf8.encode(text));
const DOMAIN_TYPEHASH = typeHash(
  'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)',
);
const AUTHORIZATION_TYPEHASH = typeHash(
  'TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)',
);

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function word(value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 256n) throw new RangeError('not a uint256');
  return hexToBytes(value.toString(16).padStart(64, '0'));
}
export const addressWord = (a: string) => word(BigInt(a));

/** The EIP-712 digest the payer's key signs. */
export function authorizationDigest(req: X402Requirement, auth: TransferAuthorization): Uint8Array {
  const domain = keccak(
    DOMAIN_TYPEHASH,
    typeHash(req.asset.eip712.name),
    typeHash(req.asset.eip712.version),
    word(BigInt(req.asset.chainId)),
    addressWord(req.asset.address),
  );
  const nonce = hexToBytes(auth.nonce.slice(2));
  if (nonce.length !== 32) throw new X402AuthorizationError('bad-nonce', 'the nonce must be 32 bytes');
  const struct = keccak(
    AUTHORIZATION_TYPEHASH,
    addressWord(auth.from),
    addressWord(auth.to),
    word(BigInt(auth.value)),
    word(BigInt(auth.validAfter)),
    word(BigInt(auth.validBefore)),
    nonce,
  );
  return keccak(new Uint8Array([0x19, 0x01]), domain, struct);
}

/**
 * Who signed the digest: a 65-byte r‖s‖v signature (v 27/28, or 0/1 as some wallets write it),
 * low-S as the token contracts require. Contract-wallet signatures (EIP-1271, EIP-6492) are longer
 * and cannot be recovered: refused.
 */
export function recoverSigner(digest: Uint8Array, signature: string): EvmAddress {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    throw new X402AuthorizationError('bad-signature', 'the signature is not 65 bytes of hex');
  }
  const bytes = hexToBytes(signature.slice(2));
  const v = bytes[64] ?? 0;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1)
    throw new X402AuthorizationError('bad-signature', 'the signature has a bad v');
  try {
    const sig = secp256k1.Signature.fromBytes(bytes.subarray(0, 64), 'compact');
    if (sig.hasHighS()) throw new Error('high s');
    const point = sig.addRecoveryBit(recovery).recoverPublicKey(digest);
    const hash = keccak_256(point.toBytes(false).subarray(1));
    return checksumAddress(`0x${bytesToHex(hash.subarray(12))}`);
  } catch {
    throw new X402AuthorizationError('bad-signature', 'the signature does not recover to a key');
  }
}

/**
 * The wallet's signature must be the payer's, over exactly this authorization. Throws
 * X402AuthorizationError('wrong-signer') otherwise: a wallet that signed another payee or
 * amount recovers to some other address.
 */
export function checkAuthorizationSignature(
  req: X402Requirement,
  auth: TransferAuthorization,
  signature: string,
): void {
  const signer = recoverSigner(authorizationDigest(req, auth), signature);
  if (signer.toLowerCase() !== auth.from.toLowerCase()) {
    throw new X402AuthorizationError(
      'wrong-signer',
      'the signature is not the payer’s over this authorization',
    );
  }
}

const encodeJson = (value: unknown) => base64.encode(utf8.encode(JSON.stringify(value)));

/** The retry's credential: the header the challenge's version names, carrying the signed payment. */
export function paymentCredential(
  challenge: Pick<X402Challenge, 'version' | 'resource'>,
  req: X402Requirement,
  auth: TransferAuthorization | { permit2Authorization: unknown },
  signature: Hex,
): RetryCredential {
  // `exact` carries the EIP-3009 authorization; `upto` its Permit2 permit (v2 only).
  const payload =
    'permit2Authorization' in auth
      ? { signature, permit2Authorization: auth.permit2Authorization }
      : { signature, authorization: auth };
  if (challenge.version === 2) {
    return {
      header: 'PAYMENT-SIGNATURE',
      value: encodeJson({ x402Version: 2, resource: challenge.resource, accepted: req.raw, payload }),
    };
  }
  return {
    header: 'X-PAYMENT',
    value: encodeJson({ x402Version: 1, scheme: req.scheme, network: req.raw.network, payload }),
  };
}

export interface X402Settlement {
  success: boolean;
  /** 0x + 64 hex on success; empty when the server says it failed. */
  transaction: string;
  network: string;
  payer?: EvmAddress;
  /** Base units actually settled, when the server says (`upto`). */
  amount?: bigint;
  /** The server's reason code, when it failed (its words, cut short). */
  errorReason?: string;
}

/** `PAYMENT-RESPONSE` / `X-PAYMENT-RESPONSE` → the settlement; throws X402AuthorizationError('bad-response'). */
export function readSettlement(value: string): X402Settlement {
  const bad = (why: string): never => {
    throw new X402AuthorizationError('bad-response', `the payment response ${why}`);
  };
  const text = value.trim();
  if (text.length === 0 || text.length > 8192) bad('is empty or too long');
  const bare = stripPadding(text);
  if (!/^[A-Za-z0-9+/]+$/.test(bare) || bare.length % 4 === 1 || text.length - bare.length > 2)
    bad('is not base64');
  let parsed: unknown;
  try {
    const bytes = base64.decode(bare.padEnd(bare.length + ((4 - (bare.length % 4)) % 4), '='));
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return bad('is not base64 JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return bad('is not a JSON object');
  const r = parsed as Record<string, unknown>;
  if (typeof r.success !== 'boolean') bad('has no success flag');
  if (typeof r.network !== 'string' || r.network.length > 64) bad('names no network');
  const transaction = typeof r.transaction === 'string' ? r.transaction : '';
  // An upto settled for nothing has no transaction; anything else settled has one.
  if (r.success === true && r.amount !== '0' && !/^0x[0-9a-fA-F]{64}$/.test(transaction))
    bad('has no transaction hash');
  if (r.payer !== undefined && (typeof r.payer !== 'string' || !isAddress(r.payer)))
    bad('names a payer that is not an address');
  if (r.amount !== undefined && (typeof r.amount !== 'string' || !/^(0|[1-9]\d{0,29})$/.test(r.amount))) {
    bad('has an amount that is not a whole number');
  }
  return {
    success: r.success as boolean,
    transaction: r.success === true ? transaction.toLowerCase() : '',
    network: r.network as string,
    ...(typeof r.payer === 'string' ? { payer: checksumAddress(r.payer) } : {}),
    ...(typeof r.amount === 'string' ? { amount: BigInt(r.amount) } : {}),
    ...(typeof r.errorReason === 'string' ? { errorReason: r.errorReason.slice(0, 120) } : {}),
  };
}
