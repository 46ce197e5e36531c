/**
 * MPP as draft-httpauth-payment-01 writes it: the credential echoes the challenge exactly, a
 * `digest` binds the payment to the body, `opaque` is base64url JSON. Fixtures: the draft's own
 * examples, RFC 9530's digest example, and challenges made by mppx (the reference SDK).
 */
import { createHash } from 'node:crypto';
import { base64urlnopad } from '@scure/base';
import { BodyDigest, Challenge, Credential } from 'mppx';
import { describe, expect, it } from 'vitest';
import {
  digestSha256,
  MppChallengeError,
  mppCredential,
  readMppChallenge,
} from '../../../src/core/challenge/mpp';
import { parseWwwAuthenticate } from '../../../src/core/challenge/www-authenticate';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const enc = (o: unknown) => base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(o)));
const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');
const REQUEST = enc({ amount: '5', currency: 'sat' });
const header = (extra: string) =>
  `Payment id="abc123", realm="quill", method="lightning", intent="charge", request="${REQUEST}"${extra}`;

const read = (h: string, bodySha256?: string, now = NOW) => {
  const [c] = parseWwwAuthenticate(h);
  return readMppChallenge(c!, now, bodySha256);
};
const decodeCredential = (cred: string) => {
  expect(cred).toMatch(/^Payment [A-Za-z0-9_-]+$/);
  return JSON.parse(new TextDecoder().decode(base64urlnopad.decode(cred.slice(8))));
};
const refused = (f: () => unknown, reason: RegExp) => {
  expect(f).toThrow(MppChallengeError);
  expect(f).toThrow(reason);
};

describe('MPP credential: the challenge echoed exactly', () => {
  it('echoes opaque byte for byte', () => {
    // Key order and escapes the server chose: a re-encoding would change the bytes.
    const opaque = enc({ pi: 'pi_3Qx', 'z-order': 'a\\"b', a: '1' });
    const c = read(header(`, opaque="${opaque}"`));
    const echoed = decodeCredential(mppCredential(c, { preimage: 'ab' })).challenge;
    expect(echoed.opaque).toBe(opaque);
  });

  it('echoes parameters it does not know, with their values unquoted, after the known ones in order', () => {
    const c = read(
      `Payment zeta="last \\"one\\"", id="abc123", realm="quill", method="lightning", intent="charge", request="${REQUEST}", alpha=token-form, expires="2026-11-25T12:10:00Z", description="A haiku, paid"`,
    );
    const json = new TextDecoder().decode(
      base64urlnopad.decode(mppCredential(c, { preimage: 'ab' }).slice(8)),
    );
    expect(json).toBe(
      JSON.stringify({
        challenge: {
          id: 'abc123',
          realm: 'quill',
          method: 'lightning',
          intent: 'charge',
          request: REQUEST,
          description: 'A haiku, paid',
          expires: '2026-11-25T12:10:00Z',
          zeta: 'last "one"',
          alpha: 'token-form',
        },
        payload: { preimage: 'ab' },
      }),
    );
  });

  it('echoes digest and the method id as sent', () => {
    const digest = `sha-256=:${createHash('sha256').update('{}').digest('base64')}:`;
    const c = read(header(`, digest="${digest}"`), sha256('{}'));
    expect(decodeCredential(mppCredential(c, { preimage: 'ab' })).challenge).toMatchObject({
      digest,
      method: 'lightning',
    });
  });

  it('reproduces the draft example credential exactly from the draft example challenge', () => {
    // draft-httpauth-payment-01, "Example Challenge" and "Example Credential".
    const challenge =
      'Payment id="x7Tg2pLqR9mKvNwY3hBcZa", realm="api.example.com", method="example", intent="charge", expires="2025-01-15T12:05:00Z", request="eyJhbW91bnQiOiIxMDAwIiwiY3VycmVuY3kiOiJVU0QiLCJyZWNpcGllbnQiOiJhY2N0XzEyMyJ9"';
    const c = read(challenge, undefined, Date.parse('2025-01-15T12:00:00Z'));
    expect(c.request).toEqual({ amount: '1000', currency: 'usd', recipient: 'acct_123' });
    expect(mppCredential(c, { proof: '0xabc123...' })).toBe(
      'Payment eyJjaGFsbGVuZ2UiOnsiaWQiOiJ4N1RnMnBMcVI5bUt2TndZM2hCY1phIiwicmVhbG0iOiJhcGkuZXhhbXBsZS5jb20iLCJtZXRob2QiOiJleGFtcGxlIiwiaW50ZW50IjoiY2hhcmdlIiwicmVxdWVzdCI6ImV5SmhiVzkxYm5RaU9pSXhNREF3SWl3aVkzVnljbVZ1WTNraU9pSlZVMFFpTENKeVpXTnBjR2xsYm5RaU9pSmhZMk4wWHpFeU15SjkiLCJleHBpcmVzIjoiMjAyNS0wMS0xNVQxMjowNTowMFoifSwicGF5bG9hZCI6eyJwcm9vZiI6IjB4YWJjMTIzLi4uIn19',
    );
  });

  it('a record written before the parameters were kept still echoes what it holds', () => {
    const c = read(header(`, expires="2026-11-25T12:10:00Z"`));
    const { params: _dropped, ...old } = c;
    expect(decodeCredential(mppCredential(old, { preimage: 'ab' })).challenge).toEqual({
      id: 'abc123',
      realm: 'quill',
      method: 'lightning',
      intent: 'charge',
      request: REQUEST,
      expires: '2026-11-25T12:10:00Z',
    });
  });
});

