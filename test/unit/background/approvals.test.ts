import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { ApprovalService, remembered } from '../../../src/background/services/approvals';
import { PayboundDb, type PaymentRecord } from '../../../src/db/schema';

const quote = (id: string, createdAt: number): PaymentRecord =>
  ({ id, key: id, state: 'reserved', approval: 'waiting', tabId: 4, createdAt }) as PaymentRecord;

/** The service over stand-in windows (numbered from `firstWindow`) and session storage. */
function service(db: PayboundDb, firstWindow = 100) {
  let map: Record<string, number> = {};
  let next = firstWindow;
  const windows = {
    create: vi.fn(async () => next++),
    focus: vi.fn(async () => false),
    remove: vi.fn(async () => {}),
  };
  const session = {
    get: async () => map,
    set: async (m: Record<string, number>) => {
      map = m;
    },
  };
  const approvals = new ApprovalService(
    db,
    windows,
    session,
    (tab) => `approve?tab=${tab}`,
    async () => {},
  );
  return { approvals, windows, windowOf: (tab: number) => map[String(tab)] };
}

describe('ApprovalService: closing a quote window', () => {
  it('denies what the window showed; a quote that arrived while it closed gets a window of its own', async () => {
    const db = new PayboundDb(`a-${Math.random()}`);
    const { approvals, windows, windowOf } = service(db, 100);
    await db.payments.add(quote('a', 1));
    const first = approvals.request((await db.payments.get('a')) as PaymentRecord);
    await vi.waitFor(() => expect(windowOf(4)).toBe(100));
    // The window loads what waits in its tab; then a second quote arrives as the user closes it.
    expect((await approvals.shown(4)).map((p) => p.id)).toEqual(['a']);
    await db.payments.add(quote('b', Date.now() + 1000));
    await approvals.windowClosed(100);
    expect(await first).toBe('denied');
    expect((await db.payments.get('b'))?.approval).toBe('waiting');
    expect(windows.create).toHaveBeenCalledTimes(2);
    expect(windowOf(4)).toBe(101);
    await db.delete();
  });
});

describe('ApprovalService: an approval', () => {
  it('moves the quote its flow waits on to paying in the same write, for that flow to take once', async () => {
    const db = new PayboundDb(`a-${Math.random()}`);
    const { approvals } = service(db);
    await db.payments.add(quote('a', 1));
    const waited = approvals.request((await db.payments.get('a')) as PaymentRecord);
    const seen: (string | undefined)[] = [];
    const ok = await approvals.decide('a', 'approved', undefined, async (p) => {
      // Inside the transaction: the record as written.
      seen.push(p.state, (await db.payments.get('a'))?.state);
    });
    expect(ok).toBe(true);
    expect(await waited).toBe('approved');
    expect(seen).toEqual(['paying', 'paying']);
    expect(await db.payments.get('a')).toMatchObject({ state: 'paying', approval: 'approved' });
    expect(approvals.takePaying('a')).toMatchObject({ id: 'a', state: 'paying' });
    expect(approvals.takePaying('a')).toBeUndefined();
    await db.delete();
  });

  it('leaves a quote nobody waits on reserved (whoever pays it moves it), and a refused guard writes nothing', async () => {
    const db = new PayboundDb(`a-${Math.random()}`);
    const { approvals } = service(db);
    await db.payments.bulkAdd([quote('a', 1), quote('b', 2)]);
    const approved = vi.fn(async () => {});
    expect(await approvals.decide('a', 'approved', undefined, approved)).toBe(true);
    expect(await db.payments.get('a')).toMatchObject({ state: 'reserved', approval: 'approved' });
    expect(approvals.takePaying('a')).toBeUndefined();
    expect(approved).toHaveBeenCalledOnce();
    expect(await approvals.decide('b', 'approved', async () => false, approved)).toBe(false);
    expect(await db.payments.get('b')).toMatchObject({ state: 'reserved', approval: 'waiting' });
    expect(approved).toHaveBeenCalledOnce();
    await db.delete();
  });
});

describe('ApprovalService: a window opened while its quote is written', () => {
  it('opens at once, tells the window its quotes only once the write has settled, and is not opened twice', async () => {
    const db = new PayboundDb(`a-${Math.random()}`);
    const { approvals, windows } = service(db, 9);
    let written!: () => void;
    const writing = new Promise<void>((resolve) => {
      written = resolve;
    });
    const shown = approvals.open(quote('a', 1), writing);
    expect(await shown).toBe(true);
    expect(windows.create).toHaveBeenCalledOnce();
    // The window asks before the quote's write: its answer waits for that write, and has the quote.
    const asked = approvals.shown(4);
    await db.payments.add(quote('a', 1));
    written();
    expect((await asked).map((p) => p.id)).toEqual(['a']);
    const decided = approvals.request((await db.payments.get('a')) as PaymentRecord, shown);
    expect(await approvals.decide('a', 'denied')).toBe(true);
    expect(await decided).toBe('denied');
    expect(windows.create).toHaveBeenCalledOnce();
    await db.delete();
  });
});

describe('ApprovalService: a window closed before its flow waits', () => {
  it('denies the quote to the flow that asks for its decision afterwards', async () => {
    const db = new PayboundDb(`a-${Math.random()}`);
    const { approvals } = service(db, 11);
    const a = quote('a', 1);
    const writing = db.payments.add(a);
    const shown = approvals.open(a, writing);
    await shown;
    // Closed at once, before the payment flow has come to wait on the decision.
    await approvals.windowClosed(11);
    expect(await approvals.request(a, shown)).toBe('denied');
    await db.delete();
  });
});

describe('remembered: the windows map kept in memory', () => {
  it('reads the store once, writes through, and answers with what it last wrote', async () => {
    let stored: Record<string, number> = { '4': 9 };
    const store = {
      get: vi.fn(async () => stored),
      set: vi.fn(async (m: Record<string, number>) => {
        stored = m;
      }),
    };
    const kept = remembered(store);
    expect(await kept.get()).toEqual({ '4': 9 });
    expect(await kept.get()).toEqual({ '4': 9 });
    expect(store.get).toHaveBeenCalledOnce();
    await kept.set({ '5': 10 });
    expect(stored).toEqual({ '5': 10 });
    expect(await kept.get()).toEqual({ '5': 10 });
    expect(store.get).toHaveBeenCalledOnce();
  });

  it('asks the store again after a failed read', async () => {
    const store = {
      get: vi.fn().mockRejectedValueOnce(new Error('gone')).mockResolvedValue({ '4': 2 }),
      set: vi.fn(async () => {}),
    };
    const kept = remembered(store);
    await expect(kept.get()).rejects.toThrow('gone');
    expect(await kept.get()).toEqual({ '4': 2 });
    expect(store.get).toHaveBeenCalledTimes(2);
  });
});
