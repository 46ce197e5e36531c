import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatMinor,
  formatMsatAsSats,
  MSAT_PER_BTC,
  msatToMinor,
  parseDecimalRate,
} from '../../../src/core/money/rates';

describe('rates', () => {
  it('parses decimal rates exactly into minor units per BTC, rounding extra decimals up', () => {
    expect(parseDecimalRate('100000.00', 'USD')).toBe(10_000_000n);
    expect(parseDecimalRate('97123.456', 'USD')).toBe(9_712_346n);
    expect(parseDecimalRate('97123.450', 'USD')).toBe(9_712_345n);
    expect(parseDecimalRate('15000000', 'JPY')).toBe(15_000_000n);
    expect(() => parseDecimalRate('1e5', 'USD')).toThrow();
    expect(() => parseDecimalRate('-5', 'USD')).toThrow();
    expect(() => parseDecimalRate('0.00', 'USD')).toThrow();
  });

  it('converts msat to cents rounding up: 2 100 sat at $100 000/BTC is $2.10', () => {
    const rate = { minorPerBtc: 10_000_000n };
    expect(msatToMinor(2_100_000n, rate)).toBe(210n);
    expect(msatToMinor(1n, rate)).toBe(1n);
    expect(msatToMinor(0n, rate)).toBe(0n);
  });

  it('never under-counts: converting back never gives less than the amount paid', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        (msat, minorPerBtc) => {
          const minor = msatToMinor(msat, { minorPerBtc });
          expect(minor * MSAT_PER_BTC).toBeGreaterThanOrEqual(msat * minorPerBtc);
          expect((minor - 1n) * MSAT_PER_BTC).toBeLessThan(msat * minorPerBtc);
        },
      ),
    );
  });

  it('formats money and sats without floats', () => {
    expect(formatMinor(123456n, 'USD')).toBe('$1,234.56');
    expect(formatMinor(5n, 'USD')).toBe('$0.05');
    expect(formatMinor(1500n, 'JPY')).toBe('¥1,500');
    expect(formatMinor(2n ** 70n, 'USD')).toBe('$11,805,916,207,174,113,034.24');
    expect(formatMinor(123450n, 'EUR', 'de-DE')).toBe('1.234,50\u00a0€');
    expect(formatMinor(-5n, 'USD')).toBe('-$0.05');
    expect(formatMsatAsSats(2_100_000n)).toBe('2,100 sats');
    expect(formatMsatAsSats(1000n)).toBe('1 sat');
    expect(formatMsatAsSats(21_500n)).toBe('21.5 sats');
    // Grouped as the locale groups, exactly (no float): German uses dots and a decimal comma.
    expect(formatMsatAsSats(2n ** 60n + 1n, 'de')).toBe('1.152.921.504.606.846,977 sats');
    expect(formatMsatAsSats(996_910_000n, 'de')).toBe('996.910 sats');
  });
});

describe('money typed by a person', () => {
  it('parses exactly and refuses what it cannot represent', async () => {
    const { parseMoneyInput, minorToInput, formatMinor } = await import('../../../src/core/money/rates');
    expect(parseMoneyInput('12', 'USD')).toBe(1200n);
    expect(parseMoneyInput('12.5', 'USD')).toBe(1250n);
    expect(parseMoneyInput(' 0.25 ', 'USD')).toBe(25n);
    expect(parseMoneyInput('1500', 'JPY')).toBe(1500n);
    expect(() => parseMoneyInput('1.234', 'USD')).toThrow(/at most 2 decimals/);
    expect(() => parseMoneyInput('-1', 'USD')).toThrow();
    expect(() => parseMoneyInput('1e3', 'USD')).toThrow();
    expect(minorToInput(1250n, 'USD')).toBe('12.50');
    expect(minorToInput(5n, 'USD')).toBe('0.05');
    // In the user's own decimal mark, and read back either way.
    expect(minorToInput(1250n, 'EUR', 'de')).toBe('12,50');
    expect(parseMoneyInput(minorToInput(1250n, 'EUR', 'de'), 'EUR')).toBe(1250n);
    expect(minorToInput(1250n, 'USD', 'en-US')).toBe('12.50');
    // Display in German is still exact (the decimal mark of inputs is not the one Intl reads).
    expect(formatMinor(1250n, 'EUR', 'de')).toBe('12,50\u00a0€');
  });
});
