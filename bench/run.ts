/**
 * `npm run bench`: speed of the payment path, each figure measured side by side with its floor in
 * one run on this machine (absolute times are noise here; ratios are what to compare).
 *
 *  P1 plain (non-402) fetches: Paybound, and minimal extensions with one of its mechanisms each,
 *     against the same browser without any extension (and the wrapper alone, wrapped/native fetch)
 *  P2 an auto-approved L402 round trip against the bare client: fetch402 of @getalby/lightning-tools
 *     in a browser without the extension, same demo app and stand-in wallet, round by round
 *  P3 the page's 402 → the quote window's approve button visible, against an extension that opens an
 *     empty popup window on a message (median, and the first, cold)
 *  approve → the page's fetch() resolved, against the bare client's pay + retry
 *  and an already-paid request (carrying the token the page kept) against an unpaid plain one;
 *  then an auto-approved x402 round trip (the page's Ethereum wallet signs) beside an L402 one
 *  (bench/x402.ts, also `npm run bench:x402` alone).
 *
 * BENCH_RUNS=N repeats the whole run N times (fresh browsers each time) and prints min / median /
 * max of each ratio; BENCH_TRACE=1 adds a few traced rounds that show where the time goes
 * (bench/timeline.ts); BENCH_ONLY=p2 (or p1, p3, x402, comma-separated) runs only those parts. Sizes: BENCH_ROUNDS, BENCH_FETCHES, BENCH_CHUNK, BENCH_PAID, BENCH_QUOTES,
 * BENCH_TRACE_ROUNDS. Run it under the e2e lock: `flock /tmp/paybound-e2e.lock npm run bench`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page, type Response, type Worker } from 'playwright-core';
import { buildExtension } from '../server/dev/build';
import { findChromium, type LaunchedBrowser, launchWithExtension } from '../server/dev/chromium';
import { provisionFor, type StackInfo, startStack } from '../server/dev/stack';
import { clearTokenTable } from '../test/e2e/harness/flows';
import { demoAlreadyKnown } from '../test/e2e/harness/provision';
import { type BareRoundTrip, type BareWallet, bareRoundTrip, installBareClient } from './bare-client';
import {
  dnrRule,
  FLOOR_WINDOW_PAGE,
  type MinimalExtension,
  P1_MECHANISMS,
  type P1Mechanism,
  RESPONSE_OBSERVER,
  WINDOW_OPENER,
  writeExtension,
} from './minimal-extensions';
import { setRules } from './rules';
import {
  approvedPhases,
  markPhases,
  type Phases,
  paidPhases,
  phaseLines,
  quotePhases,
  type Span,
  startWorkerTrace,
  takeWorkerTrace,
  traced,
  type WorkerMark,
  workerPhases,
} from './timeline';
import { FRESH } from './tokens';
import { benchX402 } from './x402';

const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const FETCHES = Number(process.env.BENCH_FETCHES ?? 200);
const CHUNK = Math.min(FETCHES, Number(process.env.BENCH_CHUNK ?? 20));
const QUOTES = Number(process.env.BENCH_QUOTES ?? 15);
const PAID = Number(process.env.BENCH_PAID ?? 15);
const WARMUP = 3;
/** BENCH_ONLY=p1,p2,p3,x402 runs only those parts (for working on one figure; the summary needs all). */
const ONLY = process.env.BENCH_ONLY?.split(',').map((x) => x.trim().toLowerCase());
const wants = (part: 'p1' | 'p2' | 'p3' | 'x402') => !ONLY || ONLY.includes(part);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const fmt = (n: number) => n.toFixed(2);
const ms = (n: number) => `${n.toFixed(1)} ms`;
const range = (xs: number[]) =>
  `median ${fmt(median(xs))} (min ${fmt(Math.min(...xs))}, max ${fmt(Math.max(...xs))})`;

/**
 * Time for `count` sequential fetches of `path` in the page, ms. `native` uses the fetch of a
 * fresh about:blank iframe, which no content script touches: the same browser without the wrapper.
 */
async function fetchLoop(
  page: Page,
  path: string,
  count: number,
  init: RequestInit = {},
  native = false,
): Promise<number> {
  return page.evaluate(
    async ([p, n, i, nat]) => {
      let f = window.fetch;
      if (nat) {
        let frame = document.querySelector<HTMLIFrameElement>('iframe[data-bench-native]');
        if (!frame) {
          frame = document.createElement('iframe');
          frame.dataset.benchNative = '';
          document.body.append(frame);
        }
        const w = frame.contentWindow as Window;
        f = w.fetch.bind(w);
      }
      const t0 = performance.now();
      for (let k = 0; k < n; k++) await (await f(p, i)).text();
      return performance.now() - t0;
    },
    [path, count, init, native] as const,
  );
}

/** What the bench writes under the system's temporary folder, removed when it ends. */
const scratch: string[] = [];
const scratchDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};

/** A fresh profile, launched as launchWithExtension does, with these unpacked extensions (or none). */
async function launch(extensionDirs: string[]): Promise<BrowserContext> {
  const list = extensionDirs.join(',');
  return chromium.launchPersistentContext(scratchDir('paybound-profile-'), {
    executablePath: findChromium(),
    headless: true,
    args: [
      ...(list ? [`--disable-extensions-except=${list}`, `--load-extension=${list}`] : []),
      '--disable-component-update',
    ],
    viewport: { width: 1100, height: 760 },
  });
}

