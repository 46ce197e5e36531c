/**
 * Minimal Chrome extensions for the bench's floors, each with one mechanism Paybound uses, written
 * to a temporary folder at run time. Each one does as little as its mechanism allows, so its cost
 * on a page's requests is the mechanism's own (P1), or, for the window opener, the least a quote
 * window can cost (P3).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MinimalExtension {
  /** What the bench prints for it. */
  label: string;
  manifest: Record<string, unknown>;
  /** File name → content. */
  files: Record<string, string>;
}

const HOSTS = ['http://*/*', 'https://*/*'];

const manifest = (name: string, extra: Record<string, unknown>): Record<string, unknown> => ({
  manifest_version: 3,
  name,
  version: '1',
  ...extra,
});

/** Paybound's own page-load listener (src/background/index.ts): main frames only; with extraHeaders, as it was. */
const listener = (options: string[]) =>
  `chrome.webRequest.onHeadersReceived.addListener((d) => { if (d.statusCode === 402) console.log(d.url); },
  { urls: ${JSON.stringify(HOSTS)}, types: ['main_frame'] }, ${JSON.stringify(options)});`;

export const P1_MECHANISMS = {
  hostPermissions: {
    label: 'host permissions for every site, and no API that uses them',
    manifest: manifest('hostPermissions', {
      host_permissions: HOSTS,
      background: { service_worker: 'sw.js' },
    }),
    files: { 'sw.js': '// Only the host permissions: whether they alone cost anything.\n' },
  },
  webRequestUnused: {
    label: 'the webRequest permission with host access, no listener',
    manifest: manifest('webRequestUnused', {
      permissions: ['webRequest'],
      host_permissions: HOSTS,
      background: { service_worker: 'sw.js' },
    }),
    files: {
      'sw.js': '// The permission only: whether a listener added when needed would cost nothing meanwhile.\n',
    },
  },
  webRequest: {
    label: 'a webRequest listener (main frames, responseHeaders: as Paybound asks)',
    manifest: manifest('webRequest', {
      permissions: ['webRequest'],
      host_permissions: HOSTS,
      background: { service_worker: 'sw.js' },
    }),
    files: { 'sw.js': listener(['responseHeaders']) },
  },
  extraHeaders: {
    label: 'the same listener with extraHeaders (as Paybound asked until it was measured)',
    manifest: manifest('extraHeaders', {
      permissions: ['webRequest'],
      host_permissions: HOSTS,
      background: { service_worker: 'sw.js' },
    }),
    files: { 'sw.js': listener(['responseHeaders', 'extraHeaders']) },
  },
  hostAccess: {
    label: 'declarativeNetRequest with host access, no rule',
    manifest: manifest('hostAccess', {
      permissions: ['declarativeNetRequestWithHostAccess'],
      host_permissions: HOSTS,
      background: { service_worker: 'sw.js' },
    }),
    files: { 'sw.js': '// Only the permission: no rule at all, as Paybound before its first payment.\n' },
  },
  dnrNoHosts: {
    label: 'declarativeNetRequest without any host permission, no rule',
    manifest: manifest('dnrNoHosts', {
      permissions: ['declarativeNetRequest'],
      background: { service_worker: 'sw.js' },
    }),
    files: { 'sw.js': '// Whether the permission costs without host access to the page at all.\n' },
  },
  optionalUngranted: {
    label: 'webRequest and declarativeNetRequest declared optional, not granted',
    manifest: manifest('optionalUngranted', {
      optional_permissions: ['webRequest', 'declarativeNetRequestWithHostAccess'],
      host_permissions: HOSTS,
      background: { service_worker: 'sw.js' },
    }),
    files: { 'sw.js': '// Declared, never asked for: whether a declaration alone costs anything.\n' },
  },
  sessionRule: {
    // The bench adds the rule through the worker (dnrRule below) before measuring.
    label: 'declarativeNetRequest with host access and one session rule',
    manifest: manifest('sessionRule', {
      permissions: ['declarativeNetRequestWithHostAccess'],
      host_permissions: HOSTS,
      background: { service_worker: 'sw.js' },
    }),
    files: { 'sw.js': '// The bench adds a session rule from outside.\n' },
  },
  contentScript: {
    label: 'an isolated-world content script in every frame at document_start',
    manifest: manifest('contentScript', {
      content_scripts: [{ matches: HOSTS, js: ['cs.js'], run_at: 'document_start', all_frames: true }],
    }),
    files: {
      // What the bridge does in every page until a 402: listen for the page's messages.
      'cs.js': `window.addEventListener('message', (e) => { if (e.source === window && e.data?.bench) chrome.runtime.sendMessage(e.data); });`,
    },
  },
  mainWorld: {
    label: 'a main-world script wrapping fetch in every frame at document_start',
    manifest: manifest('mainWorld', {
      content_scripts: [
        { matches: HOSTS, js: ['main.js'], run_at: 'document_start', all_frames: true, world: 'MAIN' },
      ],
    }),
    files: {
      'main.js': `(() => {
  const nativeFetch = window.fetch;
  window.fetch = function (...args) {
    return nativeFetch.apply(this, args).then((res) => {
      if (res.status === 402) window.postMessage({ bench: 402 }, '*');
      return res;
    });
  };
})();`,
    },
  },
} satisfies Record<string, MinimalExtension>;