describe('MPP digest: the payment bound to the body the page sends', () => {
  // RFC 9530's example: the draft's "Request Body Digest Binding" example carries this digest.
  const RFC9530_BODY = '{"hello": "world"}';
  const RFC9530_DIGEST = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:';

  it('takes the draft example digest for its body', () => {
    expect(digestSha256(RFC9530_DIGEST)).toBe(sha256(RFC9530_BODY));
    expect(read(header(`, digest="${RFC9530_DIGEST}"`), sha256(RFC9530_BODY)).digest).toBe(RFC9530_DIGEST);
  });

  it('refuses a digest of another body than the one the page sends', () => {
    refused(
      () => read(header(`, digest="${RFC9530_DIGEST}"`), sha256('{"hello": "moon"}')),
      /another request body/,
    );
  });

  it('refuses a digest when the page could not say what body it sends', () => {
    refused(() => read(header(`, digest="${RFC9530_DIGEST}"`)), /could not read/);
  });

  it.each([
    ['md5=:1B2M2Y8AsgTpgAmY7PhCfg==:', /unknown digest algorithm "md5"/],
    ['sha=:2jmj7l5rSw0yVb/vlWAYkK/YBwk=:', /unknown digest algorithm "sha"/],
    ['blake3=:AAAA:', /unknown digest algorithm "blake3"/],
    [`${RFC9530_DIGEST}, crc32c=:AAAAAA==:`, /unknown digest algorithm "crc32c"/],
  ])('refuses a digest naming an unknown algorithm: %s', (digest, reason) => {
    refused(() => read(header(`, digest="${digest}"`), sha256(RFC9530_BODY)), reason);
  });

  it('refuses a digest it cannot check, and one that does not read', () => {
    const sha512 = `sha-512=:${createHash('sha512').update(RFC9530_BODY).digest('base64')}:`;
    refused(() => read(header(`, digest="${sha512}"`), sha256(RFC9530_BODY)), /cannot check/);
    refused(() => read(header(', digest="sha-256=:AAAA:"'), sha256(RFC9530_BODY)), /unreadable digest/);
    refused(() => read(header(', digest="sha-256"'), sha256(RFC9530_BODY)), /unreadable digest/);
    refused(() => read(header(', digest="sha-256=:@@@:"'), sha256(RFC9530_BODY)), /unreadable digest/);
  });

  it('checks the sha-256 member of a digest that lists several known algorithms', () => {
    const both = `sha-512=:${createHash('sha512').update(RFC9530_BODY).digest('base64')}:, ${RFC9530_DIGEST}`;
    expect(read(header(`, digest="${both}"`), sha256(RFC9530_BODY)).digest).toBe(both);
  });
});

