// L402 (Lightning Labs; formerly LSAT) for the server side: mint a macaroon that commits to an
// invoice's payment hash, format the WWW-Authenticate challenge, and verify an Authorization
// credential. Wire format and caveat conventions follow lightninglabs/L402 and aperture:
//
//   identifier  = uint16 BE version (0) || payment hash (32) || token id (32 random bytes)
//   caveats     = "services=<service>:<tier>", "<service>_capabilities=<cap>[,<cap>]",
//                 "<service>_valid_until=<unix seconds>", plus any the app binds to a request
//   challenge   = L402 macaroon="<std base64 of the v2 binary macaroon>", invoice="<bolt11>"
//                 (and the same again with scheme LSAT for clients that predate the rename)
//   credential  = Authorization: L402 <base64 macaroon>:<hex preimage>   (scheme LSAT accepted)
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { decode as decodeBolt11 } from 'light-bolt11-decoder';
import type { InvoiceBackend } from './lnbits-client';
import { LnbitsError } from './lnbits-client';
import { exportMacaroonBinary, importBinaryMacaroon, type Macaroon, newMacaroon } from './macaroon-lib';
import { toMsat } from './money';

export const L402_IDENTIFIER_VERSION = 0;
const HASH_LEN = 32;
const TOKEN_ID_LEN = 32;
const IDENTIFIER_LEN = 2 + HASH_LEN + TOKEN_ID_LEN;

// ---------------------------------------------------------------------------------------------
// Identifier

export interface L402Identifier {
  version: number;
  paymentHash: Uint8Array;
  tokenId: Uint8Array;
}

export function encodeIdentifier(paymentHash: Uint8Array, tokenId: Uint8Array): Uint8Array {
  if (paymentHash.length !== HASH_LEN || tokenId.length !== TOKEN_ID_LEN) {
    throw new RangeError('payment hash and token id must be 32 bytes each');
  }
  const out = new Uint8Array(IDENTIFIER_LEN);
  new DataView(out.buffer).setUint16(0, L402_IDENTIFIER_VERSION, false);
  out.set(paymentHash, 2);
  out.set(tokenId, 2 + HASH_LEN);
  return out;
}

/** Returns null for anything but a well-formed version-0 identifier. */
export function decodeIdentifier(bytes: Uint8Array): L402Identifier | null {
  if (bytes.length !== IDENTIFIER_LEN) {
    return null;
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0, false);
  if (version !== L402_IDENTIFIER_VERSION) {
    return null;
  }
  return {
    version,
    paymentHash: bytes.slice(2, 2 + HASH_LEN),
    tokenId: bytes.slice(2 + HASH_LEN),
  };
}

// ---------------------------------------------------------------------------------------------
// Caveats ("condition=value", first-party)

export interface Caveat {
  condition: string;
  value: string;
}

const CONDITION = /^[A-Za-z0-9_.-]+$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function encodeCaveat(caveat: Caveat): string {
  if (!CONDITION.test(caveat.condition)) {
    throw new RangeError(`invalid caveat condition ${JSON.stringify(caveat.condition)}`);
  }
  return `${caveat.condition}=${caveat.value}`;
}

export function decodeCaveat(raw: string): Caveat | null {
  const eq = raw.indexOf('=');
  if (eq <= 0) {
    return null;
  }
  return { condition: raw.slice(0, eq).trim(), value: raw.slice(eq + 1).trim() };
}

export const servicesCondition = 'services';
export const capabilitiesCondition = (service: string) => `${service}_capabilities`;
export const validUntilCondition = (service: string) => `${service}_valid_until`;

// ---------------------------------------------------------------------------------------------
// Challenge and credential syntax

export type L402Scheme = 'L402' | 'LSAT';

export function formatChallenge(
  scheme: L402Scheme,
  macaroonBase64: string,
  invoice: string,
  extraParams: readonly string[] = [],
): string {
  // Both values are base64 / bech32, so they never need quoted-pair escaping.
  return [`${scheme} macaroon="${macaroonBase64}"`, `invoice="${invoice}"`, ...extraParams].join(', ');
}

export interface L402Credential {
  scheme: L402Scheme;
  macaroon: Macaroon;
  preimage: Uint8Array;
}

export type ParsedAuthorization =
  | { kind: 'none' } // no L402/LSAT credential at all: a plain unpaid request
  | { kind: 'invalid'; reason: string }
  | { kind: 'credential'; credential: L402Credential };

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const PREIMAGE_HEX = /^[0-9a-fA-F]{64}$/;

