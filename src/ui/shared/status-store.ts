/** The popup's and options page's view of the worker: loaded through the message map. */
import { create } from 'zustand';
import { send } from '../../messages/client';
import type { ChallengeRecordView, StatusView } from '../../messages/map';

interface StatusState {
  status?: StatusView;
  recent: ChallengeRecordView[];
  error?: string;
  load(): Promise<void>;
}

export const useStatusStore = create<StatusState>((set) => ({
  recent: [],
  async load() {
    try {
      const [status, recent] = await Promise.all([
        send('status.get', {}),
        send('challenges.recent', { limit: 10 }),
      ]);
      set({ status, recent, error: undefined });
    } catch (e) {
      set({ error: e instanceof Error ? e.message : String(e) });
    }
  },
}));
