import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NoticeService } from '../../../src/background/services/notices';
import { periodKey } from '../../../src/core/policy/periods';
import { autoTotalKeys, defaultRules, totalKey } from '../../../src/core/policy/rules';
import { PayboundDb, type PaymentRecord } from '../../../src/db/schema';

let db: PayboundDb;
afterEach(async () => {
  await db?.delete();
});

const rules = defaultRules('UTC');
const budget = rules.budgets[0]!;

/** A charge of `amountMinor` that has just become spent, with the month's total at `totalMinor`. */
async function committed(at: number, amountMinor: bigint, totalMinor: bigint): Promise<PaymentRecord> {
  await db.spend.put({
    key: totalKey(budget, periodKey('month', at, 'UTC')),
    reservedMinor: 0n,
    committedMinor: totalMinor,
  });
  return { site: 'app.example', amountMinor, createdAt: at, rate: { currency: 'USD' } } as PaymentRecord;
}

/** A fresh database and a notice service on it, with its notices recorded; the clock is the test's. */
function service(now: () => number) {
  db = new PayboundDb(`n-${Math.random()}`);
  const notify = vi.fn(async (_key: string, _title: unknown, _message: unknown) => {});
  return {
    notify,
    notices: new NoticeService(db, { notify, badge: async () => {} }, async () => rules, now),
  };
}

describe('the budget forecast notice', () => {
  it('tells once a period, the first time the pace runs the budget out before the month ends', async () => {
    let now = Date.UTC(2026, 11, 10, 12); // 9.5 days into a 31-day month
    const { notify, notices } = service(() => now);
    // 10.00 of 50.00 spent: at this pace about 32.60 by the month's end. Nothing to say.
    await notices.afterCommit(await committed(now, 100n, 1000n));
    expect(notify.mock.calls.filter(([key]) => String(key).startsWith('forecast'))).toEqual([]);
    // 20.00 spent by the 10th: the pace runs it out on the 24th.
    now += 3600_000;
    await notices.afterCommit(await committed(now, 1000n, 2000n));
    const told = notify.mock.calls.filter(([key]) => String(key).startsWith('forecast'));
    expect(told).toHaveLength(1);
    expect(told[0]?.[1]).toEqual({ key: 'noticeForecast', args: ['Monthly budget', '2026-12-24'] });
    // Later charges in the same month say nothing more.
    now += 3600_000;
    await notices.afterCommit(await committed(now, 500n, 2500n));
    expect(notify.mock.calls.filter(([key]) => String(key).startsWith('forecast'))).toHaveLength(1);
  });
});

describe('the notice of an automatic payment', () => {
  it('is one per site, replaced by the next, with what the site took without a click today', async () => {
    const now = Date.UTC(2026, 11, 10, 12);
    const { notify, notices } = service(() => now);
    const paid = async (site: string, amountMinor: bigint, todayMinor: bigint) => {
      await db.spend.put({
        key: autoTotalKeys(site, periodKey('day', now, 'UTC')).site,
        reservedMinor: 0n,
        committedMinor: todayMinor,
      });
      const p = {
        site,
        amountMinor,
        createdAt: now,
        amount: { unit: 'msat', value: 1n },
        rate: { currency: 'USD' },
      };
      await notices.paidAutomatically(p as PaymentRecord);
    };
    await paid('app.example', 2n, 2n);
    await paid('app.example', 3n, 5n);
    await paid('other.example', 7n, 7n);
    expect(notify.mock.calls.map(([id]) => id)).toEqual([
      'paid-app.example',
      'paid-app.example',
      'paid-other.example',
    ]);
    expect(notify.mock.calls[1]?.slice(1)).toEqual([
      { key: 'noticePaidAuto', args: ['$0.03'] },
      { key: 'noticeAutoToday', args: ['app.example', '$0.05'] },
    ]);
  });
});