export type P1Mechanism = keyof typeof P1_MECHANISMS;

/**
 * A token rule as Paybound writes one (src/background/services/tokens.ts): set Authorization on
 * requests from the demo's site to its paid path. The bench's plain requests go elsewhere, so the
 * rule is evaluated on each of them and matches none.
 */
export function dnrRule(demoOrigin: string): chrome.declarativeNetRequest.Rule {
  return {
    id: 1,
    priority: 1,
    action: {
      type: 'modifyHeaders' as chrome.declarativeNetRequest.RuleActionType,
      requestHeaders: [
        {
          header: 'authorization',
          operation: 'set' as chrome.declarativeNetRequest.HeaderOperation,
          value: 'L402 bench:00',
        },
      ],
    },
    condition: {
      urlFilter: `|${demoOrigin}/api/`,
      resourceTypes: ['xmlhttprequest' as chrome.declarativeNetRequest.ResourceType],
      initiatorDomains: [new URL(demoOrigin).hostname],
    },
  };
}

/**
 * Reads the headers of every fetch/XHR response, as the worker would have to if it checked each
 * page's 402 report against what the browser saw (the design not taken, docs/threat-model.md).
 */
export const RESPONSE_OBSERVER: MinimalExtension = {
  label: 'a webRequest observer of every fetch/XHR response',
  manifest: manifest('observer', {
    permissions: ['webRequest'],
    host_permissions: HOSTS,
    background: { service_worker: 'sw.js' },
  }),
  files: {
    'sw.js': `chrome.webRequest.onHeadersReceived.addListener((d) => { if (d.statusCode === 402) console.log(d.url); },
  { urls: ${JSON.stringify(HOSTS)}, types: ['xmlhttprequest'] }, ['responseHeaders']);`,
  },
};

/** The page that the window floor's popup shows: nothing but the button the bench waits for. */
export const FLOOR_WINDOW_PAGE = 'window.html';

/**
 * The window-open floor (P3): the page tells the extension of its 402 through a content script,
 * and the worker opens a popup window as Paybound's approvals do (src/platform/windows.ts), with a
 * static page holding only an approve button.
 */
export const WINDOW_OPENER: MinimalExtension = {
  label: 'an extension that opens an empty popup window on a message',
  manifest: manifest('windowOpener', {
    background: { service_worker: 'sw.js' },
    content_scripts: [{ matches: HOSTS, js: ['cs.js'], run_at: 'document_start', all_frames: true }],
  }),
  files: {
    'cs.js': `window.addEventListener('message', (e) => { if (e.source === window && e.data?.bench === 402) chrome.runtime.sendMessage({ open: true }); });`,
    'sw.js': `chrome.runtime.onMessage.addListener((m) => {
  if (m?.open) chrome.windows.create({ url: '${FLOOR_WINDOW_PAGE}', type: 'popup', width: 460, height: 640, focused: true });
});`,
    [FLOOR_WINDOW_PAGE]:
      '<!doctype html><html><head><meta charset="utf-8"><title>floor</title></head><body><button data-testid="approve">Approve</button></body></html>\n',
  },
};

/** Writes an extension into this empty folder (the caller made it and removes it); returns the folder. */
export function writeExtension(ext: MinimalExtension, dir: string): string {
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(ext.manifest));
  for (const [name, content] of Object.entries(ext.files)) writeFileSync(join(dir, name), content);
  return dir;
}
