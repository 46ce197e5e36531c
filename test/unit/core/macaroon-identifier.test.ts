import { randomBytes } from 'node:crypto';
import { base64, base64urlnopad, hex } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { newMacaroon } from '../../../server/merchant/kit/macaroon-lib';
import {
  MacaroonError,
  macaroonIdentifier,
  parseL402Identifier,
} from '../../../src/core/macaroon/identifier';

function mint(version: 2, identifier: Uint8Array | string, caveats: string[] = []) {
  const m = newMacaroon({ identifier, location: 'https://app.example', rootKey: randomBytes(32), version });
  for (const c of caveats) m.addFirstPartyCaveat(c);
  // The library's own serialiser (sound for up to a few caveats), independent of our reader.
  return (m as unknown as { exportBinary(): Uint8Array }).exportBinary();
}

function l402Identifier(paymentHash: Uint8Array, tokenId: Uint8Array): Uint8Array {
  return Uint8Array.from([0, 0, ...paymentHash, ...tokenId]);
}

describe('macaroonIdentifier', () => {
  it('reads the identifier of a V2 binary macaroon made by the macaroon library, with caveats', () => {
    const hash = randomBytes(32);
    const id = l402Identifier(hash, randomBytes(32));
    const b64 = base64.encode(mint(2, id, ['services=demo:0', 'expires_at=2000000000']));
    const read = macaroonIdentifier(b64);
    expect(hex.encode(read)).toBe(hex.encode(id));
    expect(parseL402Identifier(read).paymentHash).toBe(hex.encode(hash));
  });

  it('accepts URL-safe and unpadded base64 as servers send both', () => {
    const id = l402Identifier(randomBytes(32), randomBytes(32));
    const bin = mint(2, id);
    expect(hex.encode(macaroonIdentifier(base64urlnopad.encode(bin)))).toBe(hex.encode(id));
    expect(hex.encode(macaroonIdentifier(base64.encode(bin).replace(/=+$/, '')))).toBe(hex.encode(id));
  });

  it.each([
    ['not base64', 'not base64!'],
    ['empty', ''],
    [
      'truncated V2',
      base64.encode(mint(2, l402Identifier(randomBytes(32), randomBytes(32))).subarray(0, 20)),
    ],
    ['unknown format', base64.encode(Uint8Array.from([9, 9, 9, 9]))],
    ['V1 text packets', base64.encode(new TextEncoder().encode('0020identifier abc\n'))],
  ])('refuses %s', (_name, input) => {
    expect(() => macaroonIdentifier(input)).toThrow(MacaroonError);
  });
});

describe('parseL402Identifier', () => {
  it('refuses unknown versions and wrong lengths', () => {
    expect(() => parseL402Identifier(Uint8Array.from([0, 1, ...new Uint8Array(64)]))).toThrow(/version 1/);
    expect(() => parseL402Identifier(new Uint8Array(40))).toThrow(/66 bytes/);
  });
});
