/** The quote window's state: the quotes queued for its tab, loaded and decided through the worker. */
import browser from 'webextension-polyfill';
import { create } from 'zustand';
import { send } from '../../messages/client';
import type { Broadcast, QuoteView } from '../../messages/map';

interface ApproveState {
  tabId: number;
  quotes: QuoteView[];
  loaded: boolean;
  busy: boolean;
  error?: string;
  load(): Promise<void>;
  decide(
    id: string,
    decision: 'approve' | 'deny',
    extra?: { password?: string; exceed?: boolean },
  ): Promise<void>;
  /** Pays the quote with another wallet; the window then shows the quote as that wallet sees it. */
  switchRail(id: string, railId: string): Promise<void>;
}

const tabId = Number(new URLSearchParams(location.search).get('tab') ?? '-1');

export const useApproveStore = create<ApproveState>((set, get) => ({
  tabId,
  quotes: [],
  loaded: false,
  busy: false,
  async load() {
    try {
      const quotes = await send('approvals.pending', { tabId: get().tabId });
      set({ quotes, loaded: true, error: undefined });
      // Nothing left to decide in this tab: the window has done its job.
      if (quotes.length === 0) window.close();
    } catch (e) {
      set({ error: e instanceof Error ? e.message : String(e), loaded: true });
    }
  },
  async switchRail(id, railId) {
    set({ busy: true, error: undefined });
    try {
      await send('approval.switchRail', { paymentId: id, railId });
    } catch (e) {
      set({ error: e instanceof Error ? e.message : String(e) });
    } finally {
      set({ busy: false });
      await get().load();
    }
  },
  async decide(id, decision, extra = {}) {
    set({ busy: true, error: undefined });
    try {
      await send('approval.decide', { paymentId: id, decision, ...extra });
      await get().load();
    } catch (e) {
      // A wrong password leaves the quote waiting: say why and let the user try again.
      set({ error: e instanceof Error ? e.message : String(e) });
    } finally {
      set({ busy: false });
    }
  },
}));

browser.runtime.onMessage.addListener((msg: unknown) => {
  const b = msg as Partial<Broadcast>;
  if (b.broadcast === 'approvals.changed' && b.data?.tabId === tabId) void useApproveStore.getState().load();
});
