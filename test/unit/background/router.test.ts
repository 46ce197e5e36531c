import { describe, expect, it, vi } from 'vitest';
import type { Runtime } from 'webextension-polyfill';
import { createRouter, HandlerError, type Handlers } from '../../../src/background/router';
import { AuthError } from '../../../src/background/services/auth';
import { RailError } from '../../../src/background/services/rails/types';
import { ReviewError } from '../../../src/background/services/review';
import { defaultRules, rulesToWire } from '../../../src/core/policy/rules';
import { said } from '../../../src/core/text/said';

const self = { id: 'ext-id', origin: 'chrome-extension://ext-id' };
const extensionPage: Runtime.MessageSender = {
  id: 'ext-id',
  url: 'chrome-extension://ext-id/src/ui/popup/index.html',
};
const contentScript = (url: string): Runtime.MessageSender =>
  ({ id: 'ext-id', url, frameId: 0, tab: { id: 7 } }) as Runtime.MessageSender;

function setup(before?: (type: string) => Promise<void> | undefined) {
  const handlers = {
    'challenge.seen': vi.fn(async () => ({ action: 'pass' as const, reason: 'test' })),
    'status.get': vi.fn(async () => ({
      version: '1',
      rails: [],
      challengesSeen: 0,
      currency: 'USD',
      paused: false,
    })),
    'challenges.recent': vi.fn(async () => []),
    'approvals.pending': vi.fn(async () => []),
    'approval.decide': vi.fn(async () => ({ accepted: true })),
    'approval.blockSite': vi.fn(async () => ({ blocked: 'example.com', denied: 0 })),
    'rails.cardLimits': vi.fn(async () => ({ perChargeMinor: null, perDayMinor: null, pending: null })),
    'payments.recent': vi.fn(async () => []),
    'page.payResult': vi.fn(async () => ({ action: 'pass' as const, reason: 'test' })),
    'rails.setDefault': vi.fn(async () => ({ railId: 'x' })),
    'auth.status': vi.fn(async () => ({ hasPassword: false, hasTotp: false })),
    'vault.unlock': vi.fn(async () => ({ unlocked: true as const })),
    'vault.lock': vi.fn(async () => ({ unlocked: false as const })),
    'auth.totpSetup': vi.fn(async () => ({ uri: 'otpauth://', secret: 'X' })),
    'auth.totpConfirm': vi.fn(async () => ({ hasTotp: true as const })),
    'auth.setPassword': vi.fn(async () => ({ hasPassword: true as const })),
    'spend.summary': vi.fn(async () => []),
    'ledger.export': vi.fn(async () => ({
      format: 'paybound-backup' as const,
      version: 2 as const,
      exportedAt: 0,
      payments: [],
    })),
    'ledger.import': vi.fn(async () => ({ added: 0, alreadyThere: 0, refused: 0, reasons: [] })),
    'rails.add': vi.fn(async () => ({ id: 'x' })),
    'rails.test': vi.fn(async () => ({ ok: true as const, balanceMsat: '0' })),
    'rails.remove': vi.fn(async () => ({ removed: true })),
    'card.linkStart': vi.fn(async () => ({ started: true as const })),
    'card.linkPoll': vi.fn(async () => ({ status: 'none' as const })),
    'approval.switchRail': vi.fn(async () => ({ switched: true })),
    'payment.reject': vi.fn(async () => ({
      id: 'd',
      paymentId: 'p',
      origin: 'o',
      reason: 'r',
      status: 'open',
      timeline: [],
      openedAt: 0,
      evidence: { url: 'u' },
    })),
    'payment.refund': vi.fn(async () => ({
      id: 'd',
      paymentId: 'p',
      origin: 'o',
      reason: 'r',
      status: 'open',
      timeline: [],
      openedAt: 0,
      evidence: { url: 'u' },
    })),
    'payment.accept': vi.fn(async () => ({
      id: 'p',
      railId: 'r',
      origin: 'o',
      url: 'u',
      via: 'fetch' as const,
      state: 'accepted',
      approval: 'approved',
      kind: 'card' as const,
      amountMsat: '0',
      paymentHash: '',
      createdAt: 0,
      provisional: false,
    })),
    'review.sweep': vi.fn(async () => ({ swept: true as const })),
    'payment.delivered': vi.fn(async () => ({ recorded: true })),
    'disputes.list': vi.fn(async () => []),
    'approvals.focus': vi.fn(async () => ({ focused: true })),
    'settings.get': vi.fn(async () => ({
      currency: 'USD',
      rateSources: [],
      rateCheck: null,
      autoLockMinutes: 30,
      muteAutoNotices: false,
      cardServiceUrl: null,
    })),
    'settings.set': vi.fn(async () => ({
      currency: 'USD',
      rateSources: [],
      rateCheck: null,
      autoLockMinutes: 30,
      muteAutoNotices: false,
      cardServiceUrl: null,
    })),
    'pause.set': vi.fn(async () => ({ paused: true })),
    'rates.setManual': vi.fn(async () => ({ currency: 'USD' })),
    'rules.get': vi.fn(async () => rulesToWire(defaultRules('UTC'))),
    'rules.set': vi.fn(async () => rulesToWire(defaultRules('UTC'))),
    'approval.subscribe': vi.fn(async () => ({ subscribing: true })),
    'subscriptions.list': vi.fn(async () => []),
    'plans.hints': vi.fn(async () => []),
    'subscriptions.cancel': vi.fn(async () => {
      throw new Error('unused');
    }),
  } satisfies Handlers;
  return { handlers, route: createRouter(handlers, { ...self, ...(before ? { before } : {}) }) };
}

