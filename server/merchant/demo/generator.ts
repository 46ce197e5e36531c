// Deterministic "AI" text: no model, just templates chosen by a hash of the prompt, filled with the
// prompt's own words. The same prompt always yields the same text.
import { createHash } from 'node:crypto';

const STOPWORDS = new Set(
  'a about after also an and are as at be before but by can could do for from give has have how i in into is it its just like make me more most my of on or our over please so some tell than that the their them then there these they this to us very was we what when which who why will with would write you your'.split(
    ' ',
  ),
);

const OPENINGS = [
  'Here is a first draft about {topic}.',
  'Let us think about {topic} for a moment.',
  'A short piece on {topic}, as requested.',
  'Consider {topic} from a fresh angle.',
];

const BODY = [
  '{Word} is where most readers start, so it deserves a clear, concrete example.',
  'Seen through {word}, the idea becomes easier to explain and harder to forget.',
  'A good paragraph about {word} answers one question and raises a better one.',
  'The interesting part of {word} is what it changes for the people involved.',
  'Without {word}, the argument would feel thin; with it, the piece has a spine.',
  'Most drafts rush past {word}; slowing down here pays off.',
];

const CLOSINGS = [
  'In short: keep it specific, keep it honest, and let the details carry the point.',
  'Revise once for clarity and once for rhythm, and the draft is ready.',
  'That is the outline; the next pass is about voice.',
  'End with the reader in mind, and the rest follows.',
];

/** The prompt's most telling words: the longest non-stopwords, kept in the order they appear. */
export function keywords(prompt: string, max = 4): string[] {
  const tokens = prompt.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? [];
  const unique = [...new Set(tokens.filter((t) => t.length >= 3 && !STOPWORDS.has(t)))];
  const chosen = new Set(
    [...unique].sort((a, b) => b.length - a.length || unique.indexOf(a) - unique.indexOf(b)).slice(0, max),
  );
  return unique.filter((t) => chosen.has(t));
}

export function generateText(prompt: string): string {
  const seed = createHash('sha256').update(prompt, 'utf8').digest();
  const pick = (list: readonly string[], i: number): string => list[seed[i % seed.length]! % list.length]!;
  const words = keywords(prompt);
  const topic = words.length > 0 ? words.join(', ') : 'your idea';
  const sentences = [pick(OPENINGS, 0).replace('{topic}', topic)];
  // Consecutive templates from a seeded start, so no sentence repeats within one answer.
  const start = seed[1]! % BODY.length;
  words.forEach((word, i) => {
    sentences.push(
      BODY[(start + i) % BODY.length]!.replace(
        '{Word}',
        word.charAt(0).toUpperCase() + word.slice(1),
      ).replace('{word}', word),
    );
  });
  sentences.push(pick(CLOSINGS, 7));
  return sentences.join(' ');
}

/**
 * A draft for /drafts/generate: the same deterministic text as generateText, cut at `maxWords`
 * whitespace-separated words. In practice drafts run 40–80 words, so a draft costs less than the
 * estimate's maximum (which assumes `maxWords`).
 */
export function writeDraft(prompt: string, maxWords = 100): string {
  const words = generateText(prompt)
    .split(/\s+/u)
    .filter((w) => w !== '');
  return words.slice(0, maxWords).join(' ');
}