const workerOf = async (context: BrowserContext): Promise<Worker> =>
  context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));

/** A page of this browser on the demo app, its first 50 plain fetches done (connections warm). */
async function demoPage(context: BrowserContext, demo: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(demo);
  await fetchLoop(page, '/health', 50);
  return page;
}

const clearTokens = (browser: LaunchedBrowser) => clearTokenTable(browser.serviceWorker);

/**
 * The demo is a site the user paid before and let pay automatically (as the e2e suites provision
 * it). Automatic: every charge pays without a click, and the runaway guard never trips. Asking:
 * every charge is above the automatic limit, so each one opens the quote window.
 */
const AUTOMATIC = {
  autoMaxMinor: '500',
  confirmMaxMinor: '500',
  runaway: { maxAuto: 1000, windowMs: 1000 },
  budgets: [],
};
const ASKING = { autoMaxMinor: '0', confirmMaxMinor: '500', budgets: [] };

const GENERATE_BODY = JSON.stringify({ prompt: 'bench' });
/** A request that meets a fresh challenge (bench/tokens.ts), Paybound's and the bare client's alike. */
const GENERATE: RequestInit = {
  method: 'POST',
  headers: { 'content-type': 'application/json', ...FRESH },
  body: GENERATE_BODY,
};
/** The same request as a page sends it, carrying the token the page kept. */
const GENERATE_KEPT: RequestInit = {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: GENERATE_BODY,
};

/** Paybound's auto-approved round trip: the page's own fetch(), paid by the extension, ms. */
async function payboundRoundTrip(browser: LaunchedBrowser, page: Page): Promise<number> {
  await clearTokens(browser);
  return page.evaluate(async (init) => {
    const t0 = performance.now();
    const res = await fetch('/api/generate', init);
    const t = performance.now() - t0;
    if (res.status !== 200) throw new Error(`Paybound's auto-paid request answered ${res.status}`);
    return t;
  }, GENERATE);
}

const TRACE = process.env.BENCH_TRACE === '1';
const TRACE_ROUNDS = Number(process.env.BENCH_TRACE_ROUNDS ?? 5);

/** A paid fetch() in the page by Paybound, with its start and end on the browser's epoch clock. */
async function timedPaidFetch(page: Page): Promise<{ t0: number; t1: number }> {
  return page.evaluate(async (init) => {
    const t0 = performance.timeOrigin + performance.now();
    const res = await fetch('/api/generate', init);
    const t1 = performance.timeOrigin + performance.now();
    if (res.status !== 200) throw new Error(`Paybound's auto-paid request answered ${res.status}`);
    return { t0, t1 };
  }, GENERATE);
}

/** The same by the bare client. */
async function timedBareFetch(page: Page, wallet: BareWallet): Promise<{ t0: number; t1: number }> {
  const r = await bareRoundTrip(page, '/api/generate', GENERATE, wallet);
  return { t0: r.startedAt, t1: r.endedAt };
}

/** The spans of one round, as offsets from t0. */
const sample = (spans: Span[], t0: number) =>
  spans.map((x) => `${x.what} ${(x.start - t0).toFixed(1)}–${(x.end - t0).toFixed(1)}`).join(', ');

/** What the quote window did, on its own clock (ms from its navigation start). */
interface QuoteWindowTrace {
  timeOrigin: number;
  domContentLoaded: number;
  scripts: { name: string; end: number }[];
  messages: { type: string; start: number; end: number }[];
  pushed: { type: string; at: number }[];
  visible: number;
  /** The approve button first in the document, and the next frame (the window's own clock). */
  inDocument?: number;
  frame?: number;
  logging: boolean;
}

/**
 * Logs the quote window's messages to the worker and the worker's to it (wrapping the page's own
 * runtime), so a traced round shows which round trips stand before the button. Plain JavaScript:
 * it is injected as it is into the quote window before its own scripts.
 */
const LOG_QUOTE_MESSAGES = `(() => {
  if (!location.pathname.includes('/src/ui/approve/')) return;
  const log = [];
  const pushed = [];
  // Each message as it leaves, apart from the log of answered ones: the window may close before
  // approval.decide is answered, and the bench reads the send time at once after the click.
  const sent = [];
  window.__benchMessages = log;
  window.__benchSent = sent;
  window.__benchPushed = pushed;
  const runtimes = new Set([chrome.runtime, globalThis.browser?.runtime].filter(Boolean));
  for (const runtime of runtimes) {
    const original = runtime.sendMessage.bind(runtime);
    runtime.sendMessage = (...args) => {
      const start = performance.now();
      const message = args.find((a) => typeof a === 'object' && a !== null && 'type' in a);
      sent.push({ type: message?.type ?? '?', at: start });
      const done = () => log.push({ type: message?.type ?? '?', start, end: performance.now() });
      const k = args.findIndex((a) => typeof a === 'function');
      if (k >= 0) {
        const cb = args[k];
        args[k] = (...r) => { done(); cb(...r); };
        return original(...args);
      }
      const out = original(...args);
      if (out && typeof out.then === 'function') out.then(done, done);
      return out;
    };
  }
  chrome.runtime.onMessage.addListener((m) => { pushed.push({ type: m?.type ?? '?', at: performance.now() }); });
})();`;

