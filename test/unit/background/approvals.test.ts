import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { ApprovalService } from '../../../src/background/services/approvals';
import { PayboundDb, type PaymentRecord } from '../../../src/db/schema';

const quote = (id: string, createdAt: number): PaymentRecord =>
  ({ id, key: id, state: 'reserved', approval: 'waiting', tabId: 4, createdAt }) as PaymentRecord;

describe('ApprovalService: closing a quote window', () => {
  it('denies what the window showed; a quote that arrived while it closed gets a window of its own', async () => {
    const db = new PayboundDb(`a-${Math.random()}`);
    let map: Record<string, number> = {};
    let next = 100;
    const windows = {
      create: vi.fn(async () => next++),
      focus: vi.fn(async () => false),
      remove: vi.fn(async () => {}),
    };
    const approvals = new ApprovalService(
      db,
      windows,
      {
        get: async () => map,
        set: async (m) => {
          map = m;
        },
      },
      (tab) => `approve?tab=${tab}`,
      async () => {},
    );
    await db.payments.add(quote('a', 1));
    const first = approvals.request((await db.payments.get('a')) as PaymentRecord);
    await vi.waitFor(() => expect(map['4']).toBe(100));
    // The window loads what waits in its tab; then a second quote arrives as the user closes it.
    expect((await approvals.shown(4)).map((p) => p.id)).toEqual(['a']);
    await db.payments.add(quote('b', Date.now() + 1000));
    await approvals.windowClosed(100);
    expect(await first).toBe('denied');
    expect((await db.payments.get('b'))?.approval).toBe('waiting');
    expect(windows.create).toHaveBeenCalledTimes(2);
    expect(map['4']).toBe(101);
    await db.delete();
  });
});
