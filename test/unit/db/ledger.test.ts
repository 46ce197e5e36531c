import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { periodKey } from '../../../src/core/policy/periods';
import { defaultRules, type Rules, totalKey } from '../../../src/core/policy/rules';
import { siteOf } from '../../../src/core/site/site';
import {
  type NewPayment,
  POLICY_DENIALS_KEPT,
  QUOTE_LIMITS,
  recheck,
  recheckReads,
  reserve,
  settleReservation,
} from '../../../src/db/ledger';
import { PayboundDb } from '../../../src/db/schema';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const SITES = ['https://a.example', 'https://b.example'];

function draft(i: number, origin: string, amountMinor: bigint): NewPayment {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    key: `l402:${i}`,
    kind: 'lightning',
    challenge: { protocol: 'l402', macaroon: 'm', scheme: 'L402' },
    origin,
    site: siteOf(origin) ?? origin,
    payee: { kind: 'node', id: 'node-of-the-app' },
    url: `${origin}/api/x`,
    method: 'POST',
    via: 'fetch',
    railId: 'r',
    amount: { unit: 'msat', value: amountMinor * 10_000n },
    amountMinor,
    lightning: { invoice: 'lnbcrt…', paymentHash: String(i) },
    expiresAt: NOW / 1000 + 600,
    createdAt: NOW,
    updatedAt: NOW,
  };
}

/** A database where the user already paid both sites and knows their payee. */
function consentedDb(name: string): PayboundDb {
  const db = new PayboundDb(`${name}-${Math.random()}`);
  void db.sites.bulkPut(
    SITES.map((o) => ({
      site: siteOf(o) ?? o,
      firstApprovedAt: 0,
      payees: [{ kind: 'node' as const, id: 'node-of-the-app', firstAt: 0 }],
    })),
  );
  return db;
}

/**
 * The quote window's approval: decided again and recorded in one transaction (as the worker does).
 * `ahead`: the recheck's reads asked beside the quote's own read, for the site it had.
 */
function approve(db: PayboundDb, id: string, ahead = false, site?: string): Promise<boolean> {
  return db.transaction('rw', [db.payments, db.spend, db.sites], async () => {
    const [current, reads] = await Promise.all([
      db.payments.get(id),
      ahead && site ? recheckReads(db, id, site, rules, NOW) : undefined,
    ]);
    if ((await recheck(db, id, rules, NOW, current, reads)).kind !== 'ok') return false;
    await db.payments.update(id, { approval: 'approved' });
    return true;
  });
}

const rules: Rules = {
  ...defaultRules('UTC'),
  autoMaxMinor: 100n,
  autoDayCapMinor: 100_000n,
  sites: SITES.map((o) => ({ site: siteOf(o) ?? o, mode: 'trusted' as const, dayLimitMinor: 100_000n })),
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
      scope: { kind: 'site', site: siteOf(SITES[0]!) ?? '' },
      period: 'day',
      limitMinor: 300n,
      milestones: [],
    },
  ],
};
const gKey = totalKey(rules.budgets[0]!, periodKey('month', NOW, 'UTC'));
const aKey = totalKey(rules.budgets[1]!, periodKey('day', NOW, 'UTC'));

