/**
 * x402 payment requirements, read strictly.
 *
 * v2: the 402 carries `PAYMENT-REQUIRED: <base64 JSON>` =
 *   {x402Version: 2, error?, resource: {url, description?, mimeType?}, accepts: [requirement…], extensions?}
 *   requirement = {scheme, network: CAIP-2, amount: base units, asset, payTo, maxTimeoutSeconds, extra?}
 *   The client retries with `PAYMENT-SIGNATURE`, echoing the requirement it accepted.
 * v1: the 402's JSON body = {x402Version: 1, error?, accepts: [requirement…]} with
 *   requirement = {scheme, network: name, maxAmountRequired, resource, description, mimeType,
 *   outputSchema?, payTo, maxTimeoutSeconds, asset, extra?}; the retry carries `X-PAYMENT`.
 *
 * A server may offer several ways to pay (other chains, other tokens). Each requirement is judged
 * alone: the usable ones are kept in the server's order, the others listed with the reason, and
 * the challenge is refused only when none is usable. The challenge itself (version, resource,
 * the list) must be well formed.
 */

import { keccak_256 } from '@noble/hashes/sha3.js';
import { base64 } from '@scure/base';
import { stripPadding } from '../text/base64';
import { type EvmAddress, type X402Asset, x402AssetAt, x402NetworkOf } from './x402-assets';

export type X402Version = 1 | 2;
export type X402Scheme = 'exact' | 'upto';

/** Why a challenge or one of its requirements cannot be paid. */
export type X402Refusal =
  | 'too-long'
  | 'not-base64'
  | 'not-json'
  | 'unknown-version'
  | 'bad-resource'
  | 'no-accepts'
  | 'missing-field'
  | 'bad-amount'
  | 'unknown-scheme'
  | 'unknown-network'
  | 'unknown-asset'
  | 'bad-address'
  | 'bad-timeout'
  | 'domain-mismatch'
  | 'nothing-payable';

export class X402ChallengeError extends Error {
  constructor(
    readonly reason: X402Refusal,
    message: string,
  ) {
    super(message);
    this.name = 'X402ChallengeError';
  }
}

export interface X402Resource {
  url: string;
  /** The app's own words, cut to a readable length. */
  description?: string;
  mimeType?: string;
}

export interface X402Requirement {
  /** Its place in the server's `accepts`. */
  index: number;
  scheme: X402Scheme;
  /** The known token it is paid in (network, chain id, decimals, EIP-712 domain). */
  asset: X402Asset;
  /** Base units of the token: exactly what `exact` pays, the most `upto` may settle. */
  amount: bigint;
  /** The payee, as the server wrote it (compare case-insensitively). */
  payTo: EvmAddress;
  maxTimeoutSeconds: number;
  /** `upto`: the facilitator the server named (`extra.facilitatorAddress`), the only one a permit lets settle. */
  facilitator?: EvmAddress;
  /** v1 names the resource per requirement; v2 once for the challenge. */
  resource: X402Resource;
  /** The requirement object exactly as sent: v2's payment echoes it as `accepted`. */
  raw: Readonly<Record<string, unknown>>;
}

export interface X402Challenge {
  version: X402Version;
  /** The challenge's resource (v2), or the first usable requirement's (v1). */
  resource: X402Resource;
  /** The server's own explanation, when it gave one (the app's words). */
  error?: string;
  /** Payable requirements, in the server's order of preference. */
  accepts: X402Requirement[];
  /** The requirements that were not usable, and why. */
  refused: { index: number; reason: X402Refusal; message: string }[];
}

