import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { PayboundDb, type PaymentPatch, type PaymentRecord, type PaymentState } from '../../../src/db/schema';
import { EDGES, isEdge, transition } from '../../../src/db/transitions';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const STATES = Object.keys(EDGES) as PaymentState[];

function payment(state: PaymentState, extra: PaymentPatch = {}): PaymentRecord {
  return {
    id: 'p1',
    key: 'ln:p1',
    kind: 'lightning',
    challenge: { protocol: 'l402', macaroon: 'm', scheme: 'L402' },
    origin: 'https://app.example',
    site: 'app.example',
    url: 'https://app.example/api',
    method: 'POST',
    via: 'fetch',
    railId: 'r',
    state,
    approval: 'auto',
    amount: { unit: 'msat', value: 1_000_000n },
    amountMinor: 100n,
    lightning: { invoice: 'lnbcrt…', paymentHash: 'h' },
    expiresAt: NOW / 1000 + 600,
    tier: 'auto',
    reasons: [],
    budgetEffects: [],
    reservations: [{ key: 'k', amountMinor: 100n }],
    reservationState: 'held',
    createdAt: NOW,
    updatedAt: NOW,
    ...extra,
  };
}

async function dbWith(p: PaymentRecord): Promise<PayboundDb> {
  const db = new PayboundDb(`transitions-${Math.random()}`);
  await db.payments.add(p);
  const held = p.reservationState === 'held' ? 100n : 0n;
  const spent = p.reservationState === 'committed' ? 100n : 0n;
  await db.spend.put({ key: 'k', reservedMinor: held, committedMinor: spent });
  return db;
}

/** Before the flow pays, the amount is reserved; after, it is spent; a refund reads committed. */
const reservationOf = (s: PaymentState): PaymentRecord['reservationState'] =>
  s === 'reserved' || s === 'paying' || s === 'unknown' ? 'held' : s === 'failed' ? 'released' : 'committed';

describe('the payment state machine', () => {
  const edges = STATES.flatMap((from) => EDGES[from].map((to) => [from, to] as const));

  it.each(edges)('%s → %s is written with its budget effect', async (from, to) => {
    const db = await dbWith(payment(from, { reservationState: reservationOf(from) }));
    const before = await db.spend.get('k');
    const moved = await transition(db, 'p1', from, to, { updatedAt: NOW + 1 });
    expect(moved.ok).toBe(true);
    const after = await db.payments.get('p1');
    expect(after).toMatchObject({ state: to, updatedAt: NOW + 1 });
    const spend = await db.spend.get('k');
    if (reservationOf(from) === 'held' && (to === 'paid' || to === 'proof_failed')) {
      expect(after?.reservationState).toBe('committed');
      expect(spend).toMatchObject({ reservedMinor: 0n, committedMinor: 100n });
    } else if (reservationOf(from) === 'held' && to === 'failed') {
      expect(after?.reservationState).toBe('released');
      expect(spend).toMatchObject({ reservedMinor: 0n, committedMinor: 0n });
    } else {
      expect(after?.reservationState).toBe(reservationOf(from));
      expect(spend).toEqual(before);
    }
  });

  const refused = STATES.flatMap((from) =>
    STATES.filter((to) => !isEdge(from, to)).map((to) => [from, to] as const),
  );

  it.each(refused)('%s → %s is refused and changes nothing', async (from, to) => {
    const db = await dbWith(payment(from, { reservationState: reservationOf(from) }));
    const before = { p: await db.payments.get('p1'), spend: await db.spend.get('k') };
    const moved = await transition(db, 'p1', from, to, {
      lightning: { invoice: 'lnbcrt…', paymentHash: 'h', preimage: 'x' },
      updatedAt: NOW + 1,
    });
    expect(moved.ok).toBe(false);
    expect({ p: await db.payments.get('p1'), spend: await db.spend.get('k') }).toEqual(before);
  });

  it('refuses a move from a state the payment is no longer in, or that fails its condition', async () => {
    const db = await dbWith(payment('reserved', { approval: 'waiting' }));
    expect((await transition(db, 'p1', 'paying', 'paid')).ok).toBe(false);
    const guarded = await transition(
      db,
      'p1',
      'reserved',
      'paying',
      {},
      { when: (p) => p.approval === 'auto' },
    );
    expect(guarded.ok).toBe(false);
    expect(await db.payments.get('p1')).toMatchObject({ state: 'reserved', updatedAt: NOW });
    expect((await transition(db, 'missing', 'reserved', 'failed')).ok).toBe(false);
  });

  it('spends the reservation once when two callers race to pay', async () => {
    const db = await dbWith(payment('paying'));
    const results = await Promise.all([
      transition(db, 'p1', ['paying', 'unknown'], 'paid', {
        lightning: { invoice: 'lnbcrt…', paymentHash: 'h', preimage: 'a' },
      }),
      transition(db, 'p1', ['paying', 'unknown'], 'paid', {
        lightning: { invoice: 'lnbcrt…', paymentHash: 'h', preimage: 'b' },
      }),
      transition(db, 'p1', ['paying', 'unknown'], 'failed'),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await db.spend.get('k')).toMatchObject({ reservedMinor: 0n, committedMinor: 100n });
    expect(await db.payments.get('p1')).toMatchObject({ state: 'paid', lightning: { preimage: 'a' } });
  });

  it('starts a review window in the same write that records the charge paid', async () => {
    const review = {
      windowMs: 600_000,
      refundUrl: 'https://app.example/r',
      chargeId: 'h',
      unit: 'msat' as const,
    };
    const db = await dbWith(payment('paying', { review }));
    await transition(db, 'p1', 'paying', 'paid', { paidAt: NOW + 5 });
    expect((await db.payments.get('p1'))?.review?.endsAt).toBe(NOW + 5 + 600_000);
    // A window that already has its end keeps it; a charge without a policy gets none.
    const kept = await dbWith(payment('paying', { review: { ...review, endsAt: NOW + 1 } }));
    await transition(kept, 'p1', 'paying', 'paid', { paidAt: NOW + 5 });
    expect((await kept.payments.get('p1'))?.review?.endsAt).toBe(NOW + 1);
    const none = await dbWith(payment('paying'));
    await transition(none, 'p1', 'paying', 'paid', { paidAt: NOW + 5 });
    expect((await none.payments.get('p1'))?.review).toBeUndefined();
  });

  it('releases the reservation once when two callers race to fail it', async () => {
    const db = await dbWith(payment('reserved'));
    const results = await Promise.all([
      transition(db, 'p1', 'reserved', 'failed'),
      transition(db, 'p1', 'reserved', 'failed'),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await db.spend.get('k')).toMatchObject({ reservedMinor: 0n, committedMinor: 0n });
    expect(await db.payments.get('p1')).toMatchObject({ state: 'failed', reservationState: 'released' });
  });

  it('counts a refund once, in the user currency, when two callers race to record it', async () => {
    const rate = { currency: 'USD', minorPerBtc: 10_000_000n, source: 't', asOf: NOW };
    const db = await dbWith(payment('rejected', { reservationState: 'committed', rate }));
    const settlement = { refunded: 1_000_000n };
    const results = await Promise.all([
      transition(db, 'p1', 'rejected', 'refunded', { settlement }),
      transition(db, 'p1', 'rejected', 'refunded', { settlement }),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await db.spend.get('k')).toMatchObject({ committedMinor: 0n });
    expect((await db.payments.get('p1'))?.settlement?.countedMinor).toBe(100n);
  });
});
