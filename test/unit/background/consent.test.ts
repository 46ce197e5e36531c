import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
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

  it('offers "pay automatically" only to a site without its own rule', async () => {
    const db = new PayboundDb(`c-${Math.random()}`);
    expect((await consentView(db, payment(undefined))).autoOffer).toEqual({
      perChargeMinor: '25',
      perDayMinor: '100',
    });
    await db.delete();
  });
});
