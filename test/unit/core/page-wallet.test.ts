import { describe, expect, it } from 'vitest';
import { answerFits, PAGE_ANSWER_MAX_CHARS, weblnPreimage } from '../../../src/core/payments/page-wallet';

describe('weblnPreimage', () => {
  const hex = 'ab'.repeat(32);
  it('reads the preimage of a WebLN answer, in lower case, ignoring the other fields', () => {
    expect(weblnPreimage({ preimage: hex })).toBe(hex);
    expect(weblnPreimage({ preimage: hex.toUpperCase(), paymentHash: 'x', route: {} })).toBe(hex);
  });

  it('finds none in anything else', () => {
    for (const answer of [
      undefined,
      null,
      hex,
      [hex],
      { preimage: hex.slice(2) },
      { preimage: `${hex}00` },
      { preimage: `${'zz'.repeat(32)}` },
      { preimage: ` ${hex.slice(1)}` },
      { preimage: 7 },
      { preimage: { toString: () => hex } },
      { Preimage: hex },
      JSON.parse(`{"__proto__": {"preimage": "${hex}"}}`),
    ]) {
      expect(weblnPreimage(answer), JSON.stringify(answer)).toBeUndefined();
    }
  });
});

describe('answerFits', () => {
  it('takes what JSON can carry up to the limit, and nothing larger or stranger', () => {
    expect(answerFits(undefined)).toBe(true);
    expect(answerFits({ preimage: 'ab'.repeat(32) })).toBe(true);
    expect(answerFits('x'.repeat(PAGE_ANSWER_MAX_CHARS - 2))).toBe(true);
    expect(answerFits('x'.repeat(PAGE_ANSWER_MAX_CHARS - 1))).toBe(false);
    expect(answerFits({ n: 1n })).toBe(false);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(answerFits(cyclic)).toBe(false);
  });
});
