/**
 * An x402 `upto` payment on EVM: a Permit2 `PermitWitnessTransferFrom` that lets x402's upto proxy
 * move at most the requirement's amount of the token to its payee, only through the facilitator
 * the server named, until a deadline. The app settles what the work actually cost (at most that),
 * and says so in its payment response. Pure, like x402-authorization.ts: the digest and the
 * signer are computed here, never taken from the page.
 *
 *   v2 payload  {signature, permit2Authorization: {from, permitted: {token, amount}, spender,
 *               nonce, deadline, witness: {to, facilitator, validAfter}}}
 *
 * The token must already be approved for Permit2 (a one-time approval the wallet makes); without
 * it the facilitator refuses, and nothing moves. So the allowance is read first (`eth_call` through
 * the page's wallet) and a permit is not asked for when it is too small.
 */

import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { X402Requirement } from '../challenge/x402';
import { checksumAddress, isAddress } from '../challenge/x402';
import type { EvmAddress } from '../challenge/x402-assets';
import {
  addressWord,
  concat,
  keccak,
  recoverSigner,
  typeHash,
  word,
  X402AuthorizationError,
} from './x402-authorization';

/** The canonical Permit2 contract (the same address on every chain). */
export const PERMIT2_ADDRESS: EvmAddress = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
/** x402's upto proxy: the only spender an upto permit names. */
export const X402_UPTO_PROXY: EvmAddress = '0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002';

/** ERC-20 `allowance(address owner, address spender)`. */
const ALLOWANCE_SELECTOR = 'dd62ed3e';

/** The `eth_call` that reads how much of the requirement's token Permit2 may move for `owner`. */
export function permit2AllowanceCall(
  req: X402Requirement,
  owner: EvmAddress,
): { to: EvmAddress; data: string } {
  const args = bytesToHex(concat([addressWord(owner), addressWord(PERMIT2_ADDRESS)]));
  return { to: req.asset.address, data: `0x${ALLOWANCE_SELECTOR}${args}` };
}

/** The uint256 an `eth_call` returned (exactly one 32-byte word), or undefined for anything else. */
export function readUint256Word(answer: unknown): bigint | undefined {
  return typeof answer === 'string' && /^0x[0-9a-fA-F]{64}$/.test(answer) ? BigInt(answer) : undefined;
}

/** The permit, numbers as decimal strings (as x402 carries them). */
export interface UptoPermit {
  from: EvmAddress;
  permitted: { token: EvmAddress; amount: string };
  spender: EvmAddress;
  nonce: string;
  deadline: string;
  witness: { to: EvmAddress; facilitator: EvmAddress; validAfter: string };
}

/** The longest an upto permit stays usable, whatever the server allows (as for `exact`). */
export const MAX_PERMIT_LIFETIME_S = 300;

/** The permit for one accepted `upto` requirement: at most its amount, to its payee, through its facilitator. */
export function buildUptoPermit(
  req: X402Requirement,
  from: string,
  opts: { nowS: number; nonce: Uint8Array },
): UptoPermit {
  if (req.scheme !== 'upto' || !req.facilitator) {
    throw new X402AuthorizationError(
      'not-exact',
      'only an upto requirement naming its facilitator is paid with Permit2',
    );
  }
  if (!isAddress(from)) throw new X402AuthorizationError('bad-payer', 'the payer is not an EVM address');
  if (opts.nonce.length !== 32) throw new X402AuthorizationError('bad-nonce', 'the nonce must be 32 bytes');
  const nowS = Math.floor(opts.nowS);
  return {
    from: checksumAddress(from),
    permitted: { token: req.asset.address, amount: req.amount.toString() },
    spender: X402_UPTO_PROXY,
    nonce: BigInt(`0x${bytesToHex(opts.nonce)}`).toString(),
    deadline: String(nowS + Math.min(req.maxTimeoutSeconds, MAX_PERMIT_LIFETIME_S)),
    witness: {
      to: checksumAddress(req.payTo),
      facilitator: checksumAddress(req.facilitator),
      validAfter: '0',
    },
  };
}

/** Permit2's witness transfer as x402's upto scheme has it signed (tested equal to @x402/evm's). */
const UPTO_PERMIT2_TYPES = {
  PermitWitnessTransferFrom: [
    { name: 'permitted', type: 'TokenPermissions' },
    { name: 'spender', type: 'address' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
    { name: 'witness', type: 'Witness' },
  ],
  TokenPermissions: [
    { name: 'token', type: 'address' },
    { name: 'amount', type: 'uint256' },
  ],
  Witness: [
    { name: 'to', type: 'address' },
    { name: 'facilitator', type: 'address' },
    { name: 'validAfter', type: 'uint256' },
  ],
} as const;

/** The `eth_signTypedData_v4` document: Permit2's domain (it has no version) on the requirement's chain. */
export function uptoTypedData(req: X402Requirement, permit: UptoPermit) {
  const { from: _from, ...message } = permit;
  return {
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
      ...UPTO_PERMIT2_TYPES,
    },
    primaryType: 'PermitWitnessTransferFrom' as const,
    domain: { name: 'Permit2', chainId: req.asset.chainId, verifyingContract: PERMIT2_ADDRESS },
    message,
  };
}

const DOMAIN_TYPEHASH = typeHash('EIP712Domain(string name,uint256 chainId,address verifyingContract)');
const TOKEN_PERMISSIONS = 'TokenPermissions(address token,uint256 amount)';
const WITNESS = 'Witness(address to,address facilitator,uint256 validAfter)';
// EIP-712: the primary type, then the types it references, sorted by name.
const PERMIT_TYPEHASH = typeHash(
  `PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,Witness witness)${TOKEN_PERMISSIONS}${WITNESS}`,
);

/** The EIP-712 digest the payer's key signs. */
export function uptoDigest(req: X402Requirement, permit: UptoPermit): Uint8Array {
  const domain = keccak(
    DOMAIN_TYPEHASH,
    keccak_256(new TextEncoder().encode('Permit2')),
    word(BigInt(req.asset.chainId)),
    addressWord(PERMIT2_ADDRESS),
  );
  const permitted = keccak(
    typeHash(TOKEN_PERMISSIONS),
    addressWord(permit.permitted.token),
    word(BigInt(permit.permitted.amount)),
  );
  const witness = keccak(
    typeHash(WITNESS),
    addressWord(permit.witness.to),
    addressWord(permit.witness.facilitator),
    word(BigInt(permit.witness.validAfter)),
  );
  const struct = keccak(
    PERMIT_TYPEHASH,
    permitted,
    addressWord(permit.spender),
    word(BigInt(permit.nonce)),
    word(BigInt(permit.deadline)),
    witness,
  );
  return keccak_256(concat([new Uint8Array([0x19, 0x01]), domain, struct]));
}

/** The signature must be the payer's over exactly this permit; X402AuthorizationError('wrong-signer') otherwise. */
export function checkUptoSignature(req: X402Requirement, permit: UptoPermit, signature: string): void {
  const signer = recoverSigner(uptoDigest(req, permit), signature);
  if (signer.toLowerCase() !== permit.from.toLowerCase()) {
    throw new X402AuthorizationError('wrong-signer', 'the signature is not the payer’s over this permit');
  }
}
