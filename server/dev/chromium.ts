/**
 * Finds the system Chromium and launches it with a built Paybound loaded, through playwright-core.
 * Never downloads a browser: these machines use Debian's `chromium` package.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page, type Worker } from 'playwright-core';

const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function findChromium(): string {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROME_PATH is set to ${fromEnv}, but no file is there`);
    return fromEnv;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'No Chromium found. Install Debian\'s: "apt-get update && apt-get install -y chromium", ' +
        `or set CHROME_PATH to a Chromium binary. Looked in: ${CANDIDATES.join(', ')}`,
    );
  }
  return found;
}

export interface LaunchedBrowser {
  context: BrowserContext;
  serviceWorker: Worker;
  extensionId: string;
  userDataDir: string;
  close(): Promise<void>;
}

export async function launchWithExtension(opts: {
  extensionDir: string;
  headless?: boolean;
  userDataDir?: string;
  /** The browser's language, e.g. 'de': Chrome picks the extension's messages from it. */
  lang?: string;
  /** More command-line switches (e.g. host resolver rules for a test). */
  args?: string[];
}): Promise<LaunchedBrowser> {
  // A profile made here is this browser's alone: it goes when the browser closes.
  const madeHere = !opts.userDataDir;
  const userDataDir = opts.userDataDir ?? mkdtempSync(join(tmpdir(), 'paybound-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: findChromium(),
    headless: opts.headless ?? true,
    args: [
      `--disable-extensions-except=${opts.extensionDir}`,
      `--load-extension=${opts.extensionDir}`,
      '--disable-component-update',
      ...(opts.lang ? [`--lang=${opts.lang}`] : []),
      ...(opts.args ?? []),
    ],
    ...(opts.lang ? { locale: opts.lang } : {}),
    viewport: { width: 1100, height: 760 },
  });
  const serviceWorker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  const extensionId = new URL(serviceWorker.url()).host;
  // The worker is listed before its script has run; a message round trip proves its top-level
  // listeners (messages, webRequest) are registered before anything is navigated.
  const probe = await context.newPage();
  await probe.goto(extensionUrl(extensionId, 'src/ui/popup/index.html'));
  await probe.evaluate(() => chrome.runtime.sendMessage({ type: 'status.get', payload: {} }));
  await probe.close();
  const close = async () => {
    await context.close();
    if (madeHere) rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, serviceWorker, extensionId, userDataDir, close };
}

/** An extension page's URL, e.g. `extensionUrl(id, 'src/ui/popup/index.html')`. */
export function extensionUrl(extensionId: string, path: string): string {
  return `chrome-extension://${extensionId}/${path}`;
}

/**
 * Stops every service worker (CDP), as the browser does when one is idle; the next event wakes it.
 * Resolves only once CDP reported each worker that was running as stopped: a stop request sent
 * before the domain knew of a worker would otherwise leave it running, and a test that meant to
 * kill it would wait on a flow that never ended.
 */
export async function stopServiceWorkers(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  try {
    const status = new Map<string, string>();
    // Each version seen stopped at least once: a wake right after the stop is a new instance.
    const stopped = new Set<string>();
    let check = () => {};
    cdp.on('ServiceWorker.workerVersionUpdated', (e) => {
      for (const v of e.versions) {
        status.set(v.versionId, v.runningStatus);
        if (v.runningStatus === 'stopped') stopped.add(v.versionId);
      }
      check();
    });
    const until = (ok: () => boolean, what: () => string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`service workers: ${what()}`)), 15_000);
        check = () => {
          if (!ok()) return;
          clearTimeout(timer);
          resolve();
        };
        check();
      });
    await cdp.send('ServiceWorker.enable');
    // The domain reports the versions it knows right after `enable`; the extension's worker is one.
    await until(
      () => status.size > 0,
      () => 'none reported after ServiceWorker.enable',
    );
    const running = [...status].filter(([, s]) => s !== 'stopped').map(([id]) => id);
    for (const id of running) stopped.delete(id);
    const done = until(
      () => running.every((id) => stopped.has(id)),
      () => `still running after stopAllWorkers: ${JSON.stringify([...status])}`,
    );
    await cdp.send('ServiceWorker.stopAllWorkers');
    await done;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/**
 * Stops the service worker the way the browser does when it is idle (CDP), then wakes it with a
 * message from an extension page, so later `serviceWorker.evaluate` calls reach the new instance.
 */
export async function restartServiceWorker(context: BrowserContext, extensionPage: Page): Promise<void> {
  await stopServiceWorkers(context, extensionPage);
  await extensionPage.evaluate(() => chrome.runtime.sendMessage({ type: 'status.get', payload: {} }));
}
