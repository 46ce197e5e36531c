import { describe, expect, it } from 'vitest';
import { METHODS, methodFor, unitOf } from '../../../src/background/methods';
import { detectChallenges } from '../../../src/core/challenge/detect';
import type { PaymentRecord, RailKind } from '../../../src/db/schema';

const RAILS: RailKind[] = ['lnbits', 'nwc', 'webln', 'card'];

describe('payment methods', () => {
  it('one method pays through each rail kind, and each rail kind has one', () => {
    expect(RAILS.map((r) => methodFor(r).kind)).toEqual([
      'lightning-worker',
      'lightning-worker',
      'lightning-page',
      'card',
    ]);
    expect(METHODS.flatMap((m) => m.rails).sort()).toEqual([...RAILS].sort());
  });

  it('only the page wallet takes a report from the page; only it needs no unlocking', () => {
    expect(METHODS.filter((m) => m.fromPage).map((m) => m.kind)).toEqual(['lightning-page']);
    expect(METHODS.filter((m) => !m.sealed).map((m) => m.kind)).toEqual(['lightning-page']);
  });

  it('a card record keeps minor units, a Lightning one msat', () => {
    const card = { protocol: 'mpp', mpp: { method: 'paybound-card' } } as unknown as PaymentRecord;
    const mpp = { protocol: 'mpp', mpp: { method: 'lightning' } } as unknown as PaymentRecord;
    const l402 = { protocol: 'l402' } as unknown as PaymentRecord;
    expect([unitOf(card), unitOf(mpp), unitOf(l402)]).toEqual(['minor', 'msat', 'msat']);
  });

  it('offers a method only the challenges it can pay', () => {
    const card = detectChallenges([
      [
        'www-authenticate',
        'Payment id="x", realm="r", method="paybound-card", intent="charge", request="e30"',
      ],
    ]);
    expect(methodFor('card').offered(card)).toBe(true);
    expect(methodFor('lnbits').offered(card)).toBe(false);
    expect(methodFor('webln').offered(card)).toBe(false);
  });
});
