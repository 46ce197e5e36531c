/** Every language has every message, with the same placeholders, so no screen falls back to a key. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const LOCALES = join(import.meta.dirname, '../../../public/_locales');

type Messages = Record<string, { message: string; placeholders?: Record<string, { content: string }> }>;

const load = (lang: string): Messages =>
  JSON.parse(readFileSync(join(LOCALES, lang, 'messages.json'), 'utf8'));

const en = load('en');
const others = readdirSync(LOCALES).filter((l) => l !== 'en');

test('there is a German locale', () => {
  expect(others).toContain('de');
});

describe.each(others)('%s', (lang) => {
  const messages = load(lang);
  test('has exactly the keys of en', () => {
    expect(Object.keys(messages).sort()).toEqual(Object.keys(en).sort());
  });
  test('has the placeholders of en, and uses each one it declares', () => {
    for (const [key, entry] of Object.entries(en)) {
      const mine = messages[key];
      if (!mine) continue;
      const names = (e: Messages[string]) => Object.keys(e.placeholders ?? {}).sort();
      expect(names(mine), key).toEqual(names(entry));
      for (const name of names(mine)) expect(mine.message.toLowerCase(), key).toContain(`$${name}$`);
    }
  });
  test('no message is empty', () => {
    for (const [key, entry] of Object.entries(messages))
      expect(entry.message.trim().length, key).toBeGreaterThan(0);
  });
});

test('every en placeholder is used in its message', () => {
  for (const [key, entry] of Object.entries(en)) {
    for (const name of Object.keys(entry.placeholders ?? {})) {
      expect(entry.message.toLowerCase(), key).toContain(`$${name}$`);
    }
  }
});