describe('ledger reservations', () => {
  it('50 concurrent charges against a budget that fits 10: exactly 10 fit, the rest are overages or refused as a flood', async () => {
    const db = consentedDb('l');
    const tight: Rules = { ...rules, budgets: [{ ...rules.budgets[0]!, limitMinor: 100n }] };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => reserve(db, draft(i, SITES[1]!, 10n), tight, NOW)),
    );
    expect(results.filter((r) => r.kind === 'reserved' && r.payment.tier === 'auto')).toHaveLength(10);
    // One site may keep only so many quotes waiting; the others are refused before they are recorded.
    expect(results.filter((r) => r.kind === 'reserved' && r.payment.tier === 'overage')).toHaveLength(
      QUOTE_LIMITS.perSite,
    );
    expect(results.filter((r) => r.kind === 'refused')).toHaveLength(40 - QUOTE_LIMITS.perSite);
    expect(await db.payments.count()).toBe(10 + QUOTE_LIMITS.perSite);
    await db.delete();
  });

  it('refusals a page can cause without a click (a blocked site) keep only the newest rows', async () => {
    const db = consentedDb('l');
    const blocked: Rules = { ...rules, sites: [{ site: siteOf(SITES[1]!) ?? '', mode: 'block' }] };
    const n = POLICY_DENIALS_KEPT + 20;
    for (let i = 0; i < n; i++) {
      const r = await reserve(db, { ...draft(i, SITES[1]!, 10n), createdAt: NOW + i }, blocked, NOW + i);
      expect(r.kind).toBe('denied');
    }
    const rows = await db.payments.orderBy('createdAt').toArray();
    expect(rows).toHaveLength(POLICY_DENIALS_KEPT);
    expect(rows[0]?.createdAt).toBe(NOW + 20);
    expect(rows.at(-1)?.failure).toEqual({
      code: 'policy',
      reason: 'you blocked payments to this site',
      said: { key: 'reasonBlocked' },
    });
    await db.delete();
  }, 60_000);

  it('the same challenge is recorded once', async () => {
    const db = consentedDb('l');
    const [a, b] = await Promise.all([
      reserve(db, draft(1, SITES[0]!, 10n), rules, NOW),
      reserve(db, draft(1, SITES[0]!, 10n), rules, NOW),
    ]);
    expect([a.kind, b.kind].sort()).toEqual(['known', 'reserved']);
    expect((await db.spend.get(gKey))?.reservedMinor).toBe(10n);
    await db.delete();
  });

  it('a check held in the reservation’s own transaction: held writes nothing, two at once let one through, a known challenge is answered first', async () => {
    const db = consentedDb('l');
    const held = await reserve(db, draft(1, SITES[0]!, 10n), rules, NOW, undefined, {
      holdBack: async () => true,
    });
    expect(held).toEqual({ kind: 'held' });
    expect(await db.payments.count()).toBe(0);
    expect(await db.spend.get(gKey)).toBeUndefined();

    // Each charge holds back when another one of its site is already recorded: the check and the
    // write are one transaction, so of two at once exactly one is charged.
    const another = () =>
      db.payments
        .where('site')
        .equals(siteOf(SITES[0]!) ?? '')
        .count()
        .then((n) => n > 0);
    const both = await Promise.all([
      reserve(db, draft(2, SITES[0]!, 10n), rules, NOW, undefined, { holdBack: another }),
      reserve(db, draft(3, SITES[0]!, 10n), rules, NOW, undefined, { holdBack: another }),
    ]);
    expect(both.map((r) => r.kind).sort()).toEqual(['held', 'reserved']);
    expect((await db.spend.get(gKey))?.reservedMinor).toBe(10n);

    const recorded = both.find((r) => r.kind === 'reserved');
    if (recorded?.kind !== 'reserved') throw new Error('one was reserved');
    const again = await reserve(db, { ...recorded.payment, id: 'another-id' }, rules, NOW, undefined, {
      holdBack: async () => true,
    });
    expect(again).toMatchObject({ kind: 'known', payment: { id: recorded.payment.id } });
    await db.delete();
  });

  it('commit and release move totals once, however often they are called', async () => {
    const db = consentedDb('l');
    const r1 = await reserve(db, draft(1, SITES[0]!, 40n), rules, NOW);
    const r2 = await reserve(db, draft(2, SITES[0]!, 60n), rules, NOW);
    if (r1.kind !== 'reserved' || r2.kind !== 'reserved') throw new Error('both fit');
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
        fc.boolean(),
        async (charges, concurrent, ahead) => {
          const db = consentedDb('p');
          const run = async (c: (typeof charges)[number], i: number) => {
            const r = await reserve(db, draft(i, c.site, c.amount), rules, NOW);
            if (r.kind !== 'reserved') return;
            // Overages are never authorized here; everything else pays or fails. A quote that
            // waited is decided again when approved (other sites' quotes may have been paid).
            const stillFits =
              r.payment.approval !== 'waiting' || (await approve(db, r.payment.id, ahead, r.payment.site));
            const paid = r.payment.tier !== 'overage' && stillFits && c.outcome === 'pay';
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
  }, 60_000);
});