describe('MPP opaque and method id', () => {
  it.each([
    ['standard base64 characters', `${base64urlnopad.encode(new Uint8Array([251, 255, 254]))}+/`],
    ['padding', `${enc({ a: 'b' })}==`],
    ['a dot', 'eyJh.YiJ9'],
    ['nothing', ''],
  ])('refuses an opaque that is not base64url: %s', (_what, opaque) => {
    refused(() => read(header(`, opaque="${opaque}"`)), /opaque value that is not base64url/);
  });

  it.each([
    ['not JSON', base64urlnopad.encode(new TextEncoder().encode('pi_123'))],
    ['an array', enc(['a'])],
    ['a number value', enc({ n: 1 })],
  ])('refuses an opaque that is not a map of strings: %s', (_what, opaque) => {
    refused(() => read(header(`, opaque="${opaque}"`)), /opaque value/);
  });

  it('refuses a request that does not decode, whatever else the challenge carries', () => {
    refused(
      () =>
        read(
          `Payment id="a", realm="r", method="lightning", intent="charge", request="%%%", opaque="${enc({ a: 'b' })}"`,
        ),
      /does not decode/,
    );
  });

  it.each(['light-ning', 'ln2', 'pay_card', 'card '])('refuses the method id %s', (method) => {
    refused(
      () => read(`Payment id="a", realm="r", method="${method}", intent="charge", request="${REQUEST}"`),
      /not lowercase letters/,
    );
  });

  it('still reads the card method id older card services issue', () => {
    expect(
      read(
        `Payment id="a", realm="r", method="paybound-card", intent="charge", request="${enc({ amount: '5', currency: 'usd' })}"`,
      ).method,
    ).toBe('paybound-card');
  });
});

describe('cross-checked with mppx, the reference SDK', () => {
  const SECRET = 'an app secret';
  const body = JSON.stringify({ prompt: 'a haiku about rain' });
  const issue = (digest: string | undefined) =>
    Challenge.from({
      realm: 'api.example.com',
      method: 'lightning',
      intent: 'charge',
      request: { amount: '21', currency: 'sat', methodDetails: { invoice: 'lnbcrt210n1x' } },
      expires: '2026-11-25T12:10:00Z',
      description: 'A haiku',
      meta: { order: 'ord_42', session: 's-1' },
      ...(digest ? { digest } : {}),
      secretKey: SECRET,
    });

  it.each([
    ['its own digest form', BodyDigest.compute(body)],
    ['the RFC 9530 digest form', `sha-256=:${createHash('sha256').update(body).digest('base64')}:`],
  ])('our credential for its challenge verifies with its HMAC binding (%s)', (_form, digest) => {
    const issued = issue(digest);
    const c = read(Challenge.serialize(issued), sha256(body));
    expect(c.opaque).toBe(issued.opaque);
    const theirs = Credential.deserialize(mppCredential(c, { preimage: 'ab'.repeat(32) }));
    expect(theirs.payload).toEqual({ preimage: 'ab'.repeat(32) });
    expect(theirs.challenge.opaque).toBe(issued.opaque);
    expect(theirs.challenge.digest).toBe(digest);
    expect(Challenge.verify(theirs.challenge, { secretKey: SECRET })).toBe(true);
  });

  it('its binding fails for a credential that dropped opaque, as ours did before', () => {
    const issued = issue(undefined);
    const c = read(Challenge.serialize(issued));
    const { opaque: _dropped, params, ...rest } = c;
    const stripped = { ...rest, params: (params ?? []).filter(([k]) => k !== 'opaque') };
    const theirs = Credential.deserialize(mppCredential(stripped, { preimage: 'ab' }));
    expect(Challenge.verify(theirs.challenge, { secretKey: SECRET })).toBe(false);
  });

  it('its digest and ours agree on the body, and disagree on another', () => {
    expect(digestSha256(BodyDigest.compute(body))).toBe(sha256(body));
    expect(digestSha256(BodyDigest.compute(`${body} `))).not.toBe(sha256(body));
  });

  it('refuses its challenge when the page sends another body', () => {
    refused(
      () => read(Challenge.serialize(issue(BodyDigest.compute(body))), sha256('{}')),
      /another request body/,
    );
  });
});