/** Parses `Authorization: L402 <base64 macaroon>:<hex preimage>`; the scheme is case-insensitive. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (!header) {
    return { kind: 'none' };
  }
  const match = /^\s*(L402|LSAT)\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    return /^\s*(L402|LSAT)(\s|$)/i.test(header)
      ? { kind: 'invalid', reason: 'malformed L402 credential: expected "L402 <macaroon>:<preimage>"' }
      : { kind: 'none' };
  }
  const scheme = match[1]!.toUpperCase() as L402Scheme;
  const token = match[2]!;
  const colon = token.lastIndexOf(':');
  if (colon <= 0) {
    return { kind: 'invalid', reason: 'malformed L402 credential: missing ":<preimage>"' };
  }
  const macaroonPart = token.slice(0, colon);
  const preimageHex = token.slice(colon + 1);
  if (macaroonPart.includes(',')) {
    return { kind: 'invalid', reason: 'discharge macaroons are not supported: send exactly one macaroon' };
  }
  if (!PREIMAGE_HEX.test(preimageHex)) {
    return { kind: 'invalid', reason: 'malformed preimage: expected 64 hex characters' };
  }
  if (!BASE64.test(macaroonPart)) {
    return { kind: 'invalid', reason: 'malformed macaroon: not base64' };
  }
  let macaroon: Macaroon;
  try {
    macaroon = importBinaryMacaroon(base64ToBytes(macaroonPart));
  } catch (err) {
    return {
      kind: 'invalid',
      reason: `malformed macaroon: ${err instanceof Error ? err.message : 'undecodable'}`,
    };
  }
  return { kind: 'credential', credential: { scheme, macaroon, preimage: hexToBytes(preimageHex) } };
}

// ---------------------------------------------------------------------------------------------
// The gate: issues challenges and verifies credentials against one root key and one wallet.

export interface L402GateOptions {
  wallet: InvoiceBackend;
  /** 32+ bytes, or their hex. Every token this gate mints is signed with it. */
  rootKey: Uint8Array | string;
  /** Macaroon location hint (not covered by the signature), e.g. the app's origin. */
  location: string;
  /** Service name used in the caveats; [A-Za-z0-9_.-]. */
  service: string;
  /** Service tier in the services caveat; default 0 (base tier). */
  tier?: number;
  /** Lifetime of a paid token (the `<service>_valid_until` caveat); default 3600 s. */
  tokenLifetimeSeconds?: number;
  /** Invoice expiry passed to the wallet; default 600 s. */
  invoiceExpirySeconds?: number;
  /** Also send an `LSAT` challenge after the `L402` one, as aperture does; default true. */
  legacyLsatChallenge?: boolean;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
}

export interface IssueRequest {
  priceMsat: bigint | number;
  /** Invoice memo (BOLT11 description). */
  memo: string;
  capabilities: readonly string[];
  /** Extra first-party caveats, e.g. ones that bind the token to part of the request. */
  caveats?: readonly Caveat[];
  /** More auth-params for the challenge, each already formatted (`name="value"`), e.g. `paybound`. */
  extraParams?: readonly string[];
}

export interface L402Challenge {
  /** WWW-Authenticate values, one header line each: L402 first, then LSAT if enabled. */
  headerValues: string[];
  macaroonBase64: string;
  invoice: string;
  paymentHash: string;
  priceMsat: bigint;
  /** Unix seconds after which the token stops being accepted. */
  validUntil: number;
}

/** Checks a custom caveat's value for the current request: an error string, or null when satisfied. */
export type CaveatCheck = (value: string) => string | null;

export interface VerifyRequest {
  capability: string;
  /** Checks for app-specific caveat conditions; caveats with conditions nobody checks are skipped. */
  caveatChecks?: Readonly<Record<string, CaveatCheck>>;
}

export type L402FailureCode =
  | 'malformed_credential'
  | 'bad_signature'
  | 'unsupported_identifier'
  | 'caveat_not_satisfied'
  | 'token_expired'
  | 'wrong_preimage'
  | 'invoice_not_settled';

export type VerifyResult =
  | { ok: true; scheme: L402Scheme; paymentHash: string; tokenId: string }
  | { ok: false; code: 'missing_credential'; reason: string }
  | { ok: false; code: L402FailureCode; reason: string };

export class L402Gate {
  readonly service: string;
  readonly #wallet: InvoiceBackend;
  readonly #rootKey: Uint8Array;
  readonly #location: string;
  readonly #tier: number;
  readonly #lifetime: number;
  readonly #invoiceExpiry: number;
  readonly #legacy: boolean;
  readonly #now: () => number;
  // Settled invoices stay settled: remember them so a reused token costs no wallet round trip.
  readonly #settled = new Set<string>();
  static readonly #settledCacheLimit = 10_000;

