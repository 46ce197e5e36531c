// Receipt signing keys come from configuration, never from the database: a copy of the database
// (a backup) must not be enough to mint receipts. Several keys may be configured for rotation: the
// first signs, all are published in the JWKS so receipts signed by the others still verify.
//
//   PAYBOUND_CARD_RECEIPT_KEYS='[{"kid":"2026-12","privateKey":"<64 hex or base64url of 32 bytes>"}, …]'
import { ed25519 } from '@noble/curves/ed25519.js';
import { keyIdOf } from './receipt';

export interface ReceiptKeyConfig {
  /** 1–64 characters of [A-Za-z0-9._-]; what receipts name in their header. */
  kid: string;
  /** The Ed25519 secret key (32 bytes) as 64 hex characters or base64url. */
  privateKey: string;
}

export interface ReceiptKey {
  kid: string;
  secretKey: Uint8Array;
}

const KID = /^[A-Za-z0-9._-]{1,64}$/;

function secretBytes(text: string): Uint8Array | null {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Uint8Array.from(Buffer.from(text, 'hex'));
  if (/^[A-Za-z0-9_-]{43}$/.test(text)) {
    const bytes = Buffer.from(text, 'base64url');
    if (bytes.length === 32) return Uint8Array.from(bytes);
  }
  return null;
}

/** Checks a configured key list; throws a RangeError naming what is wrong (never the key itself). */
export function receiptKeysFrom(config: unknown): ReceiptKey[] {
  if (!Array.isArray(config) || config.length === 0) {
    throw new RangeError('receipt keys: give a non-empty list of {kid, privateKey}');
  }
  const seen = new Set<string>();
  return config.map((entry: unknown, i) => {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (typeof e.kid !== 'string' || !KID.test(e.kid)) {
      throw new RangeError(`receipt key ${i}: kid must be 1–64 characters of [A-Za-z0-9._-]`);
    }
    if (seen.has(e.kid)) throw new RangeError(`receipt key ${i}: kid ${e.kid} is used twice`);
    seen.add(e.kid);
    const secretKey = typeof e.privateKey === 'string' ? secretBytes(e.privateKey) : null;
    if (!secretKey) {
      throw new RangeError(`receipt key ${e.kid}: privateKey must be 32 bytes as hex or base64url`);
    }
    return { kid: e.kid, secretKey };
  });
}

/** Parses and checks PAYBOUND_CARD_RECEIPT_KEYS (a JSON list, or one {kid, privateKey} object). */
export function parseReceiptKeys(json: string): ReceiptKeyConfig[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new RangeError('receipt keys are not valid JSON');
  }
  const list = Array.isArray(value) ? value : [value];
  receiptKeysFrom(list);
  return list as ReceiptKeyConfig[];
}

/** A fresh key, for development stacks and tests that start with no configuration. */
export function generateReceiptKey(): ReceiptKeyConfig {
  const secretKey = ed25519.utils.randomSecretKey();
  return {
    kid: keyIdOf(ed25519.getPublicKey(secretKey)),
    privateKey: Buffer.from(secretKey).toString('hex'),
  };
}
