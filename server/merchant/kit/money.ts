// Amounts cross every boundary as integers: msat as bigint inside the kit, decimal strings in JSON.

export const MSAT_PER_SAT = 1000n;

/** Normalises a caller-supplied msat amount; rejects fractions, negatives and unsafe numbers. */
export function toMsat(value: bigint | number, what = 'amount'): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`${what} must be a safe integer number of msat, got ${value}`);
    }
    value = BigInt(value);
  }
  if (value < 0n) {
    throw new RangeError(`${what} must not be negative, got ${value}`);
  }
  return value;
}

export function satToMsat(sat: bigint | number): bigint {
  return toMsat(sat, 'sat amount') * MSAT_PER_SAT;
}
