import { describe, expect, it } from 'vitest';
import { GECKO_ID, manifestFor, parseTarget } from '../../../manifest.config';
import manifest from '../../../manifest.json' with { type: 'json' };

describe('manifestFor', () => {
  it('gives Chrome manifest.json as written', () => {
    expect(manifestFor('chrome')).toEqual(manifest);
  });

  it('gives Firefox an event page, the add-on id and the data declaration, and nothing Chrome-only', () => {
    const firefox = manifestFor('firefox');
    expect(firefox.background).toEqual({ scripts: [manifest.background.service_worker], type: 'module' });
    expect('service_worker' in firefox.background).toBe(false);
    expect('minimum_chrome_version' in firefox).toBe(false);
    expect(firefox.browser_specific_settings.gecko).toMatchObject({
      id: GECKO_ID,
      strict_min_version: '140.0',
      data_collection_permissions: { required: ['financialAndPaymentInfo'] },
    });
    // Firefox also observes and attaches through the browser; Chrome holds neither permission,
    // which would slow its every request (docs/permissions.md).
    expect(firefox.permissions).toEqual([
      ...manifest.permissions,
      'webRequest',
      'declarativeNetRequestWithHostAccess',
    ]);
    expect(manifest.permissions).not.toContain('webRequest');
    expect(manifest.permissions.some((p) => p.startsWith('declarativeNetRequest'))).toBe(false);
    // Everything else is the same manifest.
    const { background: _b, browser_specific_settings: _s, permissions: _p, ...rest } = firefox;
    const { background: _cb, minimum_chrome_version: _m, permissions: _cp, ...chromeRest } = manifest;
    expect(rest).toEqual(chromeRest);
  });

  it('takes the target from PAYBOUND_TARGET, chrome by default, and refuses others', () => {
    expect(parseTarget(undefined)).toBe('chrome');
    expect(parseTarget('firefox')).toBe('firefox');
    expect(() => parseTarget('safari')).toThrow(/chrome, firefox/);
  });
});
