/** The popup's and options page's view of the worker: loaded through the message map. */
import { create } from 'zustand';
import { send } from '../../messages/client';
import type { ChallengeRecordView, PaymentView, StatusView } from '../../messages/map';

interface StatusState {
  status?: StatusView;
  recent: ChallengeRecordView[];
  payments: PaymentView[];
  error?: string;
  load(): Promise<void>;
}

export const useStatusStore = create<StatusState>((set) => ({
  recent: [],
  payments: [],
  async load() {
    try {
      const [status, recent, payments] = await Promise.all([
        send('status.get', {}),
        send('challenges.recent', { limit: 10 }),
        send('payments.recent', { limit: 10 }),
      ]);
      set({ status, recent, payments, error: undefined });
    } catch (e) {
      set({ error: e instanceof Error ? e.message : String(e) });
    }
  },
}));