/**
 * In the quote window and in the floor's popup alike: when the approve button is first in the
 * document, and the first frame after that (when it is painted), on the window's own clock.
 * Playwright notices a new element only at its next poll, tens of ms later in a new window.
 */
const PAINT_PROBE = `(() => {
  if (!location.pathname.includes('/src/ui/approve/') && !location.pathname.endsWith('/${FLOOR_WINDOW_PAGE}')) return;
  const seen = new MutationObserver(() => {
    if (window.__benchButtonAt || !document.querySelector('[data-testid=approve]')) return;
    window.__benchButtonAt = performance.now();
    requestAnimationFrame(() => { window.__benchButtonFrameAt = performance.now(); });
    seen.disconnect();
  });
  seen.observe(document, { childList: true, subtree: true });
})();`;

/**
 * The epoch ms of the first frame with the approve button in it (PAINT_PROBE). Only the floor's
 * popup (pass `fallbacks`) may answer with its first contentful paint when the probe did not
 * reach it before its button was parsed (Playwright attaches to a new window a little late at
 * times): its page's only content is the button, so that is the same moment. The quote window
 * paints other things first, so it has no fallback. `fallbacks` counts them.
 */
async function paintedAt(window: Page, fallbacks?: { n: number }): Promise<number> {
  const mayUseFcp = fallbacks !== undefined;
  const handle = await window.waitForFunction(
    (useFcp) => {
      const w = globalThis as unknown as { __benchButtonAt?: number; __benchButtonFrameAt?: number };
      if (w.__benchButtonFrameAt !== undefined)
        return { at: performance.timeOrigin + w.__benchButtonFrameAt, fcp: false };
      if (!useFcp || w.__benchButtonAt !== undefined) return false;
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      return fcp && document.querySelector('[data-testid=approve]')
        ? { at: performance.timeOrigin + fcp.startTime, fcp: true }
        : false;
    },
    mayUseFcp,
    { timeout: 10_000 },
  );
  const { at, fcp } = (await handle.jsonValue()) as { at: number; fcp: boolean };
  if (fcp && fallbacks) fallbacks.n += 1;
  return at;
}

/** When a response reached the browser (its first byte), epoch ms on the browser's clock. */
const arrivedAt = (res: Response): number => {
  const t = res.request().timing();
  return t.startTime + t.responseStart;
};

/**
 * Clicks the approve button and returns when the window saw the click (its event's time, on the
 * wall clock): the start of "approve → resolved". The time Playwright takes to deliver the
 * press over CDP is the bench's, not Paybound's; `sent` is when the bench began it.
 */
async function clickApprove(
  quote: Page,
  box: { x: number; y: number; width: number; height: number },
): Promise<{ sent: number; clicked: Promise<number>; window: Promise<WorkerMark[]> }> {
  // The window's answer is asked for before the click: the window closes once the payment has its
  // outcome, which can come before a question sent after the click would arrive.
  await quote.evaluate(() => {
    const w = window as unknown as {
      __benchClick?: Promise<{ at: number; ran?: number; decide?: number }>;
      __benchSent?: { type: string; at: number }[];
    };
    w.__benchClick = new Promise((resolve) => {
      let at = 0;
      let ran: number | undefined;
      addEventListener(
        'click',
        (e) => {
          at = performance.timeOrigin + e.timeStamp;
          ran = performance.timeOrigin + performance.now();
        },
        { capture: true, once: true },
      );
      // On the window, after React's own handler on its root: the decision was sent by then.
      addEventListener(
        'click',
        () => {
          const decide = w.__benchSent?.find((m) => m.type === 'approval.decide');
          resolve({ at, ran, ...(decide ? { decide: performance.timeOrigin + decide.at } : {}) });
        },
        { once: true },
      );
    });
  });
  const seen = quote.evaluate(
    () =>
      (window as unknown as { __benchClick: Promise<{ at: number; ran?: number; decide?: number }> })
        .__benchClick,
  );
  const sent = Date.now();
  await quote.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  const clicked = seen.then(({ at }) => {
    // A figure timed from anything else would not be this one.
    if (!(at > 0)) throw new Error('the quote window did not see the click');
    return at;
  });
  // The window's own steps, as marks beside the worker's: its click handler ran, it sent the decision.
  const windowMarks = seen.then(({ ran, decide }) => [
    ...(ran !== undefined ? [{ step: 'the window runs its click handler', at: ran }] : []),
    ...(decide !== undefined ? [{ step: 'the window sends approval.decide', at: decide }] : []),
  ]);
  return { sent, clicked, window: windowMarks };
}

