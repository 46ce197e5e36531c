// Strict BOLT #11 invoice decoding for the wallet. `light-bolt11-decoder` parses the tagged fields'
// values; it checks neither the signature nor most of the spec's reader rules (amount format, field
// lengths and padding, duplicates, feature bits), so those live here. Pure TypeScript: runs in the
// extension and in node alike.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { bech32 } from '@scure/base';
import { decode as decodeSections } from 'light-bolt11-decoder';

export type BitcoinNetwork = 'mainnet' | 'testnet' | 'signet' | 'regtest';

export interface DecodedInvoice {
  /** The invoice as given (case preserved). */
  paymentRequest: string;
  network: BitcoinNetwork;
  /** null for an amountless ("any amount") invoice. */
  amountMsat: bigint | null;
  paymentHash: string;
  paymentSecret?: string;
  description?: string;
  descriptionHash?: string;
  /** Creation time, unix seconds. */
  timestamp: number;
  expirySeconds: number;
  /** timestamp + expirySeconds. */
  expiresAt: number;
  /** Payee node id: 33-byte compressed key, hex. */
  payee: string;
  minFinalCltvExpiry?: number;
}

export type InvoiceErrorCode =
  | 'not_a_string'
  | 'too_long'
  | 'mixed_case'
  | 'no_separator'
  | 'invalid_character'
  | 'too_short'
  | 'bad_checksum'
  | 'unknown_network'
  | 'invalid_amount'
  | 'invalid_multiplier'
  | 'sub_millisatoshi'
  | 'amount_too_large'
  | 'malformed'
  | 'truncated_field'
  | 'bad_padding'
  | 'duplicate_field'
  | 'bad_description'
  | 'bad_number'
  | 'unknown_required_feature'
  | 'missing_feature_dependency'
  | 'missing_payment_hash'
  | 'bad_recovery_flag'
  | 'bad_signature';

