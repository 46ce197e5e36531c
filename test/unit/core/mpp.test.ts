import { base64urlnopad } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { MppChallengeError, mppCredential, readMppChallenge } from '../../../src/core/challenge/mpp';
import { parseWwwAuthenticate } from '../../../src/core/challenge/www-authenticate';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const enc = (o: unknown) => base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(o)));
const header = (request: string, extra = 'expires="2026-11-25T12:10:00Z"') =>
  `Payment id="abc123", realm="quill", method="lightning", intent="charge", ${extra}, request="${request}"`;

const read = (h: string) => {
  const [c] = parseWwwAuthenticate(h);
  return readMppChallenge(c!, NOW);
};

describe('MPP Payment challenges', () => {
  it('reads the parameters and decodes the request', () => {
    const c = read(
      header(
        enc({ amount: '2010', currency: 'sat', description: 'x', methodDetails: { invoice: 'lnbcrt1' } }),
      ),
    );
    expect(c).toMatchObject({
      id: 'abc123',
      realm: 'quill',
      method: 'lightning',
      intent: 'charge',
      expiresAt: Date.parse('2026-11-25T12:10:00Z'),
      request: { amount: '2010', currency: 'sat', description: 'x', methodDetails: { invoice: 'lnbcrt1' } },
    });
  });

  it.each([
    [
      'an expired challenge',
      header(enc({ amount: '1', currency: 'sat' }), 'expires="2026-11-25T11:59:59Z"'),
      /expired/,
    ],
    ['an unreadable expiry', header(enc({ amount: '1', currency: 'sat' }), 'expires="soon"'), /expiry/],
    ['a request that does not decode', header('!!!'), /decode/],
    ['a request that is not an object', header(enc([1])), /object/],
    ['a zero amount', header(enc({ amount: '0', currency: 'sat' })), /positive integer/],
    ['a fractional amount', header(enc({ amount: '1.5', currency: 'usd' })), /positive integer/],
    ['no currency', header(enc({ amount: '10' })), /currency/],
    [
      'another intent',
      `Payment id="a", method="lightning", intent="subscribe", request="${enc({ amount: '1', currency: 'sat' })}"`,
      /intent/,
    ],
    [
      'missing id',
      `Payment method="lightning", intent="charge", request="${enc({ amount: '1', currency: 'sat' })}"`,
      /lacks/,
    ],
  ])('refuses %s', (_what, h, reason) => {
    expect(() => read(h)).toThrow(MppChallengeError);
    expect(() => read(h)).toThrow(reason);
  });

  it('builds a credential that echoes the challenge as sent', () => {
    const request = enc({ amount: '5', currency: 'sat' });
    const c = read(header(request));
    const cred = mppCredential(c, { preimage: 'ab' });
    expect(cred.startsWith('Payment ')).toBe(true);
    const decoded = JSON.parse(new TextDecoder().decode(base64urlnopad.decode(cred.slice(8))));
    expect(decoded).toEqual({
      challenge: {
        id: 'abc123',
        realm: 'quill',
        method: 'lightning',
        intent: 'charge',
        request,
        expires: '2026-11-25T12:10:00Z',
      },
      payload: { preimage: 'ab' },
    });
  });
});
