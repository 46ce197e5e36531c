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
}

export const DEFAULT_PRICING: Readonly<DemoPricing> = {
  generateBaseSat: 2_000,
  generatePerWordSat: 10,
  generateCapSat: 10_000,
  articleSat: 1_000,
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
