/**
 * The manifest for each browser, from the one source in manifest.json (written for Chrome).
 * Firefox gets an event page instead of a service worker, webRequest and declarativeNetRequest,
 * and the add-on id and data declaration that addons.mozilla.org requires.
 */
import manifest from './manifest.json' with { type: 'json' };

export type Target = 'chrome' | 'firefox';

export const TARGETS: readonly Target[] = ['chrome', 'firefox'];

/** The add-on's id in Firefox: it keys the profile's storage, so it never changes. */
export const GECKO_ID = 'paybound@paybound.app';

type ChromeManifest = typeof manifest;

/** Firefox's data types for `data_collection_permissions` (none, or what leaves the browser). */
type DataType =
  | 'none'
  | 'personallyIdentifyingInfo'
  | 'healthInfo'
  | 'financialAndPaymentInfo'
  | 'authenticationInfo'
  | 'personalCommunications'
  | 'locationInfo'
  | 'browsingActivity'
  | 'websiteContent'
  | 'websiteActivity'
  | 'searchTerms'
  | 'bookmarksInfo';

export interface FirefoxManifest extends Omit<ChromeManifest, 'background' | 'minimum_chrome_version'> {
  background: { scripts: string[]; type: 'module' };
  browser_specific_settings: {
    gecko: {
      id: string;
      strict_min_version: string;
      data_collection_permissions: { required: DataType[] };
    };
    gecko_android: { strict_min_version: string };
  };
}

export function parseTarget(value: string | undefined): Target {
  const target = value ?? 'chrome';
  if (!(TARGETS as readonly string[]).includes(target)) {
    throw new Error(`PAYBOUND_TARGET must be one of ${TARGETS.join(', ')}; got "${target}"`);
  }
  return target as Target;
}

export function manifestFor(target: 'chrome'): ChromeManifest;
export function manifestFor(target: 'firefox'): FirefoxManifest;
export function manifestFor(target: Target): ChromeManifest | FirefoxManifest;
export function manifestFor(target: Target): ChromeManifest | FirefoxManifest {
  if (target === 'chrome') return manifest;
  const { background, minimum_chrome_version: _chromeOnly, ...common } = manifest;
  return {
    ...common,
    // Firefox has no extension service workers: the same script runs as an event page, which the
    // browser suspends when idle and starts again on the next event, as Chrome does with the worker.
    background: { scripts: [background.service_worker], type: 'module' },
    // Firefox's fetch() hides a repeated WWW-Authenticate and its pages cannot read their own page
    // load's status: webRequest shows both, and session rules carry page-load tokens. Chromium
    // needs neither, and both would slow its every request (docs/permissions.md).
    permissions: [...common.permissions, 'webRequest', 'declarativeNetRequestWithHostAccess'],
    browser_specific_settings: {
      gecko: {
        id: GECKO_ID,
        // 140: the first release with the built-in data consent that the declaration below feeds.
        strict_min_version: '140.0',
        // Paying sends the charge (amount, payee, description) to the wallet or card service the
        // user linked, and a refund request goes to the app that charged: payment data leaves the
        // browser, and nothing else does (docs/permissions.md).
        data_collection_permissions: { required: ['financialAndPaymentInfo'] },
      },
      // Firefox for Android reads the data declaration from 142 on; without its own minimum it
      // would inherit 140 from the desktop one.
      gecko_android: { strict_min_version: '142.0' },
    },
  };
}
