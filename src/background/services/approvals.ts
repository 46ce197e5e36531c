/**
 * The quote window: one popup window per tab, in which that tab's quotes queue. The user's
 * decision is stored on the payment record; the payment flow waits on it here. Closing the window
 * denies whatever is still waiting in it.
 */
import type { PayboundDb, PaymentRecord } from '../../db/schema';
import type { Broadcast } from '../../messages/map';
import { mark } from '../trace';

export type Decision = 'approved' | 'denied';

export interface WindowApi {
  create(url: string): Promise<number | undefined>;
  focus(windowId: number): Promise<boolean>;
  remove(windowId: number): Promise<void>;
}

export interface SessionStore {
  get(): Promise<Record<string, number>>;
  set(map: Record<string, number>): Promise<void>;
}

const NO_TAB = -1;

/**
 * A session store kept in memory after its first read, each write going through to the store.
 * Only this worker writes its windows' map, so what it last read or wrote is the map: a quote's
 * window then opens without a round trip to the browser's session storage first.
 */
export function remembered(store: SessionStore): SessionStore {
  let known: Promise<Record<string, number>> | undefined;
  return {
    get() {
      // A failed read is not kept: the next one asks again.
      known ??= store.get().catch((e: unknown) => {
        known = undefined;
        throw e;
      });
      return known;
    },
    set(map) {
      known = Promise.resolve(map);
      return store.set(map);
    },
  };
}

