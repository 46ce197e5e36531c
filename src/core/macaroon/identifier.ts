/**
 * Reads a macaroon's identifier, and from an L402 identifier the payment hash it is bound to.
 *
 * The wallet never verifies a macaroon (only the server holds the root key); it only needs the
 * identifier to check that the invoice it is asked to pay is the one the token unlocks. The `macaroon`
 * npm library needs Node's `util` and two crypto libraries, too much for the worker to read one
 * field, so this reads the V2 binary serialisation that L402 servers (aperture, lnd) send. The tests
 * cross-check it against that library.
 */

import { base64, base64urlnopad, hex } from '@scure/base';
import { stripPadding } from '../text/base64';

export class MacaroonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MacaroonError';
  }
}

const MAX_MACAROON_BYTES = 16 * 1024;

/** Accepts standard or URL-safe base64, padded or not, as servers send both. */
export function decodeBase64Loose(text: string): Uint8Array {
  // No trimming: the credential carries the macaroon exactly as received, so what is checked
  // here must be exactly that string (a padded one would be refused by the server after paying).
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new MacaroonError('macaroon is not base64');
  const unpadded = stripPadding(text);
  try {
    if (/[-_]/.test(unpadded)) return base64urlnopad.decode(unpadded);
    const padded = unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
    return base64.decode(padded);
  } catch {
    throw new MacaroonError('macaroon is not valid base64');
  }
}

function readVarint(bytes: Uint8Array, at: { pos: number }): number {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const b = bytes[at.pos++];
    if (b === undefined) throw new MacaroonError('truncated macaroon');
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return value;
  }
  throw new MacaroonError('macaroon field length too large');
}

const FIELD_EOS = 0;
const FIELD_LOCATION = 1;
const FIELD_IDENTIFIER = 2;

/** V2 binary: version byte 2, then the header section: [location] identifier EOS. */
function identifierV2(bytes: Uint8Array): Uint8Array {
  const at = { pos: 1 };
  let identifier: Uint8Array | undefined;
  for (;;) {
    const type = readVarint(bytes, at);
    if (type === FIELD_EOS) break;
    const length = readVarint(bytes, at);
    if (at.pos + length > bytes.length) throw new MacaroonError('truncated macaroon');
    const data = bytes.subarray(at.pos, at.pos + length);
    at.pos += length;
    if (type === FIELD_IDENTIFIER) identifier = data;
    else if (type !== FIELD_LOCATION) throw new MacaroonError(`unexpected field ${type} in macaroon header`);
  }
  if (!identifier) throw new MacaroonError('macaroon has no identifier');
  return identifier;
}

export function macaroonIdentifier(serialized: string): Uint8Array {
  if (serialized.length > (MAX_MACAROON_BYTES * 4) / 3 + 4) throw new MacaroonError('macaroon too large');
  const bytes = decodeBase64Loose(serialized);
  if (bytes.length === 0) throw new MacaroonError('empty macaroon');
  if (bytes[0] !== 2) throw new MacaroonError('unsupported macaroon format (only V2 binary is used by L402)');
  return identifierV2(bytes);
}

export interface L402Identifier {
  version: number;
  paymentHash: string;
  tokenId: string;
}

/** An L402 identifier, version 0: uint16 version (big-endian) ‖ 32-byte payment hash ‖ 32-byte token id. */
export function parseL402Identifier(identifier: Uint8Array): L402Identifier {
  if (identifier.length < 2) throw new MacaroonError('L402 identifier too short');
  const version = ((identifier[0] ?? 0) << 8) | (identifier[1] ?? 0);
  if (version !== 0) throw new MacaroonError(`unknown L402 identifier version ${version}`);
  if (identifier.length !== 66) throw new MacaroonError('L402 identifier must be 66 bytes');
  return {
    version,
    paymentHash: hex.encode(identifier.subarray(2, 34)),
    tokenId: hex.encode(identifier.subarray(34, 66)),
  };
}
