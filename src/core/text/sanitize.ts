/**
 * Merchant-supplied text (an invoice memo, an MPP description) as Paybound shows it: without bidi
 * controls or invisible formatting that could make it read differently from what it is, without
 * control characters, on one line, and no longer than a quote window can show honestly.
 */

/**
 * Bidi controls (LRM, RLM, ALM, embeddings, overrides, isolates), zero-width and joiner marks,
 * word joiner and invisible operators, the BOM, soft hyphen, Mongolian vowel separator, Hangul
 * fillers and the tag block: characters that change how text reads without being seen.
 */
// Written as escapes in a string: a regex literal of these would itself be invisible to a reader.
const INVISIBLE = new RegExp(
  [
    '[\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u202A-\\u202E',
    '\\u2060-\\u206F\\u3164\\uFEFF\\uFFA0\\uFFF9-\\uFFFB]',
    '|\\uDB40[\\uDC00-\\uDC7F]',
  ].join(''),
  'g',
);
/** C0 and C1 controls, and line and paragraph separators: folded into spaces. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]+/g;
/** Lone surrogates cannot be shown; they are replaced. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export const MERCHANT_TEXT_MAX = 140;

export interface CleanText {
  text: string;
  /** Something was taken out or cut: the window says the app's words were altered. */
  altered: boolean;
}

/** Cleans one merchant string for display; `max` counts code points. */
export function cleanMerchantText(raw: string, max = MERCHANT_TEXT_MAX): CleanText {
  const stripped = raw
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(INVISIBLE, '')
    .replace(CONTROLS, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const points = Array.from(stripped);
  const text = points.length > max ? `${points.slice(0, max - 1).join('')}…` : stripped;
  return { text, altered: text !== raw.replace(/\s+/g, ' ').trim() };
}
