// The demo's price list. Integer sats (LNbits invoices are whole sats), returned as msat bigints.
import { satToMsat } from '../kit/money';

export interface DemoPricing {
  /** Flat part of a generate call. */
  generateBaseSat: number;
  /** Added per word of the prompt. */
  generatePerWordSat: number;
  /** Ceiling for a generate call. */
  generateCapSat: number;
  /** Fixed price of one article. */
  articleSat: number;
  /** Drafts: added per word the draft writes, on top of the prompt price. */
  draftPerWordSat: number;
  /** Drafts: the most words a draft writes (so the maximum is the prompt price + this × draftPerWordSat). */
  draftMaxWords: number;
  /** Drafts: ceiling for the maximum. */
  draftCapSat: number;
}

export const DEFAULT_PRICING: Readonly<DemoPricing> = {
  generateBaseSat: 2_000,
  generatePerWordSat: 10,
  generateCapSat: 10_000,
  articleSat: 1_000,
  draftPerWordSat: 20,
  draftMaxWords: 100,
  draftCapSat: 12_000,
};

/** Words are runs of non-space characters: what the user sees as words, and cheap to explain. */
export function countWords(prompt: string): number {
  return prompt.split(/\s+/u).filter((w) => w !== '').length;
}

export function quoteGenerateMsat(prompt: string, pricing: DemoPricing = DEFAULT_PRICING): bigint {
  const sat = Math.min(
    pricing.generateBaseSat + pricing.generatePerWordSat * countWords(prompt),
    pricing.generateCapSat,
  );
  return satToMsat(sat);
}

export function quoteArticleMsat(pricing: DemoPricing = DEFAULT_PRICING): bigint {
  return satToMsat(pricing.articleSat);
}

/**
 * A draft's estimate: the minimum is the prompt price (as for /api/generate), the maximum adds
 * draftPerWordSat for every word the draft may write (draftMaxWords), at most draftCapSat (never
 * below the minimum). Defaults: min = 2 000 + 10 × prompt words (≤ 10 000), max = min + 2 000 sat.
 */
export function quoteDraftMsat(
  prompt: string,
  pricing: DemoPricing = DEFAULT_PRICING,
): { minMsat: bigint; maxMsat: bigint } {
  const minMsat = quoteGenerateMsat(prompt, pricing);
  const minSat = Number(minMsat / 1000n);
  const maxSat = Math.max(
    minSat,
    Math.min(minSat + pricing.draftPerWordSat * pricing.draftMaxWords, pricing.draftCapSat),
  );
  return { minMsat, maxMsat: satToMsat(maxSat) };
}

/** What a draft of `wordsWritten` words costs: the prompt price + draftPerWordSat per word, never above the maximum. */
export function draftActualMsat(
  prompt: string,
  wordsWritten: number,
  pricing: DemoPricing = DEFAULT_PRICING,
): bigint {
  const { minMsat, maxMsat } = quoteDraftMsat(prompt, pricing);
  const words = Math.min(Math.max(wordsWritten, 0), pricing.draftMaxWords);
  const actual = minMsat + satToMsat(pricing.draftPerWordSat * words);
  // bigints: Math.min does not take them
  if (actual > maxMsat) return maxMsat;
  return actual;
}

/** The demo's fixed exchange rate for card prices: US dollars per bitcoin (the rate stand-in's default). */
export const DEFAULT_USD_PER_BTC = 100_000;

/**
 * Sats to US cents, rounded up so a card price never undercuts the Lightning one:
 * cents = ceil(sat × usdPerBtc × 100 / 100 000 000) = ceil(sat × usdPerBtc / 1 000 000), in integers.
 */
export function satToUsdCents(sat: bigint, usdPerBtc: number = DEFAULT_USD_PER_BTC): bigint {
  if (!Number.isSafeInteger(usdPerBtc) || usdPerBtc <= 0)
    throw new RangeError('usdPerBtc must be a positive integer');
  const numerator = sat * BigInt(usdPerBtc);
  return (numerator + 999_999n) / 1_000_000n;
}

/** The generate price in US cents: the same prompt pricing as in sats, converted with satToUsdCents. */
export function quoteGenerateCents(
  prompt: string,
  pricing: DemoPricing = DEFAULT_PRICING,
  usdPerBtc: number = DEFAULT_USD_PER_BTC,
): bigint {
  return satToUsdCents(quoteGenerateMsat(prompt, pricing) / 1000n, usdPerBtc);
}