/** Longest `PAYMENT-REQUIRED` header read (base64 characters); real ones are well under 4 KB. */
export const MAX_HEADER_CHARS = 16 * 1024;
/** Longest v1 body read (characters). */
export const MAX_BODY_CHARS = 64 * 1024;
/** Most requirements read from one challenge. */
export const MAX_ACCEPTS = 20;
/** An amount has at most this many digits (10^30 base units is far beyond any charge). */
const MAX_AMOUNT_DIGITS = 30;
/** A server's text is cut to this many characters. */
const MAX_TEXT = 500;
const MAX_URL = 2048;
/** A day: longer windows are not plausible for one request. */
const MAX_TIMEOUT_SECONDS = 86_400;
const SCHEMES: readonly string[] = ['exact', 'upto'];

const fail = (reason: X402Refusal, message: string): never => {
  throw new X402ChallengeError(reason, message);
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const cut = (s: string, max = MAX_TEXT) => (s.length > max ? s.slice(0, max) : s);

/** `PAYMENT-REQUIRED` (x402 v2) → the challenge; throws X402ChallengeError with the reason. */
export function readX402Header(value: string): X402Challenge {
  const text = value.trim();
  if (text.length > MAX_HEADER_CHARS) fail('too-long', 'the PAYMENT-REQUIRED header is too long');
  const bare = stripPadding(text);
  if (bare.length === 0 || !/^[A-Za-z0-9+/]+$/.test(bare) || bare.length % 4 === 1) {
    fail('not-base64', 'the PAYMENT-REQUIRED header is not base64');
  }
  const padding = text.length - bare.length;
  if (padding > 2 || (padding > 0 && text.length % 4 !== 0)) {
    fail('not-base64', 'the PAYMENT-REQUIRED header is not base64');
  }
  let bytes: Uint8Array;
  try {
    bytes = base64.decode(bare.padEnd(bare.length + ((4 - (bare.length % 4)) % 4), '='));
  } catch {
    return fail('not-base64', 'the PAYMENT-REQUIRED header is not base64');
  }
  const parsed = parseJson(bytes, 'the PAYMENT-REQUIRED header');
  if (parsed.x402Version !== 2) {
    fail(
      'unknown-version',
      `the PAYMENT-REQUIRED header has x402Version ${describe(parsed.x402Version)}, not 2`,
    );
  }
  const resource = readResource(parsed.resource);
  return collect(2, parsed, resource, (r, i) => readRequirementV2(r, i, resource));
}

/** A 402's JSON body (x402 v1) → the challenge; throws X402ChallengeError with the reason. */
export function readX402Body(body: string): X402Challenge {
  if (body.length > MAX_BODY_CHARS) fail('too-long', 'the payment request in the body is too long');
  const parsed = parseJson(new TextEncoder().encode(body), 'the body');
  if (parsed.x402Version !== 1) {
    fail('unknown-version', `the body has x402Version ${describe(parsed.x402Version)}, not 1`);
  }
  const challenge = collect(1, parsed, { url: '' }, readRequirementV1);
  return { ...challenge, resource: challenge.accepts[0]?.resource ?? challenge.resource };
}

/**
 * What a 402 asks in x402, when it asks at all: v2's header when there is one (a server that sends
 * both means v2; a broken v2 header is refused, not replaced by the body), else a v1 body that
 * says `x402Version`. `undefined` when the response is not x402.
 */
export function readX402(response: {
  headers: ReadonlyArray<readonly [string, string]>;
  body?: string;
}): X402Challenge | undefined {
  const header = response.headers.find(([name]) => name.toLowerCase() === 'payment-required');
  if (header) return readX402Header(header[1]);
  if (response.body === undefined || !/"x402Version"/.test(response.body.slice(0, MAX_BODY_CHARS))) {
    return undefined;
  }
  return readX402Body(response.body);
}

/**
 * One requirement as stored with a payment (`raw`, as the server sent it), read again with the
 * same checks: the payment is built from this, never from what was stored of it otherwise.
 */
export function readAccepted(
  version: X402Version,
  raw: Readonly<Record<string, unknown>>,
  resource: X402Resource,
): X402Requirement {
  return version === 2 ? readRequirementV2(raw, 0, resource) : readRequirementV1(raw, 0);
}

function parseJson(bytes: Uint8Array, what: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return fail('not-json', `${what} is not JSON`);
  }
  if (!isObject(parsed)) fail('not-json', `${what} is not a JSON object`);
  return parsed as Json;
}

