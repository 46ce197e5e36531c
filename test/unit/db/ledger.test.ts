import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { periodKey } from '../../../src/core/policy/periods';
import { defaultRules, type Rules, totalKey } from '../../../src/core/policy/rules';
import { type NewPayment, reserve, settleReservation } from '../../../src/db/ledger';
import { PayboundDb } from '../../../src/db/schema';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const SITES = ['https://a.example', 'https://b.example'];

function draft(i: number, origin: string, amountMinor: bigint): NewPayment {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    key: `l402:${i}`,
    protocol: 'l402',
    origin,
    url: `${origin}/api/x`,
    method: 'POST',
    via: 'fetch',
    railId: 'r',
    amountMsat: amountMinor * 10_000n,
    amountMinor,
    invoice: 'lnbcrt…',
    paymentHash: String(i),
    invoiceExpiresAt: NOW / 1000 + 600,
    macaroon: 'm',
    scheme: 'L402',
    createdAt: NOW,
    updatedAt: NOW,
  };
}

const rules: Rules = {
  ...defaultRules('UTC'),
  autoMaxMinor: 100n,
  budgets: [
    {
      id: 'g',
      label: 'Global',
      scope: { kind: 'global' },
      period: 'month',
      limitMinor: 1000n,
      milestones: [],
    },
    {
      id: 'a',
      label: 'A daily',
      scope: { kind: 'site', origin: SITES[0]! },
      period: 'day',
      limitMinor: 300n,
      milestones: [],
    },
  ],
};
const gKey = totalKey(rules.budgets[0]!, periodKey('month', NOW, 'UTC'));
const aKey = totalKey(rules.budgets[1]!, periodKey('day', NOW, 'UTC'));

describe('ledger reservations', () => {
  it('50 concurrent charges against a budget that fits 10: exactly 10 fit, the rest are overages', async () => {
    const db = new PayboundDb(`l-${Math.random()}`);
    const tight: Rules = { ...rules, budgets: [{ ...rules.budgets[0]!, limitMinor: 100n }] };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => reserve(db, draft(i, SITES[1]!, 10n), tight, NOW)),
    );
    expect(results.filter((r) => r.kind === 'reserved' && r.payment.tier === 'auto')).toHaveLength(10);
    expect(results.filter((r) => r.kind === 'reserved' && r.payment.tier === 'overage')).toHaveLength(40);
    await db.delete();
  });

  it('the same challenge is recorded once', async () => {
    const db = new PayboundDb(`l-${Math.random()}`);
    const [a, b] = await Promise.all([
      reserve(db, draft(1, SITES[0]!, 10n), rules, NOW),
      reserve(db, draft(1, SITES[0]!, 10n), rules, NOW),
    ]);
    expect([a.kind, b.kind].sort()).toEqual(['known', 'reserved']);
    expect((await db.spend.get(gKey))?.reservedMinor).toBe(10n);
    await db.delete();
  });

  it('commit and release move totals once, however often they are called', async () => {
    const db = new PayboundDb(`l-${Math.random()}`);
    const r1 = await reserve(db, draft(1, SITES[0]!, 40n), rules, NOW);
    const r2 = await reserve(db, draft(2, SITES[0]!, 60n), rules, NOW);
    await settleReservation(db, r1.payment.id, 'committed');
    await settleReservation(db, r1.payment.id, 'committed');
    await settleReservation(db, r2.payment.id, 'released');
    await settleReservation(db, r2.payment.id, 'committed');
    expect(await db.spend.get(gKey)).toEqual({ key: gKey, reservedMinor: 0n, committedMinor: 40n });
    expect(await db.spend.get(aKey)).toEqual({ key: aKey, reservedMinor: 0n, committedMinor: 40n });
    await db.delete();
  });

  it('property: whatever the charges and their order, committed spend never exceeds a budget without an authorized overage', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            site: fc.constantFrom(...SITES),
            amount: fc.bigInt({ min: 1n, max: 400n }),
            outcome: fc.constantFrom('pay', 'fail'),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        fc.boolean(),
        async (charges, concurrent) => {
          const db = new PayboundDb(`p-${Math.random()}`);
          const run = async (c: (typeof charges)[number], i: number) => {
            const r = await reserve(db, draft(i, c.site, c.amount), rules, NOW);
            if (r.kind !== 'reserved') return;
            // Overages are never authorized here; everything else pays or fails.
            const paid = r.payment.tier !== 'overage' && c.outcome === 'pay';
            await settleReservation(db, r.payment.id, paid ? 'committed' : 'released');
          };
          if (concurrent) await Promise.all(charges.map(run));
          else for (const [i, c] of charges.entries()) await run(c, i);
          const g = await db.spend.get(gKey);
          const a = await db.spend.get(aKey);
          await db.delete();
          expect(g?.committedMinor ?? 0n).toBeLessThanOrEqual(1000n);
          expect(a?.committedMinor ?? 0n).toBeLessThanOrEqual(300n);
          expect(g?.reservedMinor ?? 0n).toBe(0n);
        },
      ),
      { numRuns: 60 },
    );
  });
});
