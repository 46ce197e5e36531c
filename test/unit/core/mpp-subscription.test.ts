import { base64urlnopad } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  MppChallengeError,
  mppCredential,
  readMppChallenge,
  readMppSubscription,
} from '../../../src/core/challenge/mpp';
import { parseWwwAuthenticate } from '../../../src/core/challenge/www-authenticate';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const enc = (o: unknown) => base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(o)));
const header = (request: unknown, intent = 'subscription', method = 'lightning') =>
  `Payment id="sub-1", realm="quill", method="${method}", intent="${intent}", expires="2026-12-01T12:10:00Z", request="${enc(request)}"`;
const challenge = (h: string) => {
  const [c] = parseWwwAuthenticate(h);
  return c!;
};
const monthly = { amount: '2000', currency: 'sat', interval: 'month', methodDetails: { invoice: 'lnbcrt1' } };

describe('MPP intent="subscription"', () => {
  it('reads the period with the amount; intervalCount defaults to 1', () => {
    const c = readMppSubscription(challenge(header(monthly)), NOW);
    expect(c).toMatchObject({
      id: 'sub-1',
      method: 'lightning',
      intent: 'subscription',
      request: { amount: '2000', currency: 'sat', methodDetails: { invoice: 'lnbcrt1' } },
      subscription: { interval: 'month', intervalCount: 1 },
    });
  });

  it('reads an interval count, and a description', () => {
    const c = readMppSubscription(
      challenge(header({ ...monthly, interval: 'week', intervalCount: 2, description: 'Quill Pro' })),
      NOW,
    );
    expect(c.subscription).toEqual({ interval: 'week', intervalCount: 2 });
    expect(c.request.description).toBe('Quill Pro');
  });

  it('where a charge is expected, a subscription is still refused', () => {
    const h = header(monthly);
    expect(() => readMppChallenge(challenge(h), NOW)).toThrow(/unsupported payment intent "subscription"/);
    expect(() => readMppChallenge(challenge(h), NOW, undefined, { intents: ['charge'] })).toThrow(
      MppChallengeError,
    );
  });

  it('a reader of both intents reads either; a charge carries no period', () => {
    const both = { intents: ['charge', 'subscription'] as const };
    const sub = readMppChallenge(challenge(header(monthly)), NOW, undefined, both);
    expect(sub.subscription).toEqual({ interval: 'month', intervalCount: 1 });
    const charge = readMppChallenge(
      challenge(header({ amount: '10', currency: 'sat' }, 'charge')),
      NOW,
      undefined,
      both,
    );
    expect(charge.intent).toBe('charge');
    expect(charge.subscription).toBeUndefined();
  });

  it('readMppSubscription refuses a charge', () => {
    expect(() =>
      readMppSubscription(challenge(header({ amount: '10', currency: 'sat' }, 'charge')), NOW),
    ).toThrow(/unsupported payment intent "charge"/);
  });

  it.each<[string, unknown, RegExp]>([
    ['no interval', { amount: '2000', currency: 'sat' }, /no interval/],
    ['an hourly interval', { ...monthly, interval: 'hour' }, /no interval/],
    ['an interval in capitals', { ...monthly, interval: 'Month' }, /no interval/],
    ['an interval count of 0', { ...monthly, intervalCount: 0 }, /interval count/],
    ['a negative interval count', { ...monthly, intervalCount: -1 }, /interval count/],
    ['a fractional interval count', { ...monthly, intervalCount: 1.5 }, /interval count/],
    ['an absurd interval count', { ...monthly, intervalCount: 100000 }, /interval count/],
    ['an interval count that is an object', { ...monthly, intervalCount: {} }, /interval count/],
    ['a zero amount', { ...monthly, amount: '0' }, /positive integer/],
    ['no currency', { amount: '1', interval: 'month' }, /currency/],
  ])('refuses %s', (_what, request, reason) => {
    expect(() => readMppSubscription(challenge(header(request)), NOW)).toThrow(MppChallengeError);
    expect(() => readMppSubscription(challenge(header(request)), NOW)).toThrow(reason);
  });

  it('an interval count written as a string of digits is read as a number', () => {
    const c = readMppSubscription(challenge(header({ ...monthly, intervalCount: '3' })), NOW);
    expect(c.subscription.intervalCount).toBe(3);
  });

  it('the credential echoes the subscription challenge as sent', () => {
    const h = header(monthly);
    const c = readMppSubscription(challenge(h), NOW);
    const cred = mppCredential(c, { preimage: 'ab' });
    const decoded = JSON.parse(new TextDecoder().decode(base64urlnopad.decode(cred.slice(8))));
    expect(decoded.challenge).toMatchObject({ intent: 'subscription', request: enc(monthly) });
  });
});