function describe(v: unknown): string {
  return v === undefined ? 'missing' : cut(JSON.stringify(v) ?? String(v), 40);
}

function readResource(v: unknown): X402Resource {
  if (!isObject(v)) return fail('bad-resource', 'the challenge names no resource');
  if (typeof v.url !== 'string' || v.url.length === 0 || v.url.length > MAX_URL) {
    fail('bad-resource', 'the resource has no URL');
  }
  return {
    url: v.url as string,
    ...optionalText(v, 'description'),
    ...optionalText(v, 'mimeType'),
  };
}

function optionalText(v: Json, key: 'description' | 'mimeType'): Partial<X402Resource> {
  const value = v[key];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'string') fail('missing-field', `${key} is not text`);
  return (value as string) === '' ? {} : { [key]: cut(value as string) };
}

function collect(
  version: X402Version,
  parsed: Json,
  resource: X402Resource,
  read: (r: unknown, index: number) => X402Requirement,
): X402Challenge {
  const list = parsed.accepts;
  if (!Array.isArray(list) || list.length === 0) fail('no-accepts', 'the challenge offers no way to pay');
  const offered = list as unknown[];
  if (offered.length > MAX_ACCEPTS) fail('too-long', 'the challenge offers too many ways to pay');
  const accepts: X402Requirement[] = [];
  const refused: X402Challenge['refused'] = [];
  offered.forEach((r, index) => {
    try {
      accepts.push(read(r, index));
    } catch (e) {
      if (!(e instanceof X402ChallengeError)) throw e;
      refused.push({ index, reason: e.reason, message: e.message });
    }
  });
  if (accepts.length === 0) {
    const why = refused.map((r) => r.message).join('; ');
    const only = refused.length === 1 ? refused[0] : undefined;
    // One way to pay, refused: its own reason says most; several: none of them is payable.
    throw new X402ChallengeError(only ? only.reason : 'nothing-payable', `no payable requirement: ${why}`);
  }
  const error = typeof parsed.error === 'string' && parsed.error !== '' ? { error: cut(parsed.error) } : {};
  return { version, resource, ...error, accepts, refused };
}

function readRequirementV2(r: unknown, index: number, resource: X402Resource): X402Requirement {
  if (!isObject(r)) return fail('missing-field', `requirement ${index} is not an object`);
  const network = requireText(r, 'network');
  if (!/^eip155:[1-9]\d{0,15}$/.test(network) || x402NetworkOf(network) !== network) {
    fail('unknown-network', `unknown network ${cut(network, 40)}`);
  }
  return readCommon(r, index, network, requireText(r, 'amount'), resource);
}

function readRequirementV1(r: unknown, index: number): X402Requirement {
  if (!isObject(r)) return fail('missing-field', `requirement ${index} is not an object`);
  const name = requireText(r, 'network');
  const network = x402NetworkOf(name);
  // v1 names networks; a CAIP-2 id there is a v2 requirement in a v1 body.
  if (!network || name.includes(':')) return fail('unknown-network', `unknown network ${cut(name, 40)}`);
  const url = requireText(r, 'resource');
  if (url.length === 0 || url.length > MAX_URL) fail('bad-resource', 'the requirement has no resource URL');
  // Required in v1, though a server may leave them empty.
  requireText(r, 'description');
  requireText(r, 'mimeType');
  const resource: X402Resource = { url, ...optionalText(r, 'description'), ...optionalText(r, 'mimeType') };
  return readCommon(r, index, network, requireText(r, 'maxAmountRequired'), resource);
}

