import { describe, expect, it } from 'vitest';
import { detectChallenges } from '../../../src/core/challenge/detect';
import { ChallengeSyntaxError, parseWwwAuthenticate } from '../../../src/core/challenge/www-authenticate';

const asObject = (m: Map<string, string>) => Object.fromEntries(m);

describe('parseWwwAuthenticate', () => {
  it('reads an L402 challenge with quoted parameters', () => {
    const [c, ...rest] = parseWwwAuthenticate('L402 macaroon="AGIAJEem", invoice="lnbcrt10u1p"');
    expect(rest).toEqual([]);
    expect(c?.scheme).toBe('L402');
    expect(asObject(c!.params)).toEqual({ macaroon: 'AGIAJEem', invoice: 'lnbcrt10u1p' });
  });

  it('splits two challenges in one header, including one that follows a parameter list', () => {
    const cs = parseWwwAuthenticate('LSAT macaroon="m1", invoice="i1", L402 macaroon="m2", invoice="i2"');
    expect(cs.map((c) => c.scheme)).toEqual(['LSAT', 'L402']);
    expect(asObject(cs[1]!.params)).toEqual({ macaroon: 'm2', invoice: 'i2' });
  });

  it('handles repeated headers joined with ", " and a token68 challenge between them', () => {
    const cs = parseWwwAuthenticate('Basic dXNlcjpwYXNz==, Payment id="x", realm="r" ,, Bearer');
    expect(cs.map((c) => [c.schemeKey, c.token68])).toEqual([
      ['basic', 'dXNlcjpwYXNz=='],
      ['payment', undefined],
      ['bearer', undefined],
    ]);
    expect(asObject(cs[1]!.params)).toEqual({ id: 'x', realm: 'r' });
  });

  it('unescapes quoted-pairs and keeps commas and spaces inside quotes', () => {
    const [c] = parseWwwAuthenticate('Payment description="say \\"hi\\", then \\\\ go", id=abc');
    expect(c!.params.get('description')).toBe('say "hi", then \\ go');
    expect(c!.params.get('id')).toBe('abc');
  });

  it('is case-insensitive for schemes and parameter names, and tolerates spaces around "="', () => {
    const [c] = parseWwwAuthenticate('l402 MACAROON = "m", Invoice="i"');
    expect(c!.schemeKey).toBe('l402');
    expect(asObject(c!.params)).toEqual({ macaroon: 'm', invoice: 'i' });
  });

  it('keeps parameter names such as __proto__ as plain data', () => {
    const [c] = parseWwwAuthenticate('L402 __proto__="x", constructor="y"');
    expect(c!.params.get('__proto__')).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ['unterminated quote', 'L402 macaroon="abc'],
    ['missing value separator', 'L402 macaroon"abc"'],
    ['duplicate parameter', 'L402 macaroon="a", macaroon="b"'],
    ['garbage between parameters', 'L402 macaroon="a" invoice="b"'],
    ['control character', 'L402 macaroon="a\u0001b"'],
    ['no scheme', '="abc"'],
  ])('refuses a malformed header: %s', (_name, header) => {
    expect(() => parseWwwAuthenticate(header)).toThrow(ChallengeSyntaxError);
  });
});

describe('detectChallenges', () => {
  it('recognises L402, LSAT, MPP and x402 v2 and ignores other schemes', () => {
    const found = detectChallenges([
      ['WWW-Authenticate', 'Basic realm="x"'],
      ['www-authenticate', 'LSAT macaroon="m", invoice="i", Payment id="p", method="lightning"'],
      ['PAYMENT-REQUIRED', 'eyJ4NDAyVmVyc2lvbiI6Mn0='],
    ]);
    expect(found.map((f) => f.protocol)).toEqual(['l402', 'mpp', 'x402']);
  });

  it("reads Firefox's repeated headers, joined into one value with newlines, as separate headers", () => {
    const found = detectChallenges([
      [
        'WWW-Authenticate',
        'L402 macaroon="m", invoice="i"\nLSAT macaroon="m", invoice="i"\r\nPayment id="p"',
      ],
    ]);
    expect(found.map((f) => f.challenge?.scheme)).toEqual(['L402', 'LSAT', 'Payment']);
    expect(found[2]?.challenge?.params.get('id')).toBe('p');
  });

  it('finds nothing on a 402 without a known challenge', () => {
    expect(detectChallenges([['content-type', 'application/json']])).toEqual([]);
  });
});