const seen = {
  url: 'https://app.example/api',
  method: 'POST',
  status: 402,
  headers: [['www-authenticate', 'L402 x=1']],
};

describe('message router', () => {
  it('runs a handler only after what its type waits for has settled', async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { handlers, route } = setup((type) => (type === 'status.get' ? gate : undefined));
    const held = route({ type: 'status.get', payload: {} }, extensionPage);
    // Not held: answered while the other waits.
    expect(
      await route({ type: 'challenge.seen', payload: seen }, contentScript('https://app.example/')),
    ).toMatchObject({ ok: true });
    expect(handlers['status.get']).not.toHaveBeenCalled();
    release();
    expect(await held).toMatchObject({ ok: true, data: { version: '1' } });
    expect(handlers['status.get']).toHaveBeenCalledTimes(1);
  });

  it('passes a valid page message to its handler with the origin the browser reported', async () => {
    const { handlers, route } = setup();
    const reply = await route(
      { type: 'challenge.seen', payload: seen },
      contentScript('https://app.example/page'),
    );
    expect(reply).toEqual({ ok: true, data: { action: 'pass', reason: 'test' } });
    expect(handlers['challenge.seen']).toHaveBeenCalledWith(seen, {
      audience: 'page',
      origin: 'https://app.example',
      tabId: 7,
      frameId: 0,
      url: 'https://app.example/page',
    });
  });

  it('prefers sender.origin over the URL (Chrome reports it for sandboxed and about: frames)', async () => {
    const { handlers, route } = setup();
    const sender = {
      ...contentScript('about:blank'),
      origin: 'https://parent.example',
    } as Runtime.MessageSender;
    await route({ type: 'challenge.seen', payload: seen }, sender);
    expect(handlers['challenge.seen'].mock.calls[0]?.at(1)).toMatchObject({
      origin: 'https://parent.example',
    });
  });

  it('refuses extension-only messages from a web page', async () => {
    const { handlers, route } = setup();
    const reply = await route(
      { type: 'challenges.recent', payload: {} },
      contentScript('https://evil.example/'),
    );
    expect(reply).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(handlers['challenges.recent']).not.toHaveBeenCalled();
  });

  it('refuses page messages from our own pages, and anything from another extension', async () => {
    const { route } = setup();
    expect(await route({ type: 'challenge.seen', payload: seen }, extensionPage)).toMatchObject({
      ok: false,
    });
    const other = { ...extensionPage, id: 'other-ext' };
    expect(await route({ type: 'status.get', payload: {} }, other)).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
  });

  it.each([
    ['unknown type', { type: 'wallet.drain', payload: {} }],
    ['no envelope', 'hello'],
    [
      'extra field a page might use to claim an origin',
      { type: 'challenge.seen', payload: { ...seen, origin: 'x' } },
    ],
    ['status other than 402', { type: 'challenge.seen', payload: { ...seen, status: 200 } }],
    ['a URL that is not one', { type: 'challenge.seen', payload: { ...seen, url: 'not a url' } }],
  ])('refuses a malformed message: %s', async (_name, message) => {
    const { handlers, route } = setup();
    const reply = await route(message, contentScript('https://app.example/'));
    expect(reply).toMatchObject({ ok: false, error: { code: 'bad_message' } });
    expect(handlers['challenge.seen']).not.toHaveBeenCalled();
  });

  it('classes every refusal that says why, in one place: a wrong password is auth, a locked wallet auth, a wallet refusal a bad message', async () => {
    const { handlers, route } = setup();
    const cases: [Error, string, string][] = [
      [new AuthError(said('errorWrongAnswer')), 'auth', 'errorWrongAnswer'],
      [new RailError('locked', said('lockedToPay')), 'auth', 'lockedToPay'],
      [new RailError('wallet_error', said('walletRefused', 'no')), 'bad_message', 'walletRefused'],
      [new ReviewError('window_closed', said('reviewOnlyPaid')), 'bad_message', 'reviewOnlyPaid'],
    ];
    for (const [error, code, key] of cases) {
      handlers['status.get'].mockRejectedValueOnce(error);
      expect(await route({ type: 'status.get', payload: {} }, extensionPage)).toMatchObject({
        ok: false,
        error: { code, message: error.message, said: { key } },
      });
    }
  });

  it('turns a handler failure into an error reply, keeping HandlerError codes', async () => {
    const { handlers, route } = setup();
    handlers['status.get'].mockRejectedValueOnce(
      new HandlerError('bad_challenge', said('errorNoSuchPayment')),
    );
    expect(await route({ type: 'status.get', payload: {} }, extensionPage)).toEqual({
      ok: false,
      error: { code: 'bad_challenge', message: 'no such payment', said: { key: 'errorNoSuchPayment' } },
    });
    handlers['status.get'].mockRejectedValueOnce(new Error('secret detail'));
    vi.spyOn(console, 'error').mockImplementationOnce(() => {});
    expect(await route({ type: 'status.get', payload: {} }, extensionPage)).toEqual({
      ok: false,
      error: { code: 'internal', message: 'internal error', said: { key: 'errorInternal' } },
    });
  });
});
