import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ApprovalService } from '../../../src/background/services/approvals';
import { AuthError, AuthService } from '../../../src/background/services/auth';
import { DecisionError, DecisionService } from '../../../src/background/services/decisions';
import type { PaymentService } from '../../../src/background/services/payments';
import { loadRules } from '../../../src/background/services/rules';
import { PayboundDb, type PaymentRecord, type Tier } from '../../../src/db/schema';

const ID = '00000000-0000-4000-8000-000000000001';
let db: PayboundDb;

afterEach(async () => {
  await db.delete();
});

/**
 * A quote of `tier` waiting in the window; the approval service is a stand-in that records the
 * decision (the budget recheck it runs is the ledger's, tested there).
 */
async function setup(tier: Tier, opts: { awaited?: boolean; waiting?: boolean } = {}) {
  db = new PayboundDb(`d-${Math.random()}`);
  await db.payments.add({
    id: ID,
    key: 'k',
    site: 'shop.example',
    state: 'reserved',
    approval: 'waiting',
    tier,
    tabId: 3,
    createdAt: 1,
  } as PaymentRecord);
  const auth = new AuthService(db);
  // As the real one: what an approval makes known is written with it, only when it is recorded.
  const decide = vi.fn(
    async (id: string, d: string, _guard?: unknown, approved?: (p: PaymentRecord) => Promise<void>) => {
      const waiting = opts.waiting ?? true;
      const p = await db.payments.get(id);
      if (waiting && d === 'approved' && p) await approved?.(p);
      return waiting;
    },
  );
  const approvals = { isAwaited: () => opts.awaited ?? true, decide } as unknown as ApprovalService;
  const pay = vi.fn(async () => ({ action: 'pass' as const, reason: '' }));
  const payments = { pay } as unknown as PaymentService;
  const decisions = new DecisionService({
    db,
    approvals,
    auth,
    payments,
    rules: () => loadRules(db),
    broadcast: async () => {},
  });
  return { auth, decide, pay, decisions };
}

/** An approval as the service hands it on: the budget guard, what it makes known, and its reads. */
const APPROVED = [ID, 'approved', expect.any(Function), expect.any(Function), expect.any(Function)] as const;

describe('DecisionService: the user answers a quote', () => {
  it('approves a confirm-tier quote with the click alone', async () => {
    const { decide, decisions } = await setup('confirm');
    expect(await decisions.decide({ paymentId: ID, decision: 'approve' })).toEqual({ accepted: true });
    expect(decide).toHaveBeenCalledWith(...APPROVED);
  });

  it('a strong quote needs the password: without it nothing is recorded; with it, approved', async () => {
    const { auth, decide, decisions } = await setup('strong');
    await auth.setPassword('correct horse');
    await expect(decisions.decide({ paymentId: ID, decision: 'approve' })).rejects.toThrow(AuthError);
    await expect(
      decisions.decide({ paymentId: ID, decision: 'approve', password: 'wrong horse' }),
    ).rejects.toThrow(/wrong password/);
    expect(decide).not.toHaveBeenCalled();
    await decisions.decide({ paymentId: ID, decision: 'approve', password: 'correct horse' });
    expect(decide).toHaveBeenCalledWith(...APPROVED);
  });

  it('an overage also needs the separate "exceed" confirmation; a denial needs neither', async () => {
    const { auth, decide, decisions } = await setup('overage');
    await auth.setPassword('correct horse');
    const refused = decisions.decide({ paymentId: ID, decision: 'approve', password: 'correct horse' });
    await expect(refused).rejects.toMatchObject({ refusal: 'auth', said: { key: 'errorConfirmExceed' } });
    expect(decide).not.toHaveBeenCalled();
    await decisions.decide({ paymentId: ID, decision: 'deny' });
    expect(decide).toHaveBeenCalledWith(ID, 'denied', undefined, expect.any(Function), undefined);
  });

  it('a quote no longer waiting is refused as not found', async () => {
    const { decisions } = await setup('confirm', { waiting: false });
    const late = decisions.decide({ paymentId: ID, decision: 'approve' });
    await expect(late).rejects.toBeInstanceOf(DecisionError);
    await expect(late).rejects.toMatchObject({ refusal: 'not_found', said: { key: 'errorNotWaiting' } });
  });

  it('after a worker restart nobody waits on the approval: it pays here', async () => {
    const { pay, decisions } = await setup('confirm', { awaited: false });
    await decisions.decide({ paymentId: ID, decision: 'approve' });
    expect(pay).toHaveBeenCalledWith(ID);
    expect((await db.sites.get('shop.example'))?.firstApprovedAt).toBeTypeOf('number');
  });

  it('"let this site pay automatically" above the confirmation limit is refused, the quote undecided', async () => {
    const { decide, decisions } = await setup('confirm');
    const tooHigh = decisions.decide({
      paymentId: ID,
      decision: 'approve',
      allowAuto: { perChargeMinor: '100000', perDayMinor: '100000' },
    });
    await expect(tooHigh).rejects.toMatchObject({ refusal: 'bad_message', said: { key: 'errorInvalid' } });
    expect(decide).not.toHaveBeenCalled();
  });
});

describe('DecisionService: the user takes a plan instead', () => {
  it('tells the tab’s window when the subscription has ended, so that it may close', async () => {
    db = new PayboundDb(`d-${Math.random()}`);
    await db.payments.add({ id: ID, key: 'k', site: 'shop.example', tabId: 3 } as PaymentRecord);
    let end: ((tabId: number | undefined) => void) | undefined;
    const payments = {
      subscribeInstead: vi.fn(
        async (_id: string, _plan: string, ended?: (tabId: number | undefined) => void) => {
          end = ended;
          return true;
        },
      ),
    } as unknown as PaymentService;
    const broadcast = vi.fn(async (_b: unknown) => {});
    const decisions = new DecisionService({
      db,
      approvals: {} as ApprovalService,
      auth: new AuthService(db),
      payments,
      rules: () => loadRules(db),
      broadcast,
    });
    expect(await decisions.subscribe(ID, 'quill-pro')).toEqual({ subscribing: true });
    expect(broadcast.mock.calls.map(([b]) => b)).toEqual([
      { broadcast: 'approvals.changed', data: { tabId: 3 } },
    ]);
    end?.(3);
    expect(broadcast.mock.calls.at(-1)?.[0]).toEqual({
      broadcast: 'approvals.changed',
      data: { tabId: 3, planEnded: true },
    });
  });
});
