import { describe, expect, it } from 'vitest';
import de from '../../../public/_locales/de/messages.json';
import en from '../../../public/_locales/en/messages.json';
import { ENGLISH, english, isSaidKey, said } from '../../../src/core/text/said';

type Locale = Record<string, { message: string; placeholders?: Record<string, { content: string }> }>;

/** Renders a locale message the way the browser's i18n does, for `$n` substitutions. */
function render(locale: Locale, key: string, args: string[]): string | undefined {
  const entry = locale[key];
  if (!entry) return undefined;
  return entry.message
    .replace(/\$(\w+)\$/g, (_, name: string) => entry.placeholders?.[name.toLowerCase()]?.content ?? '')
    .replace(/\$(\d)/g, (_, n: string) => args[Number(n) - 1] ?? '');
}

const keys = Object.keys(ENGLISH) as (keyof typeof ENGLISH)[];
const argsOf = (text: string) => [...new Set(text.match(/\$\d/g) ?? [])].sort();

describe('what the worker says', () => {
  it('puts the arguments in order', () => {
    expect(english(said('reasonRunaway', '7'))).toBe('this site was paid automatically 7 times recently');
    expect(english(said('failurePageWalletUnconfirmed', 'no wallet', 'noon'))).toContain('(no wallet)');
    expect(english(said('failurePageWalletUnconfirmed', 'no wallet', 'noon'))).toMatch(/at noon$/);
    expect(isSaidKey('reasonBlocked')).toBe(true);
    expect(isSaidKey('toString')).toBe(false);
  });

  it.each(keys)('%s reads the same in the English locale as in the record', (key) => {
    const args = ['ARG-ONE', 'ARG-TWO'];
    expect(render(en as Locale, key, args)).toBe(english({ key, args }));
  });

  it.each(keys)('%s has a German sentence with the same arguments', (key) => {
    const german = (de as Locale)[key]?.message;
    expect(german, `no German for ${key}`).toBeTruthy();
    const rendered = render(de as Locale, key, ['ARG-ONE', 'ARG-TWO']) ?? '';
    expect(
      argsOf(ENGLISH[key]).map((n) => rendered.includes(n === '$1' ? 'ARG-ONE' : 'ARG-TWO')),
    ).not.toContain(false);
    // Translated, unless the sentence is only its arguments (`$1: $2`).
    if (/[a-z]/i.test(ENGLISH[key].replace(/\$\d/g, '')))
      expect(rendered).not.toBe(english({ key, args: ['ARG-ONE', 'ARG-TWO'] }));
  });
});