function readCommon(
  r: Json,
  index: number,
  network: string,
  amountText: string,
  resource: X402Resource,
): X402Requirement {
  const scheme = requireText(r, 'scheme');
  if (!SCHEMES.includes(scheme)) fail('unknown-scheme', `unknown scheme ${cut(scheme, 40)}`);
  const amount = readAmount(amountText);
  const assetText = requireText(r, 'asset');
  if (!isAddress(assetText)) fail('bad-address', 'the asset is not an EVM address');
  const asset = x402AssetAt(network, assetText);
  if (!asset) return fail('unknown-asset', `Paybound does not know the token ${assetText} on ${network}`);
  const payTo = requireText(r, 'payTo');
  if (!isAddress(payTo)) fail('bad-address', 'the payee is not an EVM address');
  if (/^0x0{40}$/.test(payTo)) fail('bad-address', 'the payee is the zero address');
  if (payTo.toLowerCase() === asset.address.toLowerCase())
    fail('bad-address', 'the payee is the token contract');
  const timeout = r.maxTimeoutSeconds;
  if (
    typeof timeout !== 'number' ||
    !Number.isInteger(timeout) ||
    timeout < 1 ||
    timeout > MAX_TIMEOUT_SECONDS
  ) {
    fail('bad-timeout', 'maxTimeoutSeconds is not a whole number of seconds between 1 and 86400');
  }
  checkDomain(r.extra, asset);
  const facilitator = scheme === 'upto' ? uptoFacilitator(r.extra) : undefined;
  return {
    index,
    ...(facilitator ? { facilitator } : {}),
    scheme: scheme as X402Scheme,
    asset,
    amount,
    payTo: payTo as EvmAddress,
    maxTimeoutSeconds: timeout as number,
    resource,
    raw: r,
  };
}

/** An upto requirement names its facilitator: a permit can be settled by that address only. */
function uptoFacilitator(extra: unknown): EvmAddress {
  const v = isObject(extra) ? extra.facilitatorAddress : undefined;
  if (typeof v !== 'string' || !isAddress(v) || /^0x0{40}$/.test(v)) {
    return fail('missing-field', 'an upto requirement must name its facilitator (extra.facilitatorAddress)');
  }
  return v;
}

function requireText(r: Json, key: string): string {
  const v = r[key];
  if (typeof v !== 'string') return fail('missing-field', `the requirement has no ${key}`);
  return v;
}

/** A positive integer in decimal: no sign, no leading zero, no exponent, bounded length. */
function readAmount(text: string): bigint {
  if (!new RegExp(`^[1-9]\\d{0,${MAX_AMOUNT_DIGITS - 1}}$`).test(text)) {
    fail('bad-amount', `the amount ${cut(text, 40)} is not a positive whole number of base units`);
  }
  return BigInt(text);
}

/** The server's EIP-712 domain, when it states one, must be the token's own. */
function checkDomain(extra: unknown, asset: X402Asset): void {
  if (extra === undefined || extra === null) return;
  if (!isObject(extra)) {
    fail('missing-field', 'extra is not an object');
    return;
  }
  for (const key of ['name', 'version'] as const) {
    const v = extra[key];
    if (v === undefined) continue;
    if (v !== asset.eip712[key]) {
      fail('domain-mismatch', `extra.${key} ${describe(v)} is not the token's (${asset.eip712[key]})`);
    }
  }
}

/**
 * 0x + 40 hex digits. All-lowercase and all-uppercase are accepted as they are; mixed case must be a
 * valid EIP-55 checksum (a mistyped address is refused, not paid).
 */
export function isAddress(text: string): text is EvmAddress {
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) return false;
  const body = text.slice(2);
  if (body === body.toLowerCase() || body === body.toUpperCase()) return true;
  return checksumAddress(text) === text;
}

/** The EIP-55 spelling of an address. */
export function checksumAddress(text: string): EvmAddress {
  const lower = text.slice(2).toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(lower));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const nibble = ((hash[i >> 1] ?? 0) >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    const c = lower[i] ?? '';
    out += nibble >= 8 ? c.toUpperCase() : c;
  }
  return out as EvmAddress;
}
