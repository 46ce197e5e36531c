/** The quote window's state: the quotes queued for its tab, loaded and decided through the worker. */
import browser from 'webextension-polyfill';
import { create } from 'zustand';
import { send, unwrap } from '../../messages/client';
import type { Broadcast, MessageInput, QuoteView } from '../../messages/map';
import { errorText, t } from '../shared/i18n';

type DecideExtra = Pick<MessageInput<'approval.decide'>, 'password' | 'exceed' | 'allowAuto'>;

interface ApproveState {
  tabId: number;
  quotes: QuoteView[];
  loaded: boolean;
  busy: boolean;
  error?: string;
  /** What the last action did, when the window stays open after it (e.g. a site was blocked). */
  notice?: string;
  /** The approved quote whose payment runs now: the window shows it paying until it has its outcome. */
  paying?: string;
  load(): Promise<void>;
  decide(id: string, decision: 'approve' | 'deny', extra?: DecideExtra): Promise<void>;
  /** Pays the quote with another wallet; the window then shows the quote as that wallet sees it. */
  switchRail(id: string, railId: string): Promise<void>;
  /** Takes a plan instead of paying per use: the plan's first period comes as the next quote. */
  subscribe(id: string, planId: string): Promise<void>;
  /** Blocks the quote's site: the worker denies its waiting quotes, so the queue is reloaded. */
  blockSite(id: string): Promise<void>;
}

const tabId = Number(new URLSearchParams(location.search).get('tab') ?? '-1');

/** How long the window waits for a plan's first period after "Subscribe" before it may close. */
const PLAN_WAIT_MS = 15_000;
let planPendingUntil = 0;

const message = (e: unknown): string => errorText(e);

/** How long the window waits for an approved payment's outcome before it looks again itself. */
const SETTLE_WAIT_MS = 5_000;
const settleWaiters = new Map<string, () => void>();

/** Resolves when the worker says this payment has its outcome, or after SETTLE_WAIT_MS. */
function settledOrLate(paymentId: string): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, SETTLE_WAIT_MS);
    function done() {
      clearTimeout(timer);
      settleWaiters.delete(paymentId);
      resolve();
    }
    settleWaiters.set(paymentId, done);
  });
}

/** The worker's answer to the window's first question, asked before this code loaded. */
let earlyQuotes = (globalThis as { __payboundQuotes?: Promise<unknown> }).__payboundQuotes;

export const useApproveStore = create<ApproveState>((set, get) => ({
  tabId,
  quotes: [],
  loaded: false,
  busy: false,
  async load() {
    try {
      // The first load takes the answer public/approve-early.js asked for as the window opened.
      const early = earlyQuotes;
      earlyQuotes = undefined;
      const quotes = early
        ? unwrap<'approvals.pending'>(await early)
        : await send('approvals.pending', { tabId: get().tabId });
      set({ quotes, loaded: true, error: undefined });
      // Nothing left to decide in this tab: the window has done its job. Right after "Subscribe"
      // the plan's first period is on its way (the worker is asking the app): wait for it.
      if (quotes.length === 0 && Date.now() > planPendingUntil) window.close();
      if (quotes.length > 0 && planPendingUntil > 0) {
        planPendingUntil = 0;
        set({ notice: undefined });
      }
    } catch (e) {
      set({ error: message(e), loaded: true });
    }
  },
  async switchRail(id, railId) {
    set({ busy: true, error: undefined, notice: undefined });
    try {
      await send('approval.switchRail', { paymentId: id, railId });
    } catch (e) {
      set({ error: message(e) });
    } finally {
      set({ busy: false });
      await get().load();
    }
  },
  async decide(id, decision, extra = {}) {
    set({ busy: true, error: undefined, notice: undefined });
    try {
      await send('approval.decide', { paymentId: id, decision, ...extra });
      // The last quote approved: the window says it pays and closes once the payment has its
      // outcome, not while it runs (a closing window slows the browser down just then).
      if (decision === 'approve' && get().quotes.length === 1) {
        set({ paying: id });
        await settledOrLate(id);
      }
      await get().load();
      set({ paying: undefined });
    } catch (e) {
      // A wrong password leaves the quote waiting: say why and let the user try again. The quote
      // may have changed meanwhile (budgets moved: it now needs the overage confirmation), so it
      // is loaded again before the reason is shown.
      const why = message(e);
      await get().load();
      set({ error: why });
    } finally {
      set({ busy: false });
    }
  },
  async subscribe(id, planId) {
    set({ busy: true, error: undefined, notice: undefined });
    planPendingUntil = Date.now() + PLAN_WAIT_MS;
    try {
      await send('approval.subscribe', { paymentId: id, planId });
      set({ notice: t('planSubscribing') });
    } catch (e) {
      planPendingUntil = 0;
      set({ error: message(e) });
    } finally {
      set({ busy: false });
      await get().load();
    }
  },
  async blockSite(id) {
    set({ busy: true, error: undefined, notice: undefined });
    try {
      const r = await send('approval.blockSite', { paymentId: id });
      // Only seen when quotes from other sites still wait in this tab (otherwise the window closes).
      set({ notice: t('quoteBlocked', r.blocked, String(r.denied)) });
    } catch (e) {
      set({ error: message(e) });
    } finally {
      set({ busy: false });
      await get().load();
    }
  },
}));

// Loaded as soon as this code runs, not once React has rendered an empty window first.
void useApproveStore.getState().load();

browser.runtime.onMessage.addListener((msg: unknown) => {
  const b = msg as Partial<Broadcast>;
  if (b.broadcast === 'approvals.changed' && b.data?.tabId === tabId) {
    // The plan's first period was paid, or could not be: nothing more is coming for it.
    if (b.data.planEnded) planPendingUntil = 0;
    const waiter = b.data.settled !== undefined ? settleWaiters.get(b.data.settled) : undefined;
    // The payment this window waits on: its decide() loads once it has the word.
    if (waiter) waiter();
    else void useApproveStore.getState().load();
  }
});