/** A few quote rounds with the quote window's own timeline and the approved payment's requests. */
async function traceQuotes(paybound: LaunchedBrowser, page: Page) {
  await paybound.context.addInitScript({ content: LOG_QUOTE_MESSAGES });
  const quoteRounds: Phases[] = [];
  const approveRounds: Phases[] = [];
  const approveSteps: Phases[] = [];
  const quoteSteps: Phases[] = [];
  for (let r = 0; r < TRACE_ROUNDS; r++) {
    await clearTokens(paybound);
    await startWorkerTrace(paybound.serviceWorker);
    const windowOpened = paybound.context.waitForEvent('page', (p) => p.url().includes('/src/ui/approve/'));
    const got402 = page.waitForResponse((res) => res.status() === 402);
    const pending = page.evaluate(async (init) => {
      const res = await fetch('/api/generate', init);
      return { status: res.status, at: performance.timeOrigin + performance.now() };
    }, GENERATE);
    const quote = await windowOpened;
    // Its first byte: Playwright leaves responseEnd at -1 here, which would time from the request.
    const t0 = arrivedAt(await got402);
    await quote.waitForSelector('[data-testid=quote] [data-testid=approve]');
    const w = await quote.evaluate((): QuoteWindowTrace => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      const own = window as unknown as {
        __benchMessages?: QuoteWindowTrace['messages'];
        __benchPushed?: QuoteWindowTrace['pushed'];
        __benchButtonAt?: number;
        __benchButtonFrameAt?: number;
      };
      return {
        timeOrigin: performance.timeOrigin,
        domContentLoaded: nav?.domContentLoadedEventEnd ?? 0,
        scripts: performance.getEntriesByType('resource').map((e) => ({
          name: e.name.split('/').pop() ?? e.name,
          end: (e as PerformanceResourceTiming).responseEnd,
        })),
        messages: [...(own.__benchMessages ?? [])],
        pushed: [...(own.__benchPushed ?? [])],
        visible: performance.now(),
        ...(own.__benchButtonAt !== undefined ? { inDocument: own.__benchButtonAt } : {}),
        ...(own.__benchButtonFrameAt !== undefined ? { frame: own.__benchButtonFrameAt } : {}),
        logging: Array.isArray(own.__benchMessages),
      };
    });
    const at = (ms: number) => (w.timeOrigin + ms - t0).toFixed(1);
    const phases: Phases = {
      '402 → the window navigates': w.timeOrigin - t0,
      'navigation → DOMContentLoaded': w.domContentLoaded,
    };
    if (w.messages.length > 0) {
      const firstAsked = Math.min(...w.messages.map((m) => m.start));
      const lastAnswered = Math.max(...w.messages.map((m) => m.end));
      phases['DOMContentLoaded → first message to the worker'] = firstAsked - w.domContentLoaded;
      phases['first message → last answer'] = lastAnswered - firstAsked;
      phases['last answer → button visible (seen by the bench)'] = w.visible - lastAnswered;
    } else {
      phases['DOMContentLoaded → button visible (seen by the bench)'] = w.visible - w.domContentLoaded;
    }
    if (w.inDocument !== undefined) {
      phases['navigation → button in the document (window clock)'] = w.inDocument;
      if (w.frame !== undefined) phases['button in the document → next frame'] = w.frame - w.inDocument;
      phases['button in the document → seen by the bench'] = w.visible - w.inDocument;
    }
    quoteRounds.push(phases);
    // The worker's steps up to the window's navigation, then the window's own until its button.
    const quoteMarks = [
      ...(await takeWorkerTrace(paybound.serviceWorker)),
      { step: 'the window navigates', at: w.timeOrigin },
      ...(w.inDocument !== undefined
        ? [{ step: 'the button is in the document', at: w.timeOrigin + w.inDocument }]
        : []),
    ].sort((a, b) => a.at - b.at);
    quoteSteps.push(quotePhases(quoteMarks, t0, w.timeOrigin + w.visible));
    if (r === 0) {
      console.log(`   one traced quote window, ms after the 402 reached the page:`);
      console.log(`     navigation starts ${at(0)}; DOMContentLoaded ${at(w.domContentLoaded)}`);
      if (w.scripts.length)
        console.log(`     loaded: ${w.scripts.map((x) => `${x.name} ${at(x.end)}`).join(', ')}`);
      if (!w.logging) console.log('     (the message log did not install in the quote window)');
      console.log(
        `     asked the worker: ${w.messages.map((m) => `${m.type} ${at(m.start)}–${at(m.end)}`).join(', ') || 'nothing'}`,
      );
      console.log(
        `     told by the worker: ${w.pushed.map((m) => `${m.type} ${at(m.at)}`).join(', ') || 'nothing'}`,
      );
      const inDoc = w.inDocument !== undefined ? `in the document ${at(w.inDocument)}, ` : '';
      const frame = w.frame !== undefined ? `next frame ${at(w.frame)}, ` : '';
      console.log(`     button ${inDoc}${frame}visible (seen by the bench) ${at(w.visible)}`);
    }
    await quote.waitForSelector('[data-testid=approve][data-armed=true]');
    const box = await quote.locator('[data-testid=approve]').boundingBox();
    if (!box) throw new Error('the approve button has no box');
    await startWorkerTrace(paybound.serviceWorker);
    const traceApproval = await traced(
      paybound.context,
      async () => {
        const click = await clickApprove(quote, box);
        const t1 = await click.clicked;
        return { t1, windowMarks: await click.window, answer: await pending };
      },
      (spans) => spans.some((x) => x.what.startsWith('POST /api/generate 200')),
    );
    const { t1, windowMarks, answer } = traceApproval.result;
    if (answer.status !== 200) throw new Error(`paid request answered ${answer.status}`);
    approveRounds.push(approvedPhases(traceApproval.spans, t1, answer.at));
    const marks = [...windowMarks, ...(await takeWorkerTrace(paybound.serviceWorker))].sort(
      (a, b) => a.at - b.at,
    );
    approveSteps.push(workerPhases(traceApproval.spans, marks, t1));
    if (r === 0)
      console.log(`   one traced approval, ms after the click: ${sample(traceApproval.spans, t1)}`);
    // The next round starts once this window is gone: a window closing keeps the browser busy.
    if (!quote.isClosed()) await quote.waitForEvent('close');
  }
  console.log(`   the quote path, median of ${TRACE_ROUNDS} traced rounds:`);
  for (const line of phaseLines(quoteRounds)) console.log(`     ${line}`);
  console.log(
    "   the quote path step by step, from the 402 reaching the page (the worker's marks, then the window's):",
  );
  for (const line of phaseLines(quoteSteps)) console.log(`     ${line}`);
  console.log(`   approve → resolved, median of ${TRACE_ROUNDS} traced rounds:`);
  for (const line of phaseLines(approveRounds)) console.log(`     ${line}`);
  console.log("   approve → resolved step by step, from the click (the window's and the worker's marks):");
  for (const line of phaseLines(approveSteps)) console.log(`     ${line}`);
}

