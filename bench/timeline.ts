/**
 * Where the time of one paid request goes, seen from outside the extension: the browser's own
 * timing of each HTTP request (the page's, and the worker's to the wallet) around the moments the
 * page called fetch() and got its answer. The gaps between them are the extension's own work
 * (bridge hops, parsing, the policy, IndexedDB, rules), which no request shows.
 * Used by `BENCH_TRACE=1 npm run bench`; the network events cost a little, so it runs apart from
 * the timed rounds.
 */
import type { BrowserContext, Response } from 'playwright-core';

export interface Span {
  /** e.g. `POST /api/generate 402 (page)`. */
  what: string;
  /** Epoch ms (the browser's clock): the request sent, and its response's headers received. */
  start: number;
  end: number;
}

/** Records the requests of `context` answered while `run` runs and until `complete` holds for them. */
export async function traced<T>(
  context: BrowserContext,
  run: () => Promise<T>,
  complete: (spans: Span[]) => boolean,
): Promise<{ result: T; spans: Span[] }> {
  const spans: Span[] = [];
  let settle = () => {};
  // At the response's headers, as fetch() resolves: a 402 whose body nobody reads never finishes.
  const onResponse = (res: Response) => {
    const req = res.request();
    const t = req.timing();
    spans.push({
      what: `${req.method()} ${new URL(req.url()).pathname} ${res.status()} (${req.serviceWorker() ? 'worker' : 'page'})`,
      start: t.startTime,
      end: t.startTime + t.responseStart,
    });
    settle();
  };
  context.on('response', onResponse);
  try {
    const result = await run();
    // The browser may report a response after the page already has it.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`trace incomplete: ${JSON.stringify(spans)}`)), 10_000);
      settle = () => {
        if (!complete(spans)) return;
        clearTimeout(timer);
        resolve();
      };
      settle();
    });
    spans.sort((a, b) => a.start - b.start);
    return { result, spans };
  } finally {
    context.off('response', onResponse);
  }
}

/** One paid request's phases, ms: the named gaps between its requests, and the requests themselves. */
export type Phases = Record<string, number>;

/**
 * Splits a paid round trip (fetch called at `t0`, answered at `t1`, epoch ms) into phases: the
 * challenge request, the gap to the wallet call, the wallet call, the gap to the retry, the retry,
 * and the gap to the page's answer.
 */
export function paidPhases(spans: Span[], t0: number, t1: number): Phases {
  const challenge = spans.find((s) => s.what.startsWith('POST /api/generate 402'));
  const pay = spans.find((s) => s.what.startsWith('POST /api/v1/payments'));
  const retry = spans.find((s) => s.what.startsWith('POST /api/generate 200'));
  if (!challenge || !pay || !retry) throw new Error(`not a paid round trip: ${JSON.stringify(spans)}`);
  return {
    'fetch() → challenge sent': challenge.start - t0,
    'challenge request (the app makes its invoice)': challenge.end - challenge.start,
    '402 received → wallet called': pay.start - challenge.end,
    'wallet call': pay.end - pay.start,
    'wallet answered → retry sent': retry.start - pay.end,
    'retry request': retry.end - retry.start,
    'retry answered → fetch() resolved': t1 - retry.end,
  };
}

/** The phases of an approved payment, from the click at `t0` to the page's answer at `t1`. */
export function approvedPhases(spans: Span[], t0: number, t1: number): Phases {
  const pay = spans.find((s) => s.what.startsWith('POST /api/v1/payments'));
  const retry = spans.find((s) => s.what.startsWith('POST /api/generate 200'));
  if (!pay || !retry) throw new Error(`not an approved payment: ${JSON.stringify(spans)}`);
  return {
    'click → wallet called': pay.start - t0,
    'wallet call': pay.end - pay.start,
    'wallet answered → retry sent': retry.start - pay.end,
    'retry request': retry.end - retry.start,
    'retry answered → fetch() resolved': t1 - retry.end,
  };
}

/** The median of each phase over several rounds, one line each. */
export function phaseLines(rounds: Phases[]): string[] {
  const names = Object.keys(rounds[0] ?? {});
  return names.map((name) => {
    const xs = rounds.map((r) => r[name] ?? 0).sort((a, b) => a - b);
    const m = xs.length % 2 ? xs[(xs.length - 1) / 2]! : (xs[xs.length / 2 - 1]! + xs[xs.length / 2]!) / 2;
    return `${name}: ${m.toFixed(1)} ms`;
  });
}

/** A step the worker marked (src/background/trace.ts), epoch ms on the browser's clock. */
export interface WorkerMark {
  step: string;
  at: number;
}

/**
 * The same steps without the network events (they slow the worker's own fetch): each mark as the
 * time since the one before, from the page's fetch() (t0) to its answer (t1), on one clock.
 */
export function markPhases(marks: WorkerMark[], t0: number, t1: number): Phases {
  return markSteps(marks, t0, t1, '→ fetch() resolved in the page');
}

/** A quote, step by step: from the 402 reaching the page to the bench seeing the approve button. */
export function quotePhases(marks: WorkerMark[], t0: number, seen: number): Phases {
  return markSteps(marks, t0, seen, '→ the bench sees the button');
}

/** Each mark from `from` to `until` as the time since the one before; `last` names the rest. */
function markSteps(marks: WorkerMark[], from: number, until: number, last: string): Phases {
  const phases: Phases = {};
  let at = from;
  const seen = new Map<string, number>();
  for (const m of marks) {
    if (m.at > until) break;
    // A step marked twice (two wallet calls) keeps its own name apart.
    const n = (seen.get(m.step) ?? 0) + 1;
    seen.set(m.step, n);
    phases[`→ ${m.step}${n > 1 ? ` (${n})` : ''}`] = m.at - at;
    at = m.at;
  }
  phases[last] = until - at;
  return phases;
}

/** Turns the worker's step marks on (a fresh list) in the extension's worker. */
export async function startWorkerTrace(worker: import('playwright-core').Worker): Promise<void> {
  await worker.evaluate(() => {
    (globalThis as { __paybound_trace?: unknown[] }).__paybound_trace = [];
  });
}

/** The marks since startWorkerTrace, and marking off again. */
export async function takeWorkerTrace(worker: import('playwright-core').Worker): Promise<WorkerMark[]> {
  return worker.evaluate(() => {
    const g = globalThis as { __paybound_trace?: WorkerMark[] };
    const marks = g.__paybound_trace ?? [];
    g.__paybound_trace = undefined;
    return marks;
  });
}

/**
 * A paid round trip, step by step: from the 402 reaching the page, each worker mark as the time
 * since the one before, then the retry leaving the page. The first step's time is the page → worker
 * hop; the last, the worker → page hop and the retry's start.
 */
export function workerPhases(spans: Span[], marks: WorkerMark[], from: number): Phases {
  const retry = spans.find((s) => s.what.startsWith('POST /api/generate 200'));
  if (!retry) throw new Error(`no paid retry: ${JSON.stringify(spans)}`);
  return markSteps(marks, from, retry.start, '→ retry sent by the page');
}
