/** The popup's and options page's view of the worker: loaded through the message map. */
import { create } from 'zustand';
import { send } from '../../messages/client';
import type { BudgetSpendView, ChallengeRecordView, PaymentView, StatusView } from '../../messages/map';
import { errorText } from './i18n';

interface StatusState {
  status?: StatusView;
  recent: ChallengeRecordView[];
  payments: PaymentView[];
  spend: BudgetSpendView[];
  error?: string;
  load(): Promise<void>;
  setPaused(paused: boolean): Promise<void>;
}

export const useStatusStore = create<StatusState>((set, get) => ({
  recent: [],
  payments: [],
  spend: [],
  async load() {
    try {
      const [status, recent, payments, spend] = await Promise.all([
        send('status.get', {}),
        send('challenges.recent', { limit: 20 }),
        send('payments.recent', { limit: 500 }),
        send('spend.summary', {}),
      ]);
      set({ status, recent, payments, spend, error: undefined });
    } catch (e) {
      set({ error: errorText(e) });
    }
  },
  async setPaused(paused) {
    await send('pause.set', { paused });
    await get().load();
  },
}));