export class InvoiceError extends Error {
  override readonly name = 'InvoiceError';
  constructor(
    readonly code: InvoiceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function fail(code: InvoiceErrorCode, message: string): never {
  throw new InvoiceError(code, message);
}

// Longest first: `lnbc` is a prefix of `lnbcrt`, `lntb` of `lntbs`.
const PREFIXES: ReadonlyArray<readonly [string, BitcoinNetwork]> = [
  ['lnbcrt', 'regtest'],
  ['lntbs', 'signet'],
  ['lnbc', 'mainnet'],
  ['lntb', 'testnet'],
];

const MSAT_PER_BTC = 100_000_000_000n;
const MAX_MSAT = 21_000_000n * MSAT_PER_BTC;
// msat per unit of each multiplier; `p` (0.1 msat) is handled apart.
const MULTIPLIER_MSAT: Readonly<Record<string, bigint>> = { m: 100_000_000n, u: 100_000n, n: 100n };

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
// The largest string a QR code holds; real invoices are far shorter. Bounds the work done.
const MAX_LENGTH = 7089;
const SIGNATURE_WORDS = 104;
const TIMESTAMP_WORDS = 7;

// The fields read here: tag type (5-bit value) → the section name light-bolt11-decoder gives it.
const TAG_NAMES: Readonly<Record<number, string>> = {
  1: 'payment_hash',
  6: 'expiry',
  13: 'description',
  16: 'payment_secret',
  19: 'payee',
  23: 'description_hash',
  24: 'min_final_cltv_expiry',
};
const EXPIRY = 6;
const MIN_CLTV = 24;
const FEATURES = 5;
// The spec says to skip (not fail on) p, s, h and n fields of any other length.
const FIXED_LENGTH: Readonly<Record<number, number>> = { 1: 52, 16: 52, 23: 52, 19: 53 };

// BOLT #9 features that may appear in an invoice, as the even (compulsory) bit of each pair,
// mapped to the even bit of the feature it depends on.
const INVOICE_FEATURES: ReadonlyMap<number, number | null> = new Map([
  [8, null], // var_onion_optin
  [14, 8], // payment_secret
  [16, 14], // basic_mpp
  [24, 8], // option_route_blinding
  [48, null], // option_payment_metadata
]);

interface Field {
  type: number;
  words: number[];
}

/**
 * Decodes and verifies a BOLT #11 invoice. Throws InvoiceError on anything a careful reader must
 * refuse: bad bech32, unknown network, malformed amount, bad signature, missing payment hash,
 * unknown compulsory features. Does not check expiry (see isExpired).
 */
export function decodeInvoice(invoice: string): DecodedInvoice {
  if (typeof invoice !== 'string') fail('not_a_string', 'invoice must be a string');
  if (invoice.length > MAX_LENGTH) fail('too_long', `invoice is longer than ${MAX_LENGTH} characters`);
  // ASCII only, before any case folding: U+212A (Kelvin) lower-cases to 'k', so a look-alike
  // string would verify and then be handed to the wallet as something other than the invoice.
  if (!/^[\x21-\x7e]*$/.test(invoice))
    fail('invalid_character', 'invoice has a character outside printable ASCII');
  const lower = invoice.toLowerCase();
  if (invoice !== lower && invoice !== invoice.toUpperCase()) {
    fail('mixed_case', 'invoice mixes upper and lower case');
  }
  const sep = lower.lastIndexOf('1');
  if (sep < 1) fail('no_separator', 'invoice has no bech32 separator "1"');
  const hrp = lower.slice(0, sep);
  const dataPart = lower.slice(sep + 1);
  for (const ch of hrp) {
    const c = ch.charCodeAt(0);
    if (c < 33 || c > 126) fail('invalid_character', 'invalid character in the human-readable part');
  }
  for (const ch of dataPart) {
    if (!CHARSET.includes(ch)) fail('invalid_character', `invalid bech32 character "${ch}"`);
  }
  if (dataPart.length < 6 + TIMESTAMP_WORDS + SIGNATURE_WORDS) {
    fail('too_short', 'invoice is too short to hold a timestamp and a signature');
  }
  let words: number[];
  try {
    words = bech32.decode(lower as `${string}1${string}`, false).words;
  } catch {
    fail('bad_checksum', 'bech32 checksum is invalid');
  }

  const { network, amountMsat } = parseHrp(hrp);

  const dataEnd = words.length - SIGNATURE_WORDS;
  const timestamp = wordsToNumber(words.slice(0, TIMESTAMP_WORDS));
  const used: Field[] = [];
  const seen = new Set<number>();
  for (const field of splitFields(words, dataEnd)) {
    if (field.type === FEATURES) checkFeatures(field.words);
    const fixed = FIXED_LENGTH[field.type];
    // Route hints, fallback addresses, metadata and unknown fields are not needed to pay; p, s, h
    // and n fields of another length are skipped, as the spec says.
    if (TAG_NAMES[field.type] === undefined || (fixed !== undefined && field.words.length !== fixed))
      continue;
    if (seen.has(field.type)) fail('duplicate_field', `field "${CHARSET[field.type]}" appears twice`);
    seen.add(field.type);
    if (field.type === EXPIRY || field.type === MIN_CLTV) {
      // Ten words are 50 bits: still exact as a JS number.
      if (field.words.length > 10) fail('bad_number', `field "${CHARSET[field.type]}" is out of range`);
    } else {
      fieldBytes(field); // zero padding
    }
    used.push(field);
  }
  const values = readValues(hrp, words, used, dataEnd);

  const out: Partial<DecodedInvoice> = {};
  let payeeField: string | undefined;
  let expirySeconds = 3600;
  used.forEach((field, i) => {
    const value = values[i];
    switch (field.type) {
      case 1:
        out.paymentHash = hexValue(field, value, 64);
        break;
      case 16:
        out.paymentSecret = hexValue(field, value, 64);
        break;
      case 23:
        out.descriptionHash = hexValue(field, value, 64);
        break;
      case 19:
        payeeField = hexValue(field, value, 66);
        break;
      case 13:
        // Not the library's value: it decodes invalid UTF-8 leniently.
        out.description = utf8Value(field);
        break;
      case EXPIRY:
        expirySeconds = numberValue(field, value);
        break;
      case MIN_CLTV:
        out.minFinalCltvExpiry = numberValue(field, value);
        break;
    }
  });
  if (!out.paymentHash) fail('missing_payment_hash', 'invoice has no valid payment hash (p) field');

  const payee = checkSignature(hrp, words, dataEnd, payeeField);
  const expiresAt = timestamp + expirySeconds;
  if (!Number.isSafeInteger(expiresAt)) fail('bad_number', 'expiry is out of range');

  const decoded: DecodedInvoice = {
    paymentRequest: invoice,
    network,
    amountMsat,
    paymentHash: out.paymentHash,
    timestamp,
    expirySeconds,
    expiresAt,
    payee,
  };
  if (out.paymentSecret !== undefined) decoded.paymentSecret = out.paymentSecret;
  if (out.description !== undefined) decoded.description = out.description;
  if (out.descriptionHash !== undefined) decoded.descriptionHash = out.descriptionHash;
  if (out.minFinalCltvExpiry !== undefined) decoded.minFinalCltvExpiry = out.minFinalCltvExpiry;
  return decoded;
}

/** True once the invoice has expired, or will within marginSeconds. */
export function isExpired(
  inv: Pick<DecodedInvoice, 'expiresAt'>,
  nowSeconds: number,
  marginSeconds = 0,
): boolean {
  return nowSeconds + marginSeconds >= inv.expiresAt;
}

export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

const HEX32 = /^[0-9a-fA-F]{64}$/;

/** sha256(preimage) == payment hash; false for malformed input rather than throwing. */
export function verifyPreimage(preimageHex: string, paymentHashHex: string): boolean {
  if (typeof preimageHex !== 'string' || typeof paymentHashHex !== 'string') return false;
  if (!HEX32.test(preimageHex) || !HEX32.test(paymentHashHex)) return false;
  return sha256Hex(hexToBytes(preimageHex.toLowerCase())) === paymentHashHex.toLowerCase();
}

/** The spec's check for `h` invoices: the description the payee serves must hash to it. */
export function descriptionMatches(
  inv: Pick<DecodedInvoice, 'descriptionHash'>,
  description: string,
): boolean {
  return inv.descriptionHash !== undefined && sha256Hex(utf8ToBytes(description)) === inv.descriptionHash;
}

function parseHrp(hrp: string): { network: BitcoinNetwork; amountMsat: bigint | null } {
  const match = PREFIXES.find(([p]) => hrp.startsWith(p) && /^(\d.*)?$/.test(hrp.slice(p.length)));
  if (!match) fail('unknown_network', `unknown invoice prefix "${hrp}"`);
  const [prefix, network] = match;
  const rest = hrp.slice(prefix.length);
  if (rest === '') return { network, amountMsat: null };
  const parts = /^(\d+)([a-z]?)$/.exec(rest);
  if (!parts) fail('invalid_amount', `invalid amount "${rest}"`);
  const digits = parts[1]!;
  const multiplier = parts[2]!;
  if (multiplier !== '' && !'munp'.includes(multiplier)) {
    fail('invalid_multiplier', `invalid amount multiplier "${multiplier}"`);
  }
  if (digits.startsWith('0'))
    fail('invalid_amount', 'amount must be a positive number without leading zeros');
  if (digits.length > 30) fail('amount_too_large', 'amount is too large');
  const value = BigInt(digits);
  let amountMsat: bigint;
  if (multiplier === 'p') {
    // 1 pico-BTC is a tenth of a millisatoshi, which no payment can carry.
    if (value % 10n !== 0n) fail('sub_millisatoshi', 'amount is not a whole number of millisatoshis');
    amountMsat = value / 10n;
  } else {
    amountMsat = value * (multiplier === '' ? MSAT_PER_BTC : MULTIPLIER_MSAT[multiplier]!);
  }
  if (amountMsat > MAX_MSAT) fail('amount_too_large', 'amount exceeds 21 million BTC');
  return { network, amountMsat };
}

function splitFields(words: number[], dataEnd: number): Field[] {
  const fields: Field[] = [];
  let pos = TIMESTAMP_WORDS;
  while (pos < dataEnd) {
    if (pos + 3 > dataEnd) fail('truncated_field', 'truncated tagged field header');
    const type = words[pos]!;
    const length = words[pos + 1]! * 32 + words[pos + 2]!;
    pos += 3;
    if (pos + length > dataEnd) fail('truncated_field', `field "${CHARSET[type]}" runs past the signature`);
    fields.push({ type, words: words.slice(pos, pos + length) });
    pos += length;
  }
  return fields;
}

/**
 * The values of the fields read, parsed by light-bolt11-decoder. The library throws on some fields
 * a reader must skip (an `n` field of 54 words, a malformed route hint), so it gets a re-encoded
 * copy holding only the fields read here; the signature is checked on the original words.
 */
function readValues(hrp: string, words: number[], used: Field[], dataEnd: number): unknown[] {
  const data = [
    ...words.slice(0, TIMESTAMP_WORDS),
    ...used.flatMap((f) => [f.type, f.words.length >> 5, f.words.length & 31, ...f.words]),
    ...words.slice(dataEnd),
  ];
  let sections: ReturnType<typeof decodeSections>['sections'];
  try {
    sections = decodeSections(bech32.encode(hrp, data, false)).sections;
  } catch (err) {
    fail('malformed', `cannot parse invoice: ${err instanceof Error ? err.message : String(err)}`);
  }
  const first = sections.findIndex((s) => s.name === 'timestamp');
  const last = sections.findIndex((s) => s.name === 'signature');
  const tags = sections.slice(first + 1, last);
  if (
    first < 0 ||
    last < 0 ||
    tags.length !== used.length ||
    tags.some((s, i) => s.name !== TAG_NAMES[used[i]!.type])
  ) {
    fail('malformed', 'tagged fields could not be parsed consistently');
  }
  return tags.map((s) => ('value' in s ? s.value : undefined));
}

function wordsToNumber(words: number[]): number {
  let n = 0;
  for (const w of words) n = n * 32 + w;
  return n;
}

/** 5-bit words to bytes; a partial last byte is padded with zero bits (the signing rule). */
function wordsToBytes(words: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil((words.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let i = 0;
  for (let k = 0; k < words.length; k++) {
    acc = (acc << 5) | words[k]!;
    bits += 5;
    while (bits >= 8) {
      bits -= 8;
      out[i++] = (acc >> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out[i] = (acc << (8 - bits)) & 0xff;
  return out;
}

/** A field's payload as bytes; the bits past the last whole byte must be zero padding. */
function fieldBytes(field: Field): Uint8Array {
  const totalBits = field.words.length * 5;
  const spare = totalBits % 8;
  const lastWord = field.words[field.words.length - 1] ?? 0;
  if (spare >= 5 || (lastWord & ((1 << spare) - 1)) !== 0) {
    fail('bad_padding', `field "${CHARSET[field.type]}" has non-zero or excess padding`);
  }
  return wordsToBytes(field.words).subarray(0, totalBits >> 3);
}

function hexValue(field: Field, value: unknown, hexLength: number): string {
  if (typeof value !== 'string' || value.length !== hexLength) {
    fail('malformed', `field "${CHARSET[field.type]}" has an unexpected value`);
  }
  return value;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8Value(field: Field): string {
  try {
    return strictUtf8.decode(fieldBytes(field));
  } catch (err) {
    if (err instanceof InvoiceError) throw err;
    fail('bad_description', 'description is not valid UTF-8');
  }
}

function numberValue(field: Field, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    fail('bad_number', `field "${CHARSET[field.type]}" is out of range`);
  }
  return value;
}

function checkFeatures(words: number[]): void {
  const set = new Set<number>();
  for (let w = 0; w < words.length; w++) {
    const word = words[words.length - 1 - w]!;
    for (let b = 0; b < 5; b++) if (word & (1 << b)) set.add(w * 5 + b);
  }
  const has = (even: number) => set.has(even) || set.has(even + 1);
  for (const bit of set) {
    const even = bit & ~1;
    if (!INVOICE_FEATURES.has(even)) {
      // It's OK to be odd: unknown optional features are ignored.
      if (bit % 2 === 0) fail('unknown_required_feature', `invoice requires unknown feature bit ${bit}`);
      continue;
    }
    const needs = INVOICE_FEATURES.get(even);
    if (needs != null && !has(needs)) {
      fail('missing_feature_dependency', `feature bit ${bit} needs feature bit ${needs} or ${needs + 1}`);
    }
  }
}

/** Verifies the signature and returns the payee's node id (hex, compressed). */
function checkSignature(
  hrp: string,
  words: number[],
  dataEnd: number,
  payeeField: string | undefined,
): string {
  const sigBytes = wordsToBytes(words.slice(dataEnd));
  const recovery = sigBytes[64]!;
  if (sigBytes.length !== 65 || recovery > 3)
    fail('bad_recovery_flag', 'signature recovery flag must be 0..3');
  const compact = sigBytes.subarray(0, 64);
  const preimage = new Uint8Array([...utf8ToBytes(hrp), ...wordsToBytes(words.slice(0, dataEnd))]);
  const digest = sha256(preimage);
  let sig: ReturnType<typeof secp256k1.Signature.fromBytes>;
  try {
    sig = secp256k1.Signature.fromBytes(compact, 'compact').addRecoveryBit(recovery);
  } catch {
    fail('bad_signature', 'signature is not a valid secp256k1 signature');
  }
  if (payeeField !== undefined) {
    // With an `n` field the spec says to verify against it instead of recovering. Like the
    // libsecp256k1-based readers (CLN, LDK), verification here accepts only low-S signatures.
    let ok = false;
    try {
      ok = secp256k1.verify(compact, digest, hexToBytes(payeeField), { prehash: false, lowS: true });
    } catch {
      ok = false;
    }
    if (!ok) fail('bad_signature', 'signature does not verify against the payee (n) field');
    return payeeField;
  }
  try {
    return bytesToHex(sig.recoverPublicKey(digest).toBytes(true));
  } catch {
    fail('bad_signature', 'cannot recover a public key from the signature');
  }
}
