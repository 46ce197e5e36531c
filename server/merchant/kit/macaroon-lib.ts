// Typed access to the `macaroon` npm package (go-macaroon's JS port), which ships no type declarations.
// Loaded through createRequire with a narrow local interface instead of an ambient `declare module`, so
// this file cannot clash with declarations written elsewhere in the tree.
import { createRequire } from 'node:module';

export interface MacaroonCaveat {
  /** Caveat id: the condition bytes for a first-party caveat. */
  readonly identifier: Uint8Array;
  /** Present only on third-party caveats (location is optional even there). */
  readonly vid?: Uint8Array;
  readonly location?: string;
}

export interface Macaroon {
  readonly identifier: Uint8Array;
  readonly location: string;
  readonly signature: Uint8Array;
  readonly caveats: MacaroonCaveat[];
  addFirstPartyCaveat(condition: string | Uint8Array): void;
  /** Throws when the signature chain or a caveat check fails; `check` returns an error string or null. */
  verify(rootKey: Uint8Array, check: (condition: string) => string | null, discharges?: Macaroon[]): void;
  clone(): Macaroon;
  // exportBinary() is left out on purpose: use exportMacaroonBinary (see below).
}

interface MacaroonModule {
  newMacaroon(params: {
    identifier: Uint8Array | string;
    location?: string;
    rootKey: Uint8Array | string;
    version?: 1 | 2;
  }): Macaroon;
  importMacaroon(data: Uint8Array | string): Macaroon | Macaroon[];
}

const lib = createRequire(import.meta.url)('macaroon') as MacaroonModule;

export const newMacaroon = lib.newMacaroon;

/** Decodes one binary macaroon (v1 or v2). Throws on anything else. */
export function importBinaryMacaroon(bytes: Uint8Array): Macaroon {
  const imported = lib.importMacaroon(bytes);
  if (Array.isArray(imported)) {
    throw new Error('expected a single macaroon');
  }
  return imported;
}

// macaroon 3.0.4's own exportBinary() doubles its buffer on every byte appended (ByteBuffer._grow reads
// an undefined `_capacity`), so a macaroon with four caveats asks for gigabytes and throws RangeError.
// Fixed upstream (go-macaroon/js-macaroon#40, #41) but never released; this is the same v2 encoding.
const FIELD_EOS = 0;
const FIELD_LOCATION = 1;
const FIELD_IDENTIFIER = 2;
const FIELD_VID = 4;
const FIELD_SIGNATURE = 6;

/** Serialises a macaroon in the v2 binary format (what go-macaroon's MarshalBinary produces). */
export function exportMacaroonBinary(macaroon: Macaroon): Uint8Array {
  const out: number[] = [2];
  const utf8 = new TextEncoder();
  const field = (type: number, data: Uint8Array) => {
    out.push(type);
    for (let n = data.length; ; n >>>= 7) {
      if (n < 0x80) {
        out.push(n);
        break;
      }
      out.push((n & 0x7f) | 0x80);
    }
    for (const byte of data) out.push(byte);
  };
  if (macaroon.location) field(FIELD_LOCATION, utf8.encode(macaroon.location));
  field(FIELD_IDENTIFIER, macaroon.identifier);
  out.push(FIELD_EOS);
  for (const caveat of macaroon.caveats) {
    if (caveat.location) field(FIELD_LOCATION, utf8.encode(caveat.location));
    field(FIELD_IDENTIFIER, caveat.identifier);
    if (caveat.vid) field(FIELD_VID, caveat.vid);
    out.push(FIELD_EOS);
  }
  out.push(FIELD_EOS);
  field(FIELD_SIGNATURE, macaroon.signature);
  return Uint8Array.from(out);
}
