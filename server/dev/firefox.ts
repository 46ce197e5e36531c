/**
 * Finds the system Firefox, starts it, and installs a built Paybound as a temporary add-on,
 * through puppeteer-core over WebDriver BiDi. Never downloads a browser: these machines use
 * Debian's `firefox-esr` package.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/firefox-esr', '/usr/lib/firefox-esr/firefox-esr', '/usr/bin/firefox'];

export function findFirefox(): string {
  const fromEnv = process.env.FIREFOX_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`FIREFOX_PATH is set to ${fromEnv}, but no file is there`);
    return fromEnv;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'No Firefox found. Install Debian\'s: "apt-get update && apt-get install -y firefox-esr", ' +
        `or set FIREFOX_PATH to a Firefox binary. Looked in: ${CANDIDATES.join(', ')}`,
    );
  }
  return found;
}

/** The subset of WebDriver BiDi this module sends itself (puppeteer has no API for it). */
interface BidiConnection {
  send(method: string, params: object): Promise<{ result: unknown }>;
}

function bidi(browser: Browser): BidiConnection {
  // On a BiDi session `connection` is the BiDi connection, whatever the CDP-shaped type says.
  return (browser as unknown as { connection: BidiConnection }).connection;
}

/** Starts the system Firefox headless, with a fresh profile and no add-on yet. */
export function launchFirefox(opts: { headless?: boolean } = {}): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: findFirefox(),
    headless: opts.headless ?? true,
    // Lets the session reach the browser's own scope, where the add-on manager lives: the tests
    // stop the event page through it, as the browser does when the page has been idle.
    args: ['--remote-allow-system-access'],
    extraPrefsFirefox: {
      // The idle timer never stops the event page in the middle of a test: the test does.
      'extensions.background.idle.timeout': 3_600_000,
    },
  });
}

/**
 * Installs a build as a temporary add-on and resolves with its id (the manifest's gecko id).
 * Each install gets a new internal UUID, hence a moz-extension: origin, and storage, of its own.
 */
export function installExtension(browser: Browser, extensionDir: string): Promise<string> {
  // Firefox takes only an absolute path.
  return browser.installExtension(resolve(extensionDir));
}

/** Runs an expression in the browser's privileged scope (the main browser window). */
async function inBrowserScope(browser: Browser, expression: string): Promise<unknown> {
  const conn = bidi(browser);
  const tree = (await conn.send('browsingContext.getTree', { 'moz:scope': 'chrome' })).result as {
    contexts: { context: string; url: string }[];
  };
  const main = tree.contexts.find((c) => c.url === 'chrome://browser/content/browser.xhtml');
  if (!main)
    throw new Error('no browser window in the privileged scope (is --remote-allow-system-access set?)');
  const reply = (
    await conn.send('script.evaluate', {
      expression,
      target: { context: main.context },
      awaitPromise: true,
      resultOwnership: 'none',
    })
  ).result as
    | { type: 'success'; result: { value?: unknown } }
    | { type: 'exception'; exceptionDetails: unknown };
  if (reply.type !== 'success') throw new Error(`browser scope: ${JSON.stringify(reply.exceptionDetails)}`);
  return reply.result.value;
}

const extension = (id: string) =>
  'ChromeUtils.importESModule("resource://gre/modules/ExtensionParent.sys.mjs")' +
  `.ExtensionParent.GlobalManager.getExtension(${JSON.stringify(id)})`;

/** The event page's state as the browser keeps it: "running", "stopped", "starting" or "suspending". */
export async function backgroundState(browser: Browser, extensionId: string): Promise<string> {
  return String(await inBrowserScope(browser, `${extension(extensionId)}.backgroundState`));
}

/**
 * Stops the event page the way the browser's idle timer does (the same call, without the test
 * overrides), and resolves once it is stopped. The next event (a page's message, a request the
 * worker listens to) starts it again.
 *
 * Like the idle timer, the browser keeps the page running while one of its listeners has not
 * answered yet (a message from a window that is closing, say); the timer then tries again later.
 * Here the next try follows as soon as those answers are in.
 */
export async function stopEventPage(browser: Browser, extensionId: string): Promise<void> {
  const outcome = (await inBrowserScope(
    browser,
    `(async () => {
      const e = ${extension(extensionId)};
      let tries = 0;
      while (e.backgroundState === 'running' && tries < 10) {
        tries += 1;
        await Promise.allSettled([...(e.backgroundContext?.runListenerPromises ?? [])]);
        await e.terminateBackground();
      }
      return JSON.stringify({ state: e.backgroundState, tries });
    })()`,
  )) as string;
  const { state, tries } = JSON.parse(outcome) as { state: string; tries: number };
  if (state !== 'stopped')
    throw new Error(`the event page did not stop after ${tries} tries: it is ${state}`);
}

/**
 * Resolves once no window shows one of the extension's pages (a quote window closes itself after
 * a decision, a little after the decision's answer). A window closing is an event that starts a
 * stopped event page again, so a test that stops the page waits for this first.
 */
export async function extensionWindowsClosed(browser: Browser): Promise<void> {
  const left = (await inBrowserScope(
    browser,
    `(async () => {
      const open = () => [...Services.wm.getEnumerator('navigator:browser')].filter(
        (w) => !w.closed && w.gBrowser?.currentURI?.spec.startsWith('moz-extension:'),
      ).length;
      // Checked once per frame of the browser window, for at most ten seconds.
      for (let i = 0; i < 600 && open() > 0; i += 1) await new Promise((r) => requestAnimationFrame(r));
      return open();
    })()`,
  )) as number;
  if (left > 0) throw new Error(`${left} extension window(s) still open after ten seconds`);
}
