import { describe, expect, it, vi } from 'vitest';
import { ObservedResponses } from '../../../src/background/services/observed';

const key = { tabId: 3, frameId: 0, method: 'POST', url: 'http://app.test/api/generate' };
const challenge = [
  ['WWW-Authenticate', 'L402 macaroon="m", invoice="i"\nPayment id="p"'],
  ['Content-Type', 'application/json'],
] as const;

describe('ObservedResponses', () => {
  it('hands a report the payment headers of the response seen before it, once', async () => {
    const seen = new ObservedResponses();
    seen.record(key, challenge);
    expect(await seen.take(key)).toEqual([challenge[0]]);
    const none = new ObservedResponses({ waitMs: 1 });
    expect(await none.take(key)).toBeUndefined();
  });

  it('waits for a response that arrives after the report', async () => {
    const seen = new ObservedResponses();
    const taken = seen.take({ ...key, method: 'post', url: `${key.url}#part` });
    seen.record(key, challenge);
    expect(await taken).toEqual([challenge[0]]);
  });

  it('matches tab, frame, method and URL; two requests in flight get one response each, oldest first', async () => {
    const seen = new ObservedResponses({ waitMs: 1 });
    seen.record({ ...key, frameId: 7 }, [['WWW-Authenticate', 'L402 macaroon="frame"']]);
    seen.record({ ...key, tabId: 4 }, [['WWW-Authenticate', 'L402 macaroon="tab"']]);
    seen.record({ ...key, method: 'GET' }, [['WWW-Authenticate', 'L402 macaroon="get"']]);
    seen.record(key, [['WWW-Authenticate', 'L402 macaroon="one"']]);
    seen.record(key, [['WWW-Authenticate', 'L402 macaroon="two"']]);
    expect(await seen.take(key)).toEqual([['WWW-Authenticate', 'L402 macaroon="one"']]);
    expect(await seen.take(key)).toEqual([['WWW-Authenticate', 'L402 macaroon="two"']]);
    expect(await seen.take(key)).toBeUndefined();
    expect(await seen.take({ ...key, frameId: 7 })).toEqual([['WWW-Authenticate', 'L402 macaroon="frame"']]);
  });

  it('forgets responses nobody reported, and bounds what it keeps and who waits', async () => {
    let now = 0;
    const seen = new ObservedResponses({ now: () => now, keepMs: 1_000, waitMs: 1, max: 2 });
    seen.record(key, challenge);
    now = 1_001;
    expect(await seen.take(key)).toBeUndefined();
    for (const n of [1, 2, 3]) seen.record(key, [['WWW-Authenticate', `L402 macaroon="${n}"`]]);
    expect(await seen.take(key)).toEqual([['WWW-Authenticate', 'L402 macaroon="2"']]);

    vi.useFakeTimers();
    try {
      const waiting = new ObservedResponses({ max: 1 });
      const first = waiting.take(key);
      expect(await waiting.take({ ...key, tabId: 9 })).toBeUndefined();
      vi.runAllTimers();
      expect(await first).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
