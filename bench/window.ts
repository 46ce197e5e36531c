/**
 * `npm run bench:window`: where an extension page's load goes, from Chromium's own trace. A release
 * build is loaded; its quote window (or BENCH_PAGE, a path in the build) is opened in a tab a few
 * times to warm up, then BENCH_SAMPLES more times under tracing. Printed, medians from the
 * navigation's request: each file's request sent, first byte, last byte, and the first paint; and
 * the renderer's main thread busy with what (the kinds nest, so they do not add up). A quote window
 * with no quote to show closes itself: here `window.close` is a no-op, so that it stays to be traced.
 */
import type { CDPSession, Page } from 'playwright-core';
import { buildExtension } from '../server/dev/build';
import { extensionUrl, launchWithExtension } from '../server/dev/chromium';

const PAGE = process.env.BENCH_PAGE ?? 'src/ui/approve/index.html';
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 9);
const WARMUP = 4;
/** The main thread's kinds of work this bench adds up: script, parsing, style, layout, paint. */
const MAIN_THREAD_WORK = new Set([
  'EvaluateScript',
  'v8.compile',
  'v8.compileModule',
  'v8.evaluateModule',
  'FunctionCall',
  'EventDispatch',
  'ParseHTML',
  'UpdateLayoutTree',
  'Layout',
  'Paint',
]);

/** The fields of a trace event this bench reads. */
interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { data?: { url?: string; requestId?: string } };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor(s.length / 2)] ?? 0) : Number.NaN;
};

async function tracedLoad(page: Page, cdp: CDPSession, url: string): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  // CDP types each event as a string map; Chromium's trace events carry numbers and objects too.
  const collect = (e: { value: object[] }) => {
    events.push(...(e.value as TraceEvent[]));
  };
  cdp.on('Tracing.dataCollected', collect);
  const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.start', {
    categories: 'devtools.timeline,loading,blink,v8.execute',
    transferMode: 'ReportEvents',
  });
  await page.goto(url, { waitUntil: 'load' });
  // The first paint is recorded once the page has painted: wait for a frame after load.
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  await cdp.send('Tracing.end');
  await complete;
  cdp.off('Tracing.dataCollected', collect);
  return events;
}

/** One load, as ms from the page's own request: each file's milestones, the paint, the main thread. */
function readLoad(events: TraceEvent[], url: string) {
  const sent = events.filter((e) => e.name === 'ResourceSendRequest').sort((a, b) => a.ts - b.ts);
  const first = sent.find((e) => e.args?.data?.url === url);
  if (!first) throw new Error(`no request for ${url} in the trace`);
  const t0 = first.ts;
  const at = (e: TraceEvent | undefined) => (e ? (e.ts - t0) / 1000 : Number.NaN);
  const files = new Map<string, { sent: number; firstByte: number; done: number }>();
  for (const s of sent.filter((e) => e.ts >= t0)) {
    const id = s.args?.data?.requestId;
    const name = (s.args?.data?.url ?? '?').split('/').pop()?.replace(/\?.*$/, '') ?? '?';
    const of = (n: string) => events.find((e) => e.name === n && e.args?.data?.requestId === id);
    files.set(name, {
      sent: at(s),
      firstByte: at(of('ResourceReceiveResponse')),
      done: at(of('ResourceFinish')),
    });
  }
  // The renderer's main thread is the one that committed this navigation.
  const commit = events.filter((e) => e.name === 'DocumentLoader::CommitNavigation' && e.ts >= t0).at(-1);
  const paint = events.find((e) => e.name === 'firstContentfulPaint' && e.ts >= t0 && e.pid === commit?.pid);
  const busy = new Map<string, number>();
  if (commit) {
    for (const e of events) {
      if (e.pid !== commit.pid || e.tid !== commit.tid || e.ph !== 'X' || e.ts < t0) continue;
      if (MAIN_THREAD_WORK.has(e.name)) busy.set(e.name, (busy.get(e.name) ?? 0) + (e.dur ?? 0) / 1000);
    }
  }
  return { files, paint: at(paint), busy };
}

const outDir = buildExtension({ outDir: '.out/bench-window/dist', production: true });
const browser = await launchWithExtension({ extensionDir: outDir });
try {
  await browser.context.addInitScript('window.close = () => {};');
  const url = `${extensionUrl(browser.extensionId, PAGE)}?tab=-1`;
  const page = await browser.context.newPage();
  for (let i = 0; i < WARMUP; i++) await page.goto(url, { waitUntil: 'load' });
  const cdp = await browser.context.newCDPSession(page);
  const loads: ReturnType<typeof readLoad>[] = [];
  for (let i = 0; i < SAMPLES; i++) loads.push(readLoad(await tracedLoad(page, cdp, url), url));
  console.log(`${PAGE}, ${SAMPLES} loads in a tab (after ${WARMUP}), median ms from its request:`);
  const names = [...(loads[0]?.files.keys() ?? [])];
  for (const name of names) {
    const pick = (k: 'sent' | 'firstByte' | 'done') =>
      median(loads.map((l) => l.files.get(name)?.[k] ?? Number.NaN)).toFixed(1);
    console.log(
      `  ${name.padEnd(28)} sent ${pick('sent')}, first byte ${pick('firstByte')}, done ${pick('done')}`,
    );
  }
  console.log(`  first contentful paint ${median(loads.map((l) => l.paint)).toFixed(1)}`);
  const kinds = [...new Set(loads.flatMap((l) => [...l.busy.keys()]))];
  console.log(
    `  main thread: ${kinds.map((k) => `${k} ${median(loads.map((l) => l.busy.get(k) ?? 0)).toFixed(1)}`).join(', ')}`,
  );
} finally {
  await browser.close();
}
