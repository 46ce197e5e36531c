import { describe, expect, it } from 'vitest';
import { formatPaymentReceipt } from '../../../server/merchant/kit/mpp';
import { problemReason, readPaymentReceipt, readProblem } from '../../../src/core/payments/delivery';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('Payment-Receipt', () => {
  it("reads the draft's fields from the merchant kit's receipt", () => {
    const raw = formatPaymentReceipt({
      method: 'lightning',
      challengeId: 'c1',
      reference: 'ab'.repeat(32),
      timestamp: Date.parse('2026-11-25T12:00:00Z'),
    });
    expect(readPaymentReceipt(raw)).toEqual({
      raw,
      status: 'success',
      method: 'lightning',
      timestamp: '2026-11-25T12:00:00Z',
      reference: 'ab'.repeat(32),
    });
  });

  it.each([
    ['not base64url', 'a receipt!'],
    ['not JSON', Buffer.from('receipt').toString('base64url')],
    ['an array', b64url(['success'])],
    ['empty', ''],
  ])('is not a receipt when %s', (_what, raw) => {
    expect(readPaymentReceipt(raw)).toBeUndefined();
  });

  it('keeps only strings, cut short', () => {
    const r = readPaymentReceipt(b64url({ status: 7, reference: 'r'.repeat(1000), method: { x: 1 } }));
    expect(r?.status).toBeUndefined();
    expect(r?.method).toBeUndefined();
    expect(r?.reference).toHaveLength(300);
  });
});

describe('Problem Details (application/problem+json)', () => {
  it('shows the detail, else the title, else the type', () => {
    const full = readProblem(
      JSON.stringify({
        type: 'https://paymentauth.org/problems/verification-failed',
        title: 'Verification failed',
        status: 402,
        detail: 'the preimage does not match the invoice',
      }),
    );
    expect(full && problemReason(full)).toBe('the preimage does not match the invoice');
    const titled = readProblem(JSON.stringify({ title: 'Payment expired', status: 402 }));
    expect(titled && problemReason(titled)).toBe('Payment expired');
    const typed = readProblem(JSON.stringify({ type: 'https://paymentauth.org/problems/payment-expired' }));
    expect(typed && problemReason(typed)).toBe('https://paymentauth.org/problems/payment-expired');
  });

  it.each([
    ['not JSON', '<html>402</html>'],
    ['an array', '[1]'],
    ['nothing to say', '{"status":402}'],
  ])('is no problem when %s', (_what, body) => {
    expect(readProblem(body)).toBeUndefined();
  });

  it('ignores a status outside HTTP and members that are not strings', () => {
    expect(readProblem(JSON.stringify({ title: 'x', status: 9000, detail: 5 }))).toEqual({ title: 'x' });
  });
});
