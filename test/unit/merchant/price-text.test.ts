// The demo's prices as text: exact strings, since people read them on the page.
import { describe, expect, it } from 'vitest';
import {
  draftPricingNote,
  generatePricingNote,
  groupDigits,
  priceText,
  satsText,
  usdText,
} from '../../../server/merchant/demo/price-text';
import { DEFAULT_PRICING, type DemoPricing } from '../../../server/merchant/demo/pricing';

describe('amounts', () => {
  it('groups digits in threes with commas', () => {
    expect(groupDigits(0n)).toBe('0');
    expect(groupDigits(999n)).toBe('999');
    expect(groupDigits(1000n)).toBe('1,000');
    expect(groupDigits(2050n)).toBe('2,050');
    expect(groupDigits(1234567n)).toBe('1,234,567');
    expect(groupDigits(21_000_000_00_000_000n)).toBe('2,100,000,000,000,000');
  });

  it('says "sat" for one and "sats" otherwise', () => {
    expect(satsText(1n)).toBe('1 sat');
    expect(satsText(0n)).toBe('0 sats');
    expect(satsText(2n)).toBe('2 sats');
    expect(satsText(2050n)).toBe('2,050 sats');
  });

  it('writes cents as dollars with two decimals', () => {
    expect(usdText(0n)).toBe('$0.00');
    expect(usdText(1n)).toBe('$0.01');
    expect(usdText(205n)).toBe('$2.05');
    expect(usdText(200n)).toBe('$2.00');
    expect(usdText(123_456_789n)).toBe('$1,234,567.89');
  });

  it('adds the card price only with a rate, rounded up to the cent', () => {
    expect(priceText(2050n)).toBe('2,050 sats');
    expect(priceText(2050n, 100_000)).toBe('2,050 sats · $2.05');
    expect(priceText(1n)).toBe('1 sat');
    // 1 sat at 100 000 USD/BTC is a tenth of a cent: a card is charged one cent.
    expect(priceText(1n, 100_000)).toBe('1 sat · $0.01');
    // 2 055 sat is 205.5 cents: $2.06, never $2.05.
    expect(priceText(2055n, 100_000)).toBe('2,055 sats · $2.06');
    expect(priceText(0n, 100_000)).toBe('0 sats · $0.00');
    expect(priceText(2010n, 50_000)).toBe('2,010 sats · $1.01');
    expect(priceText(100_000_000n, 100_000)).toBe('100,000,000 sats · $100,000.00');
  });
});

describe('the generate note', () => {
  it('reads as a sentence for the default prices', () => {
    expect(generatePricingNote(DEFAULT_PRICING)).toBe(
      'From 2,000 sats, plus 10 sats a word, at most 10,000 sats',
    );
    expect(generatePricingNote(DEFAULT_PRICING, 100_000)).toBe(
      'From 2,000 sats · $2.00, plus 10 sats a word, at most 10,000 sats · $10.00',
    );
  });

  it('says "1 sat a word", and a flat price when the prompt does not change it', () => {
    const pricing: DemoPricing = { ...DEFAULT_PRICING, generateBaseSat: 1, generatePerWordSat: 1 };
    expect(generatePricingNote(pricing)).toBe('From 1 sat, plus 1 sat a word, at most 10,000 sats');
    expect(generatePricingNote({ ...DEFAULT_PRICING, generatePerWordSat: 0 }, 100_000)).toBe(
      '2,000 sats · $2.00 a request',
    );
    // A base at or above the cap: every prompt costs the cap.
    expect(generatePricingNote({ ...DEFAULT_PRICING, generateBaseSat: 12_000 })).toBe(
      '10,000 sats a request',
    );
  });
});

describe('the draft note', () => {
  it('reads as a sentence for the default prices', () => {
    expect(draftPricingNote(DEFAULT_PRICING)).toBe(
      'Draft: the prompt price plus 20 sats a word written, up to 100 words, at most 12,000 sats. ' +
        'You pay the most it can cost and get back what it does not use.',
    );
    expect(draftPricingNote(DEFAULT_PRICING, 100_000)).toBe(
      'Draft: the prompt price plus 20 sats a word written, up to 100 words, at most 12,000 sats · $12.00. ' +
        'You pay the most it can cost and get back what it does not use.',
    );
  });

  it('names its true highest price, singular words, and a draft that adds nothing', () => {
    // The draft cap is above what the prompt price and the words can reach: 10 000 + 1 × 1.
    const one: DemoPricing = { ...DEFAULT_PRICING, draftPerWordSat: 1, draftMaxWords: 1 };
    expect(draftPricingNote(one)).toBe(
      'Draft: the prompt price plus 1 sat a word written, up to 1 word, at most 10,001 sats. ' +
        'You pay the most it can cost and get back what it does not use.',
    );
    // A draft cap below the highest prompt price: a draft never costs less than its prompt.
    expect(draftPricingNote({ ...DEFAULT_PRICING, draftCapSat: 5_000 })).toContain('at most 10,000 sats.');
    expect(draftPricingNote({ ...DEFAULT_PRICING, draftPerWordSat: 0 })).toBe(
      'Draft: the same price as the prompt.',
    );
  });
});
