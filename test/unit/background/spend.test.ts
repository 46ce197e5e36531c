import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { spendSummary } from '../../../src/background/services/spend';
import { periodKey } from '../../../src/core/policy/periods';
import { defaultRules, totalKey } from '../../../src/core/policy/rules';
import { PayboundDb } from '../../../src/db/schema';
import { setSetting } from '../../../src/db/settings';

let db: PayboundDb;
afterEach(async () => {
  await db?.delete();
});

describe('the budgets as the popup shows them', () => {
  it('carries the day a budget runs out at this period’s pace, and nothing when it lasts', async () => {
    db = new PayboundDb(`sp-${Math.random()}`);
    const rules = defaultRules('Europe/Berlin');
    await setSetting(db, 'rules', rules);
    const [month] = rules.budgets;
    // 15 Dec, noon in Berlin: 14.46 days into a 31-day month.
    const now = Date.UTC(2026, 11, 15, 11);
    const key = totalKey(month!, periodKey('month', now, 'Europe/Berlin'));
    await db.spend.put({ key, reservedMinor: 0n, committedMinor: 3000n });
    const [heading] = await spendSummary(db, now);
    // 30.00 of 50.00 in 14.46 days: 50.00 is reached 24.1 days in, on 25 Dec.
    expect(heading?.runsOutAt).toBeDefined();
    expect(new Date(heading!.runsOutAt!).toISOString().slice(0, 10)).toBe('2026-12-25');
    await db.spend.put({ key, reservedMinor: 0n, committedMinor: 1000n });
    const [lasting] = await spendSummary(db, now);
    expect(lasting?.runsOutAt).toBeUndefined();
  });
});