  constructor(options: L402GateOptions) {
    if (!CONDITION.test(options.service)) {
      throw new RangeError('service name must match [A-Za-z0-9_.-]+');
    }
    this.service = options.service;
    this.#wallet = options.wallet;
    this.#rootKey = normaliseRootKey(options.rootKey);
    this.#location = options.location;
    this.#tier = options.tier ?? 0;
    this.#lifetime = options.tokenLifetimeSeconds ?? 3600;
    this.#invoiceExpiry = options.invoiceExpirySeconds ?? 600;
    this.#legacy = options.legacyLsatChallenge ?? true;
    this.#now = options.now ?? Date.now;
  }

  /** Creates an invoice for exactly the price and a macaroon committing to its payment hash. */
  async issue(request: IssueRequest): Promise<L402Challenge> {
    const priceMsat = toMsat(request.priceMsat, 'price');
    for (const capability of request.capabilities) {
      if (!CONDITION.test(capability)) {
        throw new RangeError(`invalid capability ${JSON.stringify(capability)}`);
      }
    }
    const invoice = await this.#wallet.createInvoice({
      amountMsat: priceMsat,
      memo: request.memo,
      expirySeconds: this.#invoiceExpiry,
    });
    assertInvoiceMatches(invoice.paymentRequest, invoice.paymentHash, priceMsat);

    const validUntil = Math.floor(this.#now() / 1000) + this.#lifetime;
    const macaroon = newMacaroon({
      identifier: encodeIdentifier(hexToBytes(invoice.paymentHash), randomBytes(TOKEN_ID_LEN)),
      location: this.#location,
      rootKey: this.#rootKey,
      version: 2,
    });
    const caveats: Caveat[] = [
      { condition: servicesCondition, value: `${this.service}:${this.#tier}` },
      { condition: capabilitiesCondition(this.service), value: request.capabilities.join(',') },
      { condition: validUntilCondition(this.service), value: String(validUntil) },
      ...(request.caveats ?? []),
    ];
    for (const caveat of caveats) {
      macaroon.addFirstPartyCaveat(encodeCaveat(caveat));
    }
    const macaroonBase64 = Buffer.from(exportMacaroonBinary(macaroon)).toString('base64');
    const extra = request.extraParams ?? [];
    const headerValues = [formatChallenge('L402', macaroonBase64, invoice.paymentRequest, extra)];
    if (this.#legacy) {
      headerValues.push(formatChallenge('LSAT', macaroonBase64, invoice.paymentRequest, extra));
    }
    return {
      headerValues,
      macaroonBase64,
      invoice: invoice.paymentRequest,
      paymentHash: invoice.paymentHash,
      priceMsat,
      validUntil,
    };
  }

  /**
   * Verifies an Authorization header value. Resolves to a failure for anything the client got wrong;
   * rejects (LnbitsError) only when the wallet cannot be asked whether the invoice is settled.
   */
  async verify(authorization: string | undefined, request: VerifyRequest): Promise<VerifyResult> {
    const parsed = parseAuthorization(authorization);
    if (parsed.kind === 'none') {
      return { ok: false, code: 'missing_credential', reason: 'payment required' };
    }
    if (parsed.kind === 'invalid') {
      return { ok: false, code: 'malformed_credential', reason: parsed.reason };
    }
    const { macaroon, preimage, scheme } = parsed.credential;

    // Signature first, with every caveat provisionally accepted, so that a forged or tampered
    // macaroon is reported as such rather than as an unmet caveat.
    try {
      macaroon.verify(this.#rootKey, () => null);
    } catch {
      return { ok: false, code: 'bad_signature', reason: 'macaroon signature is not valid for this server' };
    }
    const id = decodeIdentifier(macaroon.identifier);
    if (!id) {
      return {
        ok: false,
        code: 'unsupported_identifier',
        reason: 'macaroon identifier is not an L402 v0 identifier',
      };
    }
    const caveatFailure = this.#checkCaveats(macaroon, request);
    if (caveatFailure) {
      return caveatFailure;
    }
    const digest = createHash('sha256').update(preimage).digest();
    if (!timingSafeEqual(digest, id.paymentHash)) {
      return {
        ok: false,
        code: 'wrong_preimage',
        reason: 'preimage does not match the payment hash in the macaroon',
      };
    }
    const paymentHash = bytesToHex(id.paymentHash);
    if (!(await this.#isSettled(paymentHash))) {
      return {
        ok: false,
        code: 'invoice_not_settled',
        reason: 'the invoice for this token has not been paid',
      };
    }
    return { ok: true, scheme, paymentHash, tokenId: bytesToHex(id.tokenId) };
  }

  // Every occurrence of a condition this gate understands must hold (a holder may only narrow a
  // token by adding caveats); conditions it does not understand are skipped, as the L402 spec says.
  #checkCaveats(macaroon: Macaroon, request: VerifyRequest): VerifyResult | null {
    const nowSeconds = Math.floor(this.#now() / 1000);
    const capabilitiesKey = capabilitiesCondition(this.service);
    const validUntilKey = validUntilCondition(this.service);
    const custom = request.caveatChecks ?? {};
    let sawServices = false;
    const fail = (reason: string): VerifyResult => ({ ok: false, code: 'caveat_not_satisfied', reason });

    for (const raw of macaroon.caveats) {
      if (raw.vid !== undefined) {
        return fail('third-party caveats are not supported');
      }
      let text: string;
      try {
        text = UTF8.decode(raw.identifier);
      } catch {
        continue; // not a condition=value caveat: unknown, skipped
      }
      const caveat = decodeCaveat(text);
      if (!caveat) {
        continue;
      }
      const { condition, value } = caveat;
      if (condition === servicesCondition) {
        sawServices = true;
        const names = value.split(',').map((entry) => entry.split(':')[0]?.trim());
        if (!names.includes(this.service)) {
          return fail(`token is not valid for service "${this.service}"`);
        }
      } else if (condition === capabilitiesKey) {
        const capabilities = value.split(',').map((c) => c.trim());
        if (!capabilities.includes(request.capability)) {
          return fail(`token does not grant capability "${request.capability}"`);
        }
      } else if (condition === validUntilKey) {
        const until = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
        if (!Number.isSafeInteger(until)) {
          return fail(`malformed ${validUntilKey} caveat`);
        }
        if (nowSeconds >= until) {
          return {
            ok: false,
            code: 'token_expired',
            reason: `token expired at ${new Date(until * 1000).toISOString()}`,
          };
        }
      } else if (Object.hasOwn(custom, condition)) {
        const error = custom[condition]!(value);
        if (error !== null) {
          return fail(error);
        }
      }
    }
    return sawServices ? null : fail('token has no services caveat');
  }

  async #isSettled(paymentHash: string): Promise<boolean> {
    if (this.#settled.has(paymentHash)) {
      return true;
    }
    let paid: boolean;
    try {
      paid = (await this.#wallet.getPayment(paymentHash)).paid;
    } catch (err) {
      // A hash the wallet never issued is simply unpaid here; other wallet errors propagate.
      if (err instanceof LnbitsError && err.code === 'not_found') {
        return false;
      }
      throw err;
    }
    if (paid) {
      if (this.#settled.size >= L402Gate.#settledCacheLimit) {
        const oldest = this.#settled.values().next().value;
        if (oldest !== undefined) this.#settled.delete(oldest);
      }
      this.#settled.add(paymentHash);
    }
    return paid;
  }
}

/** Guards against a wallet that returns an invoice other than the one asked for. */
function assertInvoiceMatches(bolt11: string, paymentHash: string, priceMsat: bigint): void {
  let decoded: ReturnType<typeof decodeBolt11>;
  try {
    decoded = decodeBolt11(bolt11);
  } catch (err) {
    throw new LnbitsError('bad_response', `wallet returned an undecodable invoice: ${String(err)}`);
  }
  let amount: string | undefined;
  let hash: string | undefined;
  for (const section of decoded.sections) {
    if (section.name === 'amount') amount = section.value;
    if (section.name === 'payment_hash') hash = section.value;
  }
  if (hash !== paymentHash) {
    throw new LnbitsError('bad_response', 'wallet invoice payment hash differs from the one it reported');
  }
  if (amount === undefined || BigInt(amount) !== priceMsat) {
    throw new LnbitsError(
      'bad_response',
      `wallet invoice amount ${amount ?? 'none'} msat differs from the price ${priceMsat}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Byte helpers

export function normaliseRootKey(rootKey: Uint8Array | string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof rootKey === 'string') {
    if (!/^([0-9a-fA-F]{2})+$/.test(rootKey)) {
      throw new RangeError('root key string must be hex');
    }
    bytes = hexToBytes(rootKey);
  } else {
    bytes = new Uint8Array(rootKey);
  }
  if (bytes.length < 32) {
    throw new RangeError('root key must be at least 32 bytes');
  }
  return bytes;
}

export function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Accepts standard and URL-safe base64, padded or not (aperture sends standard, padded). */
export function base64ToBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}