interface Summary {
  p1: number;
  p2: number;
  p3: number;
  p3Cold: number;
  p3OverFloorMs: number;
  /** The same, from the 402's arrival to the first frame with the button, on the browser's clock. */
  p3Painted: number;
  p3PaintedMs: number;
  p3PaintedColdMs: number;
  p3PaintedOverFloorMs: number;
  approveResolved: number;
  /** Its goal is absolute: the click (as the window saw it) to the page's fetch() resolved. */
  approveResolvedMs: number;
}

const SUMMARY_LABELS: Record<keyof Summary, string> = {
  p1: 'P1 plain fetches, Paybound ÷ no extension',
  p2: 'P2 auto-approved L402 round trip ÷ bare fetch402',
  p3: 'P3 402 → approve visible ÷ bare window open (median)',
  p3Cold: 'P3 cold (first round) ÷ bare window open, cold',
  p3OverFloorMs: 'P3 median minus bare window open median, ms',
  p3Painted: 'P3 painted (window clock) ÷ bare window painted (median)',
  p3PaintedMs: 'P3 painted median, ms',
  p3PaintedColdMs: 'P3 painted cold (first round), ms',
  p3PaintedOverFloorMs: 'P3 painted median minus bare window painted median, ms',
  approveResolved: 'approve → resolved ÷ bare pay + retry',
  approveResolvedMs: 'approve → resolved median, ms (goal ≤ 40)',
};

