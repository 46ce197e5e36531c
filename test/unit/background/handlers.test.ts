import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from 'webextension-polyfill';
import { createHandlers, handlerGroups, type Services } from '../../../src/background/handlers/index';
import { createRouter } from '../../../src/background/router';
import type { ApprovalService } from '../../../src/background/services/approvals';
import { RateService } from '../../../src/background/services/rates';
import { Vault } from '../../../src/background/services/vault';
import { PayboundDb } from '../../../src/db/schema';
import { getSetting } from '../../../src/db/settings';
import { messageSchemas } from '../../../src/messages/map';

const self = { id: 'ext-id', origin: 'chrome-extension://ext-id' };
const ownPage: Runtime.MessageSender = {
  id: 'ext-id',
  url: 'chrome-extension://ext-id/src/ui/options/index.html',
};
let db: PayboundDb;

afterEach(async () => {
  await db?.delete();
});

/** The services these tests reach are real; the others are never called. */
function services(): Services {
  db = new PayboundDb(`h-${Math.random()}`);
  const unused = {} as never;
  return {
    db,
    version: '1.2.3',
    approvals: { focus: async (tabId: number) => tabId === 5 } as unknown as ApprovalService,
    decisions: unused,
    auth: unused,
    vault: new Vault(db, { get: async () => undefined, set: async () => {} }),
    autoLock: unused,
    payments: unused,
    review: unused,
    disputes: unused,
    rates: new RateService(db),
    cardLinks: unused,
    responses: undefined,
    subscriptions: unused,
  };
}

describe('handler groups', () => {
  it('handle every message, each in exactly one group', () => {
    const keys = handlerGroups(services()).flatMap((g) => Object.keys(g));
    expect(keys.length).toBe(new Set(keys).size);
    expect([...keys].sort()).toEqual(Object.keys(messageSchemas).sort());
  });

  it('answer through the router as before: settings, pause, default wallet, manual rate, focus', async () => {
    const route = createRouter(createHandlers(services()), self);
    const ask = (type: string, payload: unknown) => route({ type, payload }, ownPage);
    expect(await ask('settings.set', { currency: 'EUR', autoLockMinutes: 10 })).toEqual({
      ok: true,
      data: {
        currency: 'EUR',
        rateSources: [{ kind: 'coinbase' }, { kind: 'kraken' }, { kind: 'mempool' }],
        rateCheck: null,
        autoLockMinutes: 10,
        muteAutoNotices: false,
        cardServiceUrl: null,
      },
    });
    expect(await ask('pause.set', { paused: true })).toEqual({ ok: true, data: { paused: true } });
    expect(await getSetting(db, 'paused')).toBe(true);
    expect(await ask('status.get', {})).toMatchObject({
      ok: true,
      data: { version: '1.2.3', currency: 'EUR', paused: true, vault: 'none' },
    });
    expect(await ask('rails.setDefault', { railId: 'gone' })).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'no such wallet', said: { key: 'errorNoSuchWallet' } },
    });
    expect(await ask('rates.setManual', { rate: '90000.00', validForHours: 2 })).toEqual({
      ok: true,
      data: { currency: 'EUR' },
    });
    expect((await getSetting(db, 'manualRate'))?.minorPerBtc).toBe(9_000_000n);
    expect(await ask('approvals.focus', { tabId: 5 })).toEqual({ ok: true, data: { focused: true } });
    expect(await ask('approvals.focus', { tabId: 6 })).toEqual({ ok: true, data: { focused: false } });
  });
});
