import { describe, expect, it } from 'vitest';
import { cleanMerchantText, MERCHANT_TEXT_MAX } from '../../../src/core/text/sanitize';

describe('cleanMerchantText: the app’s words as the quote window shows them', () => {
  it('takes out bidi overrides, isolates and marks, so reversed text cannot pose as something else', () => {
    const r = cleanMerchantText('invoice \u202Egnp.exe\u202C \u2066x\u2069 \u200Fok');
    expect(r.text).toBe('invoice gnp.exe x ok');
    expect(r.text).not.toMatch(/[\u200E\u200F\u202A-\u202E\u2066-\u2069]/);
    expect(r.altered).toBe(true);
  });

  it('takes out invisible characters: zero-width, BOM, soft hyphen, tag characters', () => {
    expect(cleanMerchantText('pa\u200By\uFEFFpal\u00AD \u{E0041}tag').text).toBe('paypal tag');
  });

  it('folds control characters and line breaks into single spaces', () => {
    expect(cleanMerchantText('one\ntwo\r\n\tthree\u0007\u2028four').text).toBe('one two three four');
  });

  it('replaces lone surrogates, keeps real emoji', () => {
    expect(cleanMerchantText('a\uD800b ✍️ 😀').text).toBe('a\uFFFDb ✍️ 😀');
  });

  it('cuts long text at the limit, counting code points, and says so', () => {
    const long = cleanMerchantText('😀'.repeat(500));
    expect(Array.from(long.text)).toHaveLength(MERCHANT_TEXT_MAX);
    expect(long.text.endsWith('…')).toBe(true);
    expect(long.altered).toBe(true);
  });

  it('leaves ordinary text alone and not marked as altered', () => {
    expect(cleanMerchantText('Quill: 120 words, café ✔')).toEqual({
      text: 'Quill: 120 words, café ✔',
      altered: false,
    });
    expect(cleanMerchantText('  spaced   out  ')).toEqual({ text: 'spaced out', altered: false });
  });
});
