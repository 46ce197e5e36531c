/**
 * Step marks on the payment path, for `BENCH_TRACE=1 npm run bench` (bench/timeline.ts): the bench
 * sets `globalThis.__paybound_trace` to an array in the worker and reads it back. Off otherwise, so
 * a mark costs one property read; nothing a page can reach turns it on.
 */
interface TraceMark {
  step: string;
  /** Epoch ms with sub-millisecond precision, on the browser's clock (as the page's timings are). */
  at: number;
}

const holder = globalThis as { __paybound_trace?: TraceMark[] };

export function mark(step: string): void {
  holder.__paybound_trace?.push({ step, at: performance.timeOrigin + performance.now() });
}