async function benchOnce(
  stack: StackInfo,
  extensionDir: string,
  dirs: Record<P1Mechanism | 'window' | 'observer', string>,
) {
  const paybound = await launchWithExtension({ extensionDir });
  const auto = await launchWithExtension({ extensionDir });
  await setRules(paybound, ASKING);
  await setRules(auto, AUTOMATIC);
  const none = await launch([]);
  const mechanisms = wants('p1') ? (Object.keys(P1_MECHANISMS) as P1Mechanism[]) : [];
  const mechanismBrowsers = new Map<P1Mechanism, BrowserContext>();
  const windowFloor = await launch([dirs.window]);
  const observing = await launch([extensionDir, dirs.observer]);
  // The baseline the bench used before: a throwaway (incognito-like) context, not a profile.
  const throwaway = await chromium.launch({ executablePath: findChromium(), headless: true });
  try {
    for (const m of mechanisms) {
      const context = await launch([dirs[m]]);
      mechanismBrowsers.set(m, context);
      if (P1_MECHANISMS[m].manifest.background) {
        const worker = await workerOf(context);
        if (m === 'sessionRule') {
          await worker.evaluate(
            (rule) => chrome.declarativeNetRequest.updateSessionRules({ addRules: [rule] }),
            dnrRule(stack.demo),
          );
          const n = await worker.evaluate(
            async () => (await chrome.declarativeNetRequest.getSessionRules()).length,
          );
          if (n !== 1) throw new Error(`the session-rule extension holds ${n} rules, not 1`);
        }
      }
    }

    // ── P1: plain fetches, interleaved round by round so machine noise hits every browser alike.
    const wrapped = await demoPage(paybound.context, stack.demo);
    const bare = await demoPage(none, stack.demo);
    const watched = await demoPage(observing, stack.demo);
    const oldBare = await demoPage(await throwaway.newContext(), stack.demo);
    const pages = new Map<P1Mechanism, Page>();
    for (const m of mechanisms) pages.set(m, await demoPage(mechanismBrowsers.get(m)!, stack.demo));
    const wrappedFetch =
      !wants('p1') || (await pages.get('mainWorld')!.evaluate(() => !/\[native code\]/.test(String(fetch))));
    if (!wrappedFetch) throw new Error('the main-world extension did not wrap fetch');

    const wrapper: number[] = [];
    const whole: number[] = [];
    const observed: number[] = [];
    const againstThrowaway: number[] = [];
    const each = new Map<P1Mechanism, number[]>(mechanisms.map((m) => [m, []]));
    const chunks = Math.max(1, Math.round(FETCHES / CHUNK));
    for (let r = 0; r < (wants('p1') ? ROUNDS : 0); r++) {
      const t = new Map<string, number>();
      // Each round's fetches go in small chunks, browser after browser, so that a burst of load on
      // this shared machine falls on all of them alike; a different browser goes first each time.
      const order: [string, () => Promise<number>][] = [
        ['paybound', () => fetchLoop(wrapped, '/health', CHUNK)],
        ['native', () => fetchLoop(wrapped, '/health', CHUNK, {}, true)],
        ['none', () => fetchLoop(bare, '/health', CHUNK)],
        ['observer', () => fetchLoop(watched, '/health', CHUNK)],
        ['throwaway', () => fetchLoop(oldBare, '/health', CHUNK)],
        ...mechanisms.map((m): [string, () => Promise<number>] => [
          m,
          () => fetchLoop(pages.get(m)!, '/health', CHUNK),
        ]),
      ];
      for (let c = 0; c < chunks; c++) {
        for (let k = 0; k < order.length; k++) {
          const [name, run] = order[(k + r + c) % order.length]!;
          t.set(name, (t.get(name) ?? 0) + (await run()));
        }
      }
      const of = (name: string) => t.get(name)!;
      wrapper.push(of('paybound') / of('native'));
      whole.push(of('paybound') / of('none'));
      observed.push(of('observer') / of('paybound'));
      againstThrowaway.push(of('paybound') / of('throwaway'));
      for (const m of mechanisms) each.get(m)!.push(of(m) / of('none'));
    }
    for (const c of [...mechanismBrowsers.values(), observing]) await c.close();
    await throwaway.close();
    console.log(
      `P1 plain fetches of /health, ${FETCHES} × ${ROUNDS} rounds (in chunks of ${CHUNK}), ÷ the same browser without any extension:`,
    );
    console.log(`  the whole of Paybound:   ${range(whole)}`);
    for (const m of mechanisms) console.log(`  ${P1_MECHANISMS[m].label}: ${range(each.get(m)!)}`);
    console.log(
      `  (Paybound ÷ a throwaway context without extensions, the baseline before profiles were compared: ${range(againstThrowaway)})`,
    );
    console.log(`  (the wrapper alone, wrapped/native fetch in Paybound's browser: ${range(wrapper)})`);
    console.log(
      `  (the design not taken, Paybound + a webRequest observer of every response ÷ Paybound: ${range(observed)})`,
    );

    // ── P2: Paybound's auto-approved round trip and the bare client, paying the same wallet, in turn.
    const autoPage = await demoPage(auto.context, stack.demo);
    await installBareClient(bare);
    const wallet: BareWallet = { url: stack.lnbits, adminKey: stack.wallets.user.adminKey };
    const ours: number[] = [];
    const floor: number[] = [];
    const payAndRetry: number[] = [];
    for (let r = 0; r < (wants('p2') ? WARMUP + PAID : 0); r++) {
      let a: number;
      let b: BareRoundTrip;
      // Each goes first in every other round.
      if (r % 2) {
        a = await payboundRoundTrip(auto, autoPage);
        b = await bareRoundTrip(bare, '/api/generate', GENERATE, wallet);
      } else {
        b = await bareRoundTrip(bare, '/api/generate', GENERATE, wallet);
        a = await payboundRoundTrip(auto, autoPage);
      }
      if (r < WARMUP) continue;
      ours.push(a);
      floor.push(b.total);
      payAndRetry.push(b.payAndRetry);
    }
    const p2 = median(ours) / median(floor);
    console.log(
      `P2 auto-approved L402 round trip, ${PAID} each in turn (after ${WARMUP}): Paybound median ${ms(median(ours))}, bare fetch402 median ${ms(median(floor))} (of which pay + retry ${ms(median(payAndRetry))}): ratio ${fmt(p2)}`,
    );

    if (TRACE && wants('p2')) {
      const ourPhases: Phases[] = [];
      const barePhases: Phases[] = [];
      const paidOnce = (spans: Span[]) => spans.some((x) => x.what.startsWith('POST /api/generate 200'));
      const stepPhases: Phases[] = [];
      for (let r = 0; r < TRACE_ROUNDS; r++) {
        await clearTokens(auto);
        await startWorkerTrace(auto.serviceWorker);
        const a = await traced(auto.context, () => timedPaidFetch(autoPage), paidOnce);
        const marks = await takeWorkerTrace(auto.serviceWorker);
        ourPhases.push(paidPhases(a.spans, a.result.t0, a.result.t1));
        const challenge = a.spans.find((x) => x.what.startsWith('POST /api/generate 402'));
        if (challenge) stepPhases.push(workerPhases(a.spans, marks, challenge.end));
        const b = await traced(none, () => timedBareFetch(bare, wallet), paidOnce);
        barePhases.push(paidPhases(b.spans, b.result.t0, b.result.t1));
        if (r === 0) console.log(`   one traced Paybound round trip: ${sample(a.spans, a.result.t0)}`);
      }
      console.log(`   where the time goes, median of ${TRACE_ROUNDS} traced rounds (network events on):`);
      const bareLines = phaseLines(barePhases);
      phaseLines(ourPhases).forEach((line, k) => {
        console.log(`     Paybound ${line}   | bare ${bareLines[k]?.replace(/^[^:]*: /, '')}`);
      });
      console.log("   Paybound step by step, from the 402 reaching the page (the worker's marks):");
      for (const line of phaseLines(stepPhases)) console.log(`     ${line}`);
      // Again without network events, which slow the worker's own wallet call.
      const quiet: Phases[] = [];
      const quietTotal: number[] = [];
      for (let r = 0; r < TRACE_ROUNDS; r++) {
        await clearTokens(auto);
        await startWorkerTrace(auto.serviceWorker);
        const { t0, t1 } = await timedPaidFetch(autoPage);
        quiet.push(markPhases(await takeWorkerTrace(auto.serviceWorker), t0, t1));
        quietTotal.push(t1 - t0);
      }
      console.log(
        `   the same, marks only (no network events), from the page's fetch(); round trip median ${ms(median(quietTotal))}:`,
      );
      for (const line of phaseLines(quiet)) console.log(`     ${line}`);
    }
    await auto.close();

    // ── P3 and approve → resolved: one demo tab each; each round: 402 → window → button visible.
    const floorPage = await windowFloor.newPage();
    await floorPage.goto(stack.demo);
    const toWindow: number[] = [];
    const toQuote: number[] = [];
    const toArmed: number[] = [];
    const toResolved: number[] = [];
    const toClickDelivered: number[] = [];
    const toFloor: number[] = [];
    const painted: number[] = [];
    const floorPainted: number[] = [];
    const floorPaintedFcp = { n: 0 };
    if (wants('p3')) {
      await paybound.context.addInitScript({ content: PAINT_PROBE });
      await windowFloor.addInitScript({ content: PAINT_PROBE });
    }
    const toFloorWindow: number[] = [];
    for (let i = 0; i < (wants('p3') ? QUOTES : 0); i++) {
      await clearTokens(paybound);
      const windowOpened = paybound.context.waitForEvent('page', (p) => p.url().includes('/src/ui/approve/'));
      // The clock starts when the 402 reaches the browser: the app's own time to build its challenge
      // (an invoice from its wallet) is not Paybound's.
      const response402 = wrapped.waitForResponse((r) => r.status() === 402);
      const got402 = response402.then(() => Date.now());
      const pending = wrapped.evaluate(async (init) => {
        const res = await fetch('/api/generate', init);
        return { status: res.status, at: Date.now() };
      }, GENERATE);
      const quote = await windowOpened;
      const t0 = await got402;
      toWindow.push(Date.now() - t0);
      await quote.waitForSelector('[data-testid=quote] [data-testid=approve]');
      toQuote.push(Date.now() - t0);
      painted.push((await paintedAt(quote)) - arrivedAt(await response402));
      // Armed: the button takes clicks, on purpose no sooner than a second after the window was
      // shown and focused (no accidental approval): not latency.
      await quote.waitForSelector('[data-testid=approve][data-armed=true]');
      toArmed.push(Date.now() - t0);
      // A raw click at the button (no actionability waits of Playwright's click in the timed span).
      const box = await quote.locator('[data-testid=approve]').boundingBox();
      if (!box) throw new Error('the approve button has no box');
      const click = await clickApprove(quote, box);
      const t1 = await click.clicked;
      const { status, at } = await pending;
      if (status !== 200) throw new Error(`paid request answered ${status}`);
      toResolved.push(at - t1);
      toClickDelivered.push(t1 - click.sent);

      // The floor, timed the same way: the page's 402 → the popup's button visible.
      const opened = windowFloor.waitForEvent('page', (p) => p.url().endsWith(`/${FLOOR_WINDOW_PAGE}`));
      const floorResponse = floorPage.waitForResponse((r) => r.status() === 402);
      const floor402 = floorResponse.then(() => Date.now());
      await floorPage.evaluate(async (init) => {
        const res = await fetch('/api/generate', init);
        if (res.status === 402) window.postMessage({ bench: 402 }, '*');
      }, GENERATE);
      const popup = await opened;
      const f0 = await floor402;
      toFloorWindow.push(Date.now() - f0);
      await popup.waitForSelector('[data-testid=approve]');
      toFloor.push(Date.now() - f0);
      floorPainted.push((await paintedAt(popup, floorPaintedFcp)) - arrivedAt(await floorResponse));
      await popup.close();
    }
    const p3 = median(toQuote) / median(toFloor);
    const p3Cold = (toQuote[0] ?? 0) / (toFloor[0] ?? 1);
    console.log(
      `P3 402 → quote's approve visible, ${QUOTES} rounds: Paybound median ${median(toQuote)} ms (first, cold: ${toQuote[0]} ms), of which to the window opening median ${median(toWindow)} ms; approve armed (≥ 1 s by design) median ${median(toArmed)} ms`,
    );
    console.log(
      `   bare window open (extension → popup → button visible): median ${median(toFloor)} ms (first, cold: ${toFloor[0]} ms), of which to the window opening median ${median(toFloorWindow)} ms: ratio ${fmt(p3)} (cold ${fmt(p3Cold)}), ${median(toQuote) - median(toFloor)} ms over the floor`,
    );
    const p3Painted = median(painted) / median(floorPainted);
    console.log(
      `   painted (the first frame with the button, on the window's own clock, from the 402's first byte): Paybound median ${ms(median(painted))} (cold ${ms(painted[0] ?? 0)}), bare window median ${ms(median(floorPainted))} (cold ${ms(floorPainted[0] ?? 0)}): ratio ${fmt(p3Painted)}, ${ms(median(painted) - median(floorPainted))} over the floor (the floor's first contentful paint instead, the probe having come late: ${floorPaintedFcp.n} of ${QUOTES})`,
    );
    if (TRACE && wants('p3')) await traceQuotes(paybound, wrapped);

    const approveResolved = median(toResolved) / median(payAndRetry);
    console.log(
      `approve click (as the window saw it) → page's fetch() resolved 200: median ${ms(median(toResolved))} over ${QUOTES}; bare client's pay + retry ${ms(median(payAndRetry))}: ratio ${fmt(approveResolved)} (Playwright's delivery of the click, not counted: median ${ms(median(toClickDelivered))})`,
    );

    // The last round left the page a token: its paid requests now carry it.
    const paidVsPlain: number[] = [];
    for (let r = 0; r < (wants('p3') ? ROUNDS : 0); r++) {
      const paid = await fetchLoop(wrapped, '/api/generate', 50, GENERATE_KEPT);
      const unpaid = await fetchLoop(wrapped, '/health', 50);
      paidVsPlain.push(paid / unpaid);
    }
    console.log(
      `already-paid /api/generate vs unpaid plain /health, 50 × ${ROUNDS}: time ratio median ${fmt(median(paidVsPlain))}`,
    );

    const summary: Summary = {
      p1: median(whole),
      p2,
      p3,
      p3Cold,
      p3OverFloorMs: median(toQuote) - median(toFloor),
      p3Painted,
      p3PaintedMs: median(painted),
      p3PaintedColdMs: painted[0] ?? 0,
      p3PaintedOverFloorMs: median(painted) - median(floorPainted),
      approveResolved,
      approveResolvedMs: median(toResolved),
    };
    console.log('Side by side, against their floors (goal):');
    console.log(`  P1 plain fetches ÷ no extension:                  ${fmt(summary.p1)}  (≤ 1.05)`);
    console.log(`  P2 auto L402 round trip ÷ bare fetch402:          ${fmt(summary.p2)}  (≤ 1.2)`);
    console.log(
      `  P3 402 → approve visible ÷ bare window open:      ${fmt(summary.p3)}  (cold ${fmt(summary.p3Cold)}; +${summary.p3OverFloorMs} ms, ≤ +30 ms; ≤ 100 ms median, ≤ 150 ms cold)`,
    );
    console.log(
      `  P3 painted, window clock ÷ bare window painted:  ${fmt(summary.p3Painted)}  (${ms(summary.p3PaintedMs)} median, cold ${ms(summary.p3PaintedColdMs)}; +${ms(summary.p3PaintedOverFloorMs)})`,
    );
    console.log(
      `  approve → resolved ÷ bare pay + retry:            ${fmt(summary.approveResolved)}  (${ms(summary.approveResolvedMs)}; ≤ 40 ms absolute)`,
    );
    return summary;
  } finally {
    for (const c of mechanismBrowsers.values()) await c.close().catch(() => {});
    await observing.close().catch(() => {});
    await throwaway.close().catch(() => {});
    await auto.close().catch(() => {});
    await paybound.close();
    await none.close();
    await windowFloor.close();
  }
}

