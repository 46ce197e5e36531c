/**
 * The payment headers of 402 responses as the browser's webRequest saw them, kept a short while.
 *
 * Firefox's fetch() drops WWW-Authenticate when a response repeats it (the copies are joined with
 * a newline, which its Headers refuse), so the page's script reports such a 402 without its
 * challenge. webRequest shows every header: the report takes them from here, matched on the tab,
 * frame, method and URL the browser names. A report for which no such response arrives gets nothing.
 *
 * Each report claims one response, oldest first, so that two requests in flight to one URL get one
 * each. A response nobody reports (a 402 without a challenge, or one the page read itself) is
 * forgotten after `keepMs`.
 */

export type HeaderPair = readonly [string, string];

export interface ResponseKey {
  tabId: number;
  frameId: number;
  method: string;
  url: string;
}

interface Seen {
  key: string;
  at: number;
  headers: HeaderPair[];
}

interface Waiter {
  key: string;
  resolve(headers: HeaderPair[] | undefined): void;
}

const PAYMENT_HEADERS = /^(?:www-authenticate|payment-required)$/i;

/** Only what the challenge needs is kept; nothing else of the response is the worker's business. */
export function paymentHeaders(headers: Iterable<HeaderPair>): HeaderPair[] {
  return [...headers].filter(([name]) => PAYMENT_HEADERS.test(name));
}

function keyOf(k: ResponseKey): string {
  let url = k.url;
  try {
    const u = new URL(k.url);
    // A fragment is never sent: webRequest's URL has none.
    u.hash = '';
    url = u.href;
  } catch {
    // Not a URL: matched as given (and so never).
  }
  return JSON.stringify([k.tabId, k.frameId, k.method.toUpperCase(), url]);
}

export class ObservedResponses {
  private seen: Seen[] = [];
  private waiters: Waiter[] = [];

  constructor(
    private readonly opts: {
      now?: () => number;
      /** How long a response's headers are kept for its report. */
      keepMs?: number;
      /** How long a report waits for its response's headers (they may arrive after the report). */
      waitMs?: number;
      /** At most this many responses kept and reports waiting: a page cannot grow either without bound. */
      max?: number;
    } = {},
  ) {}

  private get now() {
    return this.opts.now?.() ?? Date.now();
  }

  private prune(): void {
    const oldest = this.now - (this.opts.keepMs ?? 10_000);
    this.seen = this.seen.filter((s) => s.at >= oldest);
  }

  /** A 402 the browser received: hands its headers to a report that waits for them, or keeps them. */
  record(key: ResponseKey, headers: Iterable<HeaderPair>): void {
    const k = keyOf(key);
    const kept = paymentHeaders(headers);
    const i = this.waiters.findIndex((w) => w.key === k);
    const waiter = this.waiters[i];
    if (waiter) {
      this.waiters.splice(i, 1);
      waiter.resolve(kept);
      return;
    }
    this.prune();
    this.seen.push({ key: k, at: this.now, headers: kept });
    const max = this.opts.max ?? 100;
    if (this.seen.length > max) this.seen.splice(0, this.seen.length - max);
  }

  /**
   * The payment headers of the oldest unclaimed 402 for this key, waiting a while for one to
   * arrive; `undefined` when none does. Each response serves one report.
   */
  take(key: ResponseKey): Promise<HeaderPair[] | undefined> {
    const k = keyOf(key);
    this.prune();
    const i = this.seen.findIndex((s) => s.key === k);
    const found = this.seen[i];
    if (found) {
      this.seen.splice(i, 1);
      return Promise.resolve(found.headers);
    }
    if (this.waiters.length >= (this.opts.max ?? 100)) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        key: k,
        resolve: (headers) => {
          clearTimeout(timer);
          resolve(headers);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, this.opts.waitMs ?? 5_000);
      this.waiters.push(waiter);
    });
  }
}
