/**
 * Exchange rates as exact rationals: a rate is the price of one bitcoin in the currency's minor
 * units (cents), an integer. Conversions round up, so a budget never under-counts a charge.
 */

export const MSAT_PER_BTC = 100_000_000_000n;

export interface Rate {
  /** ISO 4217 code, e.g. 'USD'. */
  currency: string;
  /** Minor units (cents) per 1 BTC. */
  minorPerBtc: bigint;
  /** Who said so: a provider id, or 'manual'. */
  source: string;
  /** When the source stated it, unix ms. */
  asOf: number;
}

/** Decimal places of a currency's minor unit (USD 2, JPY 0, BHD 3). */
export function minorDigits(currency: string): number {
  return (
    new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
  );
}

/** "97123.456" (major units per BTC) → minor units per BTC, exactly; extra decimals round up. */
export function parseDecimalRate(decimal: string, currency: string): bigint {
  const m = /^(\d{1,15})(?:\.(\d{1,18}))?$/.exec(decimal.trim());
  if (!m) throw new Error(`not a decimal rate: ${decimal}`);
  const digits = minorDigits(currency);
  const whole = BigInt(m[1] ?? '0');
  const frac = m[2] ?? '';
  const kept = BigInt((frac.slice(0, digits) || '0').padEnd(digits, '0'));
  const dropped = frac.slice(digits);
  const roundUp = /[1-9]/.test(dropped) ? 1n : 0n;
  const value = whole * 10n ** BigInt(digits) + kept + roundUp;
  if (value <= 0n) throw new Error('a rate must be positive');
  return value;
}

/** msat → minor units of the rate's currency, rounded up. */
export function msatToMinor(msat: bigint, rate: Pick<Rate, 'minorPerBtc'>): bigint {
  if (msat < 0n) throw new Error('negative amount');
  return (msat * rate.minorPerBtc + MSAT_PER_BTC - 1n) / MSAT_PER_BTC;
}

/**
 * Formats minor units as money in a locale, e.g. 1234n USD → "$12.34" (en) or "12,34 $" (fr).
 * Intl formats a decimal string exactly, so no float ever holds the amount.
 */
export function formatMinor(minor: bigint, currency: string, locale?: string): string {
  const nf = new Intl.NumberFormat(locale ?? defaultLocale, { style: 'currency', currency });
  // Intl takes exact decimal strings (ES2023); the bundled type definitions only know numbers.
  return (nf.format as (value: string) => string)(exactDecimal(minor, currency));
}

/** Minor units → an exact decimal string with a "." ("12.50"): what Intl and parsers read. */
function exactDecimal(minor: bigint, currency: string): string {
  return minorToInput(minor, currency, 'en');
}

let defaultLocale = 'en';
/** The UI sets the user's locale once; node tests keep the neutral 'en'. */
export function setMoneyLocale(locale: string): void {
  defaultLocale = locale;
}

/**
 * Formats msat as sats, keeping any millisatoshi fraction visible, grouped as the user's locale
 * groups numbers: 21000n → "21 sats", 21500n → "21.5 sats" ("21,5 sats" in German).
 */
export function formatMsatAsSats(msat: bigint, locale?: string): string {
  const sats = msat / 1000n;
  const rest = msat % 1000n;
  const exact = rest === 0n ? sats.toString() : `${sats}.${rest.toString().padStart(3, '0')}`;
  const nf = new Intl.NumberFormat(locale ?? defaultLocale, { maximumFractionDigits: 3 });
  // An exact decimal string, as in formatMinor: no float ever holds the amount.
  const text = (nf.format as (value: string) => string)(exact);
  return `${text} ${sats === 1n && rest === 0n ? 'sat' : 'sats'}`;
}

/**
 * A token amount in base units (10^decimals per token) with its symbol, exact, grouped as the
 * user's locale groups numbers, with at least two decimals: 10000n (6 decimals) → "0.01 USDC".
 */
export function formatToken(base: bigint, decimals: number, symbol: string, locale?: string): string {
  const scale = 10n ** BigInt(decimals);
  const frac = (base % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  const exact = `${base / scale}.${frac.padEnd(Math.min(2, decimals), '0')}`;
  const nf = new Intl.NumberFormat(locale ?? defaultLocale, {
    minimumFractionDigits: Math.min(2, decimals),
    maximumFractionDigits: Math.min(decimals, 20),
  });
  return `${(nf.format as (value: string) => string)(exact)} ${symbol}`;
}

/**
 * A money amount typed by a person ("12", "12.5", "12.50") → minor units, exactly. More decimals
 * than the currency has is an error, not a rounding.
 */
export function parseMoneyInput(text: string, currency: string): bigint {
  const m = /^\s*(\d{1,13})(?:[.,](\d+))?\s*$/.exec(text);
  if (!m) throw new Error('enter an amount such as 12.50');
  const digits = minorDigits(currency);
  const frac = m[2] ?? '';
  if (frac.length > digits) throw new Error(`at most ${digits} decimals for ${currency}`);
  return BigInt(m[1] ?? '0') * 10n ** BigInt(digits) + BigInt(frac.padEnd(digits, '0') || '0');
}

/**
 * Minor units → the plain decimal a person edits, without currency symbol or grouping, with the
 * locale's decimal mark ("12.50"; "12,50" in German). `parseMoneyInput` reads either mark back.
 */
export function minorToInput(minor: bigint, currency: string, locale?: string): string {
  const digits = minorDigits(currency);
  if (digits === 0) return minor.toString();
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  const unit = 10n ** BigInt(digits);
  return `${sign}${abs / unit}${decimalMark(locale ?? defaultLocale)}${(abs % unit).toString().padStart(digits, '0')}`;
}

/** The locale's decimal mark: only "." or ",", the two marks `parseMoneyInput` reads. */
function decimalMark(locale: string): '.' | ',' {
  const part = new Intl.NumberFormat(locale).formatToParts(1.5).find((x) => x.type === 'decimal');
  return part?.value === ',' ? ',' : '.';
}
