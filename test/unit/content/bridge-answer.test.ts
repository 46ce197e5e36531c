import { describe, expect, it } from 'vitest';
import { answerFor } from '../../../src/content/bridge-answer';

const base = { channel: 'paybound:v1', kind: 'answer', id: 9 };

describe('answerFor (what the bridge posts to the page)', () => {
  it('a retry carries the header and value, and the payment it proves; not the reason', () => {
    expect(
      answerFor(9, {
        action: 'retry',
        credential: { header: 'PAYMENT-SIGNATURE', value: 'sig' },
        reason: 'paid',
        paymentId: 'p1',
      }),
    ).toEqual({ ...base, retry: { header: 'PAYMENT-SIGNATURE', value: 'sig' }, paymentId: 'p1' });
  });

  it('a pay-in-page verdict becomes the wallet request, and nothing else of the verdict', () => {
    expect(
      answerFor(9, {
        action: 'pay-in-page',
        paymentId: 'p1',
        wallet: 'webln',
        request: { method: 'sendPayment', params: ['lnbcrt1x'] },
        reason: 'pay with the wallet in this page',
      }),
    ).toEqual({
      ...base,
      pay: { paymentId: 'p1', wallet: 'webln', request: { method: 'sendPayment', params: ['lnbcrt1x'] } },
    });
  });

  it('a pass, or no verdict at all, is an empty answer', () => {
    expect(answerFor(9, { action: 'pass', reason: 'no' })).toEqual(base);
    expect(answerFor(9, undefined)).toEqual(base);
  });
});