const stack = await startStack({ ports: { demo: 0, lnbits: 0, rates: 0, relay: 0 } });
try {
  const extensionDir = buildExtension({
    outDir: '.out/bench/dist',
    provision: { ...provisionFor(stack.info), ...demoAlreadyKnown(stack.info) },
  });
  const written = (ext: MinimalExtension) => writeExtension(ext, scratchDir('paybound-bench-ext-'));
  const dirs = {
    ...(Object.fromEntries(
      Object.entries(P1_MECHANISMS).map(([name, ext]) => [name, written(ext)]),
    ) as Record<P1Mechanism, string>),
    window: written(WINDOW_OPENER),
    observer: written(RESPONSE_OBSERVER),
  };
  const summaries: Summary[] = [];
  for (let run = 1; run <= RUNS; run++) {
    if (RUNS > 1) console.log(`── run ${run} of ${RUNS}`);
    summaries.push(await benchOnce(stack.info, extensionDir, dirs));
  }
  // x402 beside L402: both auto-approved, in one browser of their own, interleaved.
  if (wants('x402'))
    await benchX402(stack.info, (address, amount) => stack.facilitator.fund(address, amount));
  if (RUNS > 1) {
    console.log(`Over ${RUNS} runs, min / median / max:`);
    for (const key of Object.keys(SUMMARY_LABELS) as (keyof Summary)[]) {
      const xs = summaries.map((s) => s[key]);
      console.log(
        `  ${SUMMARY_LABELS[key]}: ${fmt(Math.min(...xs))} / ${fmt(median(xs))} / ${fmt(Math.max(...xs))}`,
      );
    }
  }
} finally {
  await stack.close();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}
