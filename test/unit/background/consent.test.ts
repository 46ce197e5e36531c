import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { consentView, notePaid, recordApproval } from '../../../src/background/services/consent';
import { PayboundDb, type PaymentRecord } from '../../../src/db/schema';

const payment = (payee: PaymentRecord['payee']): PaymentRecord =>
  ({
    id: 'p',
    site: 'example.com',
    origin: 'https://app.example.com',
    ...(payee ? { payee } : {}),
  }) as PaymentRecord;

describe('consent per site and payee', () => {
  it('a site is unknown until a payment to it is approved; then its payee is known, and a change of payee is flagged', async () => {
    const db = new PayboundDb(`c-${Math.random()}`);
    const node = payment({ kind: 'node', id: 'a'.repeat(66) });
    expect(await consentView(db, node)).toMatchObject({
      site: 'example.com',
      firstPayment: true,
      payee: { isNew: true, changed: false },
    });
    await recordApproval(db, node, 1);
    await notePaid(db, node, 2);
    expect(await consentView(db, node)).toMatchObject({
      firstPayment: false,
      payee: { isNew: false, changed: false, short: 'aaaaaaaa…aaaaaa' },
    });
    // Another node asks for this site's next payment.
    const other = payment({ kind: 'node', id: 'b'.repeat(66) });
    expect((await consentView(db, other)).payee).toMatchObject({ isNew: true, changed: true });
    // A card merchant is no change of the Lightning payee: sites may take both.
    const card = payment({ kind: 'card', id: 'acct_123' });
    expect((await consentView(db, card)).payee).toMatchObject({ isNew: true, changed: false });
    await db.delete();
  });

  it("an approval takes the site's row its transaction already read, and reads it only when not handed one", async () => {
    const db = new PayboundDb(`c-${Math.random()}`);
    const reads = vi.spyOn(db.sites, 'get');
    const first = payment({ kind: 'node', id: 'a'.repeat(66) });
    await recordApproval(db, first, 1, { row: undefined });
    expect(reads).not.toHaveBeenCalled();
    const row = await db.sites.get('example.com');
    reads.mockClear();
    await recordApproval(db, payment({ kind: 'node', id: 'b'.repeat(66) }), 2, { row });
    expect(reads).not.toHaveBeenCalled();
    expect((await db.sites.get('example.com'))?.payees.map((x) => x.id)).toEqual([
      'a'.repeat(66),
      'b'.repeat(66),
    ]);
    // A row of another site is not taken for this one.
    reads.mockClear();
    await recordApproval(db, { ...first, site: 'other.example' }, 3, { row });
    expect(reads).toHaveBeenCalledWith('other.example');
    expect((await db.sites.get('other.example'))?.payees).toHaveLength(1);
    await db.delete();
  });

  it('offers "pay automatically" only to a site without its own rule', async () => {
    const db = new PayboundDb(`c-${Math.random()}`);
    expect((await consentView(db, payment(undefined))).autoOffer).toEqual({
      perChargeMinor: '25',
      perDayMinor: '100',
    });
    await db.delete();
  });
});
