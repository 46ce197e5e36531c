import { describe, expect, it } from 'vitest';
import {
  checkRetryCredential,
  isReusable,
  RETRY_HEADERS,
  RETRY_VALUE_MAX,
  RetryCredentialError,
} from '../../../src/core/payments/retry-credential';

describe('checkRetryCredential', () => {
  it('takes each listed header, in any case, and spells it as listed', () => {
    for (const header of RETRY_HEADERS) {
      expect(checkRetryCredential({ header, value: 'v' })).toEqual({ header, value: 'v' });
      expect(checkRetryCredential({ header: header.toLowerCase(), value: 'v' }).header).toBe(header);
    }
  });

  it('refuses a header that is not on the list, naming it', () => {
    for (const header of [
      'Cookie',
      'Set-Cookie',
      'Host',
      'Origin',
      'Proxy-Authorization',
      'X-Forwarded-For',
      'Authorization2',
      ' Authorization',
      'Authorization\r\nCookie',
      '',
    ]) {
      expect(() => checkRetryCredential({ header, value: 'v' }), header).toThrow(RetryCredentialError);
    }
    expect(() => checkRetryCredential({ header: 'Cookie', value: 'v' })).toThrow('"Cookie"');
    for (const header of [undefined, null, 7, ['Authorization'], { toLowerCase: () => 'authorization' }]) {
      expect(() => checkRetryCredential({ header, value: 'v' })).toThrow(RetryCredentialError);
    }
  });

  it('refuses a value no request could carry', () => {
    for (const value of [
      '',
      ' L402 a:b',
      'L402 a:b ',
      'L402 a:b\r\nCookie: x',
      'L402 a\u00e9',
      'x'.repeat(RETRY_VALUE_MAX + 1),
    ]) {
      expect(() => checkRetryCredential({ header: 'Authorization', value }), value.slice(0, 20)).toThrow(
        RetryCredentialError,
      );
    }
    expect(() => checkRetryCredential({ header: 'Authorization', value: 42 })).toThrow(RetryCredentialError);
    expect(
      checkRetryCredential({ header: 'X-PAYMENT', value: 'x'.repeat(RETRY_VALUE_MAX) }).value,
    ).toHaveLength(RETRY_VALUE_MAX);
  });

  it('only an Authorization credential is reusable as a token', () => {
    expect(isReusable({ header: 'Authorization', value: 'L402 a:b' })).toBe(true);
    expect(isReusable({ header: 'PAYMENT-SIGNATURE', value: 'x' })).toBe(false);
    expect(isReusable({ header: 'X-PAYMENT', value: 'x' })).toBe(false);
  });
});
