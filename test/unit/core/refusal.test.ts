import { describe, expect, it } from 'vitest';
import {
  isRefusedStatus,
  REFUSAL_HEADER_COUNT_MAX,
  REFUSAL_HEADER_VALUE_MAX,
  refusalHeaders,
} from '../../../src/core/payments/refusal';

describe('a refused credential', () => {
  it('is a 401, 402 or 403; anything else is a delivery', () => {
    expect([401, 402, 403].map(isRefusedStatus)).toEqual([true, true, true]);
    expect([200, 204, 302, 400, 404, 429, 500].map(isRefusedStatus)).not.toContain(true);
  });

  it('keeps only the evidence headers, named in lower case, in their order', () => {
    expect(
      refusalHeaders([
        ['Set-Cookie', 'session=secret'],
        ['WWW-Authenticate', 'L402 macaroon="m", invoice="i"'],
        ['Authorization', 'L402 token'],
        ['Content-Type', 'application/problem+json'],
        ['Payment-Receipt', 'r'],
        ['payment-required', 'x'],
      ]),
    ).toEqual([
      ['www-authenticate', 'L402 macaroon="m", invoice="i"'],
      ['content-type', 'application/problem+json'],
      ['payment-receipt', 'r'],
      ['payment-required', 'x'],
    ]);
  });

  it('bounds what a hostile app or page can make it keep: value length, count, control characters', () => {
    const long = refusalHeaders([['WWW-Authenticate', 'a'.repeat(100_000)]]);
    expect(long[0]?.[1]).toHaveLength(REFUSAL_HEADER_VALUE_MAX);
    const many = refusalHeaders(Array.from({ length: 50 }, () => ['content-type', 'text/html'] as const));
    expect(many).toHaveLength(REFUSAL_HEADER_COUNT_MAX);
    expect(refusalHeaders([['content-type', 'text/html\r\nX-Evil: 1\u0000']])).toEqual([
      ['content-type', 'text/html  X-Evil: 1 '],
    ]);
  });
});
