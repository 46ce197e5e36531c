import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NoticeService } from '../../../src/background/services/notices';
import { periodKey } from '../../../src/core/policy/periods';
import { defaultRules, totalKey } from '../../../src/core/policy/rules';
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

describe('the budget forecast notice', () => {
  it('tells once a period, the first time the pace runs the budget out before the month ends', async () => {
    db = new PayboundDb(`n-${Math.random()}`);
    let now = Date.UTC(2026, 11, 10, 12); // 9.5 days into a 31-day month
    const notify = vi.fn(async (_key: string, _title: unknown, _message: unknown) => {});
    const notices = new NoticeService(
      db,
      { notify, badge: async () => {} },
      async () => rules,
      () => now,
    );
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
