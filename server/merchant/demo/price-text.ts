// Prices as people read them: "2,050 sats · $2.05". Integers only (sats and cents as bigints);
// the card part uses the same rounding as the card price itself (satToUsdCents), so the page never
// shows a dollar amount other than the one a card is charged.
import { type DemoPricing, satToUsdCents } from './pricing';

/** "2050" → "2,050". A fixed separator, so the page reads the same in every locale the server runs in. */
export function groupDigits(n: bigint): string {
  return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "1 sat", "2,050 sats". */
export function satsText(sat: bigint): string {
  return `${groupDigits(sat)} ${sat === 1n ? 'sat' : 'sats'}`;
}

/** "$2.05", "$1,000.00". */
export function usdText(cents: bigint): string {
  return `$${groupDigits(cents / 100n)}.${(cents % 100n).toString().padStart(2, '0')}`;
}

/**
 * "2,050 sats · $2.05" when the app takes cards (usdPerBtc given), else "2,050 sats". The dollar
 * part is rounded up to the cent, as the card price is.
 */
export function priceText(sat: bigint, usdPerBtc?: number): string {
  const sats = satsText(sat);
  return usdPerBtc === undefined ? sats : `${sats} · ${usdText(satToUsdCents(sat, usdPerBtc))}`;
}

/** "10 sats a word": per-word rates stay in sats (their dollar value is rounded only on the total). */
function perWordText(sat: number): string {
  return `${satsText(BigInt(sat))} a word`;
}

function wordsText(words: number): string {
  return `${groupDigits(BigInt(words))} ${words === 1 ? 'word' : 'words'}`;
}

/** The highest price of a generate call: the cap, or the flat price when nothing is added per word. */
function generateHighestSat(p: DemoPricing): number {
  return p.generatePerWordSat === 0 ? Math.min(p.generateBaseSat, p.generateCapSat) : p.generateCapSat;
}

/**
 * The generate price in a sentence: "From 2,000 sats · $2.00, plus 10 sats a word, at most
 * 10,000 sats · $10.00", or "2,000 sats · $2.00 a request" when the price does not depend on the prompt.
 */
export function generatePricingNote(p: DemoPricing, usdPerBtc?: number): string {
  if (p.generatePerWordSat === 0 || p.generateBaseSat >= p.generateCapSat) {
    return `${priceText(BigInt(generateHighestSat(p)), usdPerBtc)} a request`;
  }
  return (
    `From ${priceText(BigInt(p.generateBaseSat), usdPerBtc)}, plus ${perWordText(p.generatePerWordSat)}, ` +
    `at most ${priceText(BigInt(p.generateCapSat), usdPerBtc)}`
  );
}

/**
 * The draft price in a sentence: the prompt price plus what the draft writes, its highest price,
 * and that the maximum is paid up front with the unused part coming back.
 */
export function draftPricingNote(p: DemoPricing, usdPerBtc?: number): string {
  if (p.draftPerWordSat === 0 || p.draftMaxWords === 0) return 'Draft: the same price as the prompt.';
  // quoteDraftMsat grows with the prompt price, so the highest prompt price gives the highest draft.
  const highest = generateHighestSat(p);
  const draftHighest = Math.max(
    highest,
    Math.min(highest + p.draftPerWordSat * p.draftMaxWords, p.draftCapSat),
  );
  return (
    `Draft: the prompt price plus ${perWordText(p.draftPerWordSat)} written, up to ` +
    `${wordsText(p.draftMaxWords)}, at most ${priceText(BigInt(draftHighest), usdPerBtc)}. ` +
    'You pay the most it can cost and get back what it does not use.'
  );
}
