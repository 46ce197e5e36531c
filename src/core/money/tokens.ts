/**
 * Token amounts (base units: 10^decimals per token) as money. A dollar stablecoin such as USDC is
 * counted as US dollars one for one; the charge is rounded up to the cent, so a budget never
 * under-counts it. Exact integers throughout.
 */

/** Base units of a token with `decimals` decimals → minor units of a currency with `minorDigits`, rounded up. */
export function baseUnitsToMinor(baseUnits: bigint, decimals: number, minorDigits: number): bigint {
  if (baseUnits < 0n) throw new RangeError('negative amount');
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 36) throw new RangeError('bad decimals');
  if (!Number.isInteger(minorDigits) || minorDigits < 0 || minorDigits > 4)
    throw new RangeError('bad digits');
  if (decimals <= minorDigits) return baseUnits * 10n ** BigInt(minorDigits - decimals);
  const per = 10n ** BigInt(decimals - minorDigits);
  return (baseUnits + per - 1n) / per;
}

/**
 * US cents → minor units of another currency, through both currencies' bitcoin rates (minor units
 * per BTC, as the rate sources state them), rounded up: ceil(usd × to / usdPerBtc).
 */
export function usdMinorTo(usdMinor: bigint, usdMinorPerBtc: bigint, toMinorPerBtc: bigint): bigint {
  if (usdMinor < 0n) throw new RangeError('negative amount');
  if (usdMinorPerBtc <= 0n || toMinorPerBtc <= 0n) throw new RangeError('no rate');
  return (usdMinor * toMinorPerBtc + usdMinorPerBtc - 1n) / usdMinorPerBtc;
}

/** USDC (6 decimals) → US cents, rounded up: 10000 base units (one cent) → 1n, 10001 → 2n. */
export function usdcToUsdCents(baseUnits: bigint): bigint {
  return baseUnitsToMinor(baseUnits, 6, 2);
}
