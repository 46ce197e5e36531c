/**
 * Page loads as the browser shows them: a 402 is paid and the tab reloaded with the token; a
 * refused token is not answered by paying its refusal's own challenge (reload, refused, pay again…).
 */

import { describe, expect, it, vi } from 'vitest';
import type { WebRequest } from 'webextension-polyfill';
import { createEvents, type EventDeps } from '../../../src/background/events';
import type { ChallengeVerdict } from '../../../src/messages/map';

function load(statusCode: number, tabId = 4): WebRequest.OnHeadersReceivedDetailsType {
  return {
    url: 'https://app.example/article/x',
    method: 'GET',
    statusCode,
    tabId,
    frameId: 0,
    responseHeaders: [{ name: 'WWW-Authenticate', value: 'L402 macaroon="m", invoice="i"' }],
  } as WebRequest.OnHeadersReceivedDetailsType;
}

const RETRY: ChallengeVerdict = {
  action: 'retry',
  credential: { header: 'Authorization', value: 'L402 m:p' },
  reason: 'paid',
  paymentId: 'p',
};

function setup(refused: boolean) {
  const pageLoadAnswered = vi.fn(async () => refused);
  const onChallenge = vi.fn(async () => RETRY);
  const reloadTab = vi.fn(async () => {});
  const events = createEvents({
    ready: Promise.resolve(),
    payments: { pageLoadAnswered, onChallenge } as unknown as EventDeps['payments'],
    reloadTab,
  } as unknown as EventDeps);
  return { events, pageLoadAnswered, onChallenge, reloadTab };
}

describe('page loads', () => {
  it('a 402 is paid and the tab reloaded; what the load delivered is checked first', async () => {
    const env = setup(false);
    await env.events.pageLoad(load(402));
    expect(env.pageLoadAnswered).toHaveBeenCalledWith(
      expect.objectContaining({ status: 402, tabId: 4, origin: 'https://app.example' }),
    );
    expect(env.onChallenge).toHaveBeenCalledWith(expect.objectContaining({ via: 'navigation', tabId: 4 }));
    expect(env.reloadTab).toHaveBeenCalledWith(4);
  });

  it('a 402 refusing the paid token is not paid again, nor reloaded', async () => {
    const env = setup(true);
    await env.events.pageLoad(load(402));
    expect(env.pageLoadAnswered).toHaveBeenCalledTimes(1);
    expect(env.onChallenge).not.toHaveBeenCalled();
    expect(env.reloadTab).not.toHaveBeenCalled();
  });

  it('every other load is only checked for a token first use; a background request is ignored', async () => {
    const env = setup(false);
    await env.events.pageLoad(load(200, -1));
    await env.events.pageLoad(load(200));
    expect(env.pageLoadAnswered).toHaveBeenCalledTimes(1);
    expect(env.pageLoadAnswered).toHaveBeenCalledWith(expect.objectContaining({ status: 200 }));
    expect(env.onChallenge).not.toHaveBeenCalled();
  });
});