export class ApprovalService {
  private readonly waiters = new Map<string, (d: Decision) => void>();
  /** The promise each waiter resolves, until the flow of its quote takes it (see `decisionOf`). */
  private readonly decided = new Map<string, Promise<Decision>>();
  /** Approved quotes `decide` moved to `paying` for the flow that waits on them (see `takePaying`). */
  private readonly paying = new Map<string, PaymentRecord>();
  /**
   * When each tab's window last loaded its quotes: closing the window denies only what it could
   * show. A quote that arrived while it was closing gets a window of its own. (In memory: after a
   * worker restart a closed window denies everything of its tab, as a careful default.)
   */
  private readonly shownAt = new Map<number, number>();
  /** Per tab, the quotes being written whose window `open` began showing (settle once written). */
  private readonly writing = new Map<number, Set<Promise<void>>>();
  /** Window lookups and creations run one at a time, so concurrent 402s share one window. */
  private windowQueue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: PayboundDb,
    private readonly windows: WindowApi,
    private readonly session: SessionStore,
    private readonly approveUrl: (tabId: number) => string,
    private readonly broadcast: (msg: Broadcast) => Promise<void>,
    /** Told when quotes start or stop waiting (badge, "approval needed" notice). */
    private readonly onChange: (event: { waiting?: PaymentRecord }) => Promise<void> = async () => {},
    /**
     * Told of every denial (a click, a closed window, an expiry), so that its reservation is
     * given back even when no flow waits on it any more (after a worker restart).
     */
    private readonly onDenied: (paymentId: string) => Promise<void> = async () => {},
  ) {}

  /**
   * Shows the quote (opening or reusing the tab's window) and waits for the user's decision.
   * `shown`: the window `open` began showing while the quote was being written.
   */
  async request(payment: PaymentRecord, shown?: Promise<boolean>): Promise<Decision> {
    const decided = this.decisionOf(payment.id);
    // Kept only until its flow has it (a quote decided before its flow came to wait keeps it).
    void decided.finally(() => this.decided.delete(payment.id));
    if (!(await (shown ?? this.show(payment.tabId)).catch(() => false)))
      await this.decide(payment.id, 'denied');
    else await this.onChange({ waiting: payment }).catch(() => {});
    return decided;
  }

  /**
   * Starts showing a tab's window for a quote still being written (`written` settles once its
   * transaction has): the window, loading meanwhile, is told the tab's quotes only after that.
   * Hand the answer to `request`.
   */
  open(payment: PaymentRecord, written: Promise<unknown>): Promise<boolean> {
    const key = payment.tabId ?? NO_TAB;
    // Awaited from now: a window closed before `request` runs still denies it to its flow.
    this.decisionOf(payment.id);
    const gate = written.then(
      () => {},
      () => {
        // Never recorded: nobody will decide it.
        this.waiters.delete(payment.id);
        this.decided.delete(payment.id);
      },
    );
    const gates = this.writing.get(key) ?? new Set();
    gates.add(gate);
    this.writing.set(key, gates);
    void gate.then(() => {
      gates.delete(gate);
      if (gates.size === 0 && this.writing.get(key) === gates) this.writing.delete(key);
    });
    return this.show(payment.tabId);
  }

  /** The decision on a quote, awaited once: the same promise for every caller until it settles. */
  private decisionOf(paymentId: string): Promise<Decision> {
    let decided = this.decided.get(paymentId);
    if (!decided) {
      decided = new Promise<Decision>((resolve) => this.waiters.set(paymentId, resolve));
      this.decided.set(paymentId, decided);
    }
    return decided;
  }

  private show(tabId: number | undefined): Promise<boolean> {
    const shown = this.windowQueue.then(() => this.showWindow(tabId ?? NO_TAB));
    this.windowQueue = shown.catch(() => {});
    return shown;
  }

  /** Focuses the tab's quote window and tells it to reload, or opens one. False if none could open. */
  private async showWindow(tabId: number): Promise<boolean> {
    const map = await this.session.get();
    const existing = map[String(tabId)];
    if (existing !== undefined && (await this.windows.focus(existing))) {
      await this.broadcast({ broadcast: 'approvals.changed', data: { tabId } });
      return true;
    }
    mark('window asked');
    const windowId = await this.windows.create(this.approveUrl(tabId));
    mark('window created');
    if (windowId === undefined) return false;
    await this.session.set({ ...(await this.session.get()), [String(tabId)]: windowId });
    return true;
  }

  /**
   * An approved payment has its outcome: its window, which waited on it instead of closing while
   * the payment ran (closing a window costs the browser more than the payment), may close now.
   */
  async settled(payment: PaymentRecord): Promise<void> {
    await this.broadcast({
      broadcast: 'approvals.changed',
      data: { tabId: payment.tabId ?? NO_TAB, settled: payment.id },
    });
  }

  /** Every quote still waiting for the user, in any tab. */
  async allWaiting(): Promise<PaymentRecord[]> {
    const rows = await this.db.payments.where('state').equals('reserved').toArray();
    return rows.filter((p) => p.approval === 'waiting');
  }

  /** The quotes a tab's window shows now (the window asks when it loads). */
  async shown(tabId: number): Promise<PaymentRecord[]> {
    this.shownAt.set(tabId, Date.now());
    return this.pending(tabId);
  }

  async pending(tabId: number): Promise<PaymentRecord[]> {
    // Quotes whose window opened while they were written: read once they are.
    const gates = this.writing.get(tabId);
    if (gates) await Promise.all(gates);
    const rows = await this.db.payments.where('state').equals('reserved').toArray();
    return rows
      .filter((p) => p.approval === 'waiting' && (p.tabId ?? NO_TAB) === tabId)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * Records the user's decision. Only a quote still waiting can be decided, so a late or repeated
   * click changes nothing.
   */
  async decide(
    paymentId: string,
    decision: Decision,
    /**
     * Runs in the same transaction before an approval is recorded, with the quote as just read;
     * false refuses it (the budget check).
     */
    guard?: (p: PaymentRecord) => Promise<boolean>,
    /** Runs in the same transaction once an approval is written (what the click makes known). */
    approved?: (p: PaymentRecord) => Promise<void>,
    /** Reads for `guard`, asked in the same transaction beside the quote's own read. */
    ahead?: () => Promise<unknown>,
  ): Promise<boolean> {
    const { db } = this;
    // The flow waiting on this quote pays it next: an approval moves it to `paying` in the same
    // write (the state machine's reserved → paying edge), one transaction fewer after the click.
    const pays = decision === 'approved' && this.waiters.has(paymentId);
    const written = await db.transaction('rw', [db.payments, db.spend, db.sites], async () => {
      const [p] = await Promise.all([db.payments.get(paymentId), ahead?.()]);
      if (p?.state !== 'reserved' || p.approval !== 'waiting') return undefined;
      if (guard && !(await guard(p))) return undefined;
      const patch = {
        approval: decision,
        updatedAt: Date.now(),
        ...(pays ? { state: 'paying' as const } : {}),
      };
      const record = { ...p, ...patch };
      // The approval and what it makes known, written side by side. The row as read in this
      // transaction is put back whole: one request, where an update reads it again first.
      await Promise.all([db.payments.put(record), decision === 'approved' ? approved?.(record) : undefined]);
      return record;
    });
    const changed = written !== undefined;
    if (changed) {
      // Handed to the waiting flow only once committed: a failed commit leaves nothing to pay.
      if (pays) this.paying.set(paymentId, written);
      this.settle(paymentId, decision);
      if (decision === 'denied') await this.onDenied(paymentId).catch(() => {});
      await this.onChange({}).catch(() => {});
    }
    return changed;
  }

  /** A quote that can no longer be approved (expired, worker gave up): stop waiting for it. */
  async withdraw(paymentId: string): Promise<void> {
    await this.decide(paymentId, 'denied');
  }

  /**
   * The window was closed: deny what was waiting in it. Runs in turn with window lookups, so a
   * quote arriving while the window closes is either shown in it (and denied with it) or gets a
   * new window, never denied unseen.
   */
  async windowClosed(windowId: number): Promise<void> {
    const run = this.windowQueue.then(async () => {
      const map = await this.session.get();
      const entry = Object.entries(map).find(([, id]) => id === windowId);
      if (!entry) return [];
      const [tabKey] = entry;
      const { [tabKey]: _closed, ...rest } = map;
      await this.session.set(rest);
      const tabId = Number(tabKey);
      const seen = this.shownAt.get(tabId) ?? Number.POSITIVE_INFINITY;
      this.shownAt.delete(tabId);
      const waiting = await this.pending(tabId);
      const unseen = waiting.filter((p) => p.createdAt > seen);
      for (const p of waiting) if (p.createdAt <= seen) await this.decide(p.id, 'denied');
      if (unseen.length > 0 && !(await this.showWindow(tabId))) {
        for (const p of unseen) await this.decide(p.id, 'denied');
      }
      return unseen;
    });
    this.windowQueue = run.catch(() => {});
    await run;
  }

  private settle(paymentId: string, decision: Decision): void {
    const resolve = this.waiters.get(paymentId);
    this.waiters.delete(paymentId);
    resolve?.(decision);
  }

  /** The quote window of a tab, if one is open. */
  async windowOf(tabId: number): Promise<number | undefined> {
    return (await this.session.get())[String(tabId)];
  }

  /** Brings a tab's quote window to the front; false when the tab has none (or it just closed). */
  async focus(tabId: number): Promise<boolean> {
    const windowId = await this.windowOf(tabId);
    return windowId !== undefined && (await this.windows.focus(windowId));
  }

  /**
   * The record of an approved quote that its approval already moved to `paying`, for the flow
   * that waited on it: that flow pays it (once: a second call finds nothing).
   */
  takePaying(paymentId: string): PaymentRecord | undefined {
    const p = this.paying.get(paymentId);
    this.paying.delete(paymentId);
    return p;
  }

  /** True while someone in this worker waits for the decision (false after a worker restart). */
  isAwaited(paymentId: string): boolean {
    return this.waiters.has(paymentId);
  }
}
