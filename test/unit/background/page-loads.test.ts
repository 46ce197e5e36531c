/**
 * A page-load 402 report (`navigation: true`) stands for the tab's own page load only: the top
 * frame's, for the URL the browser says that frame shows, asked with GET. Any other is refused
 * before the payment service hears of it, so a page cannot have a URL it is not showing quoted or
 * handed a page-load token.
 */
import { describe, expect, it } from 'vitest';
import type { Runtime } from 'webextension-polyfill';
import { pageHandlers } from '../../../src/background/handlers/pages';
import type { Services } from '../../../src/background/handlers/services';
import { createRouter } from '../../../src/background/router';

const self = { id: 'ext-id', origin: 'chrome-extension://ext-id' };
const L402 = [['www-authenticate', 'L402 macaroon="bWFj", invoice="lnbcrt10n1x"']];

function setup() {
  const seen: { url: string; via: string; tabId?: number | undefined; origin: string }[] = [];
  const payments = {
    onChallenge: async (c: { url: string; via: string; tabId?: number; origin: string }) => {
      seen.push({ url: c.url, via: c.via, tabId: c.tabId, origin: c.origin });
      return { action: 'pass', reason: 'stand-in', said: { key: 'refusedUnknown' } };
    },
  } as unknown as Services['payments'];
  const handlers = pageHandlers({ payments, responses: undefined });
  const route = createRouter(handlers as never, self);
  const report = (url: string, sender: Partial<Runtime.MessageSender>, method = 'GET', navigation = true) =>
    route(
      {
        type: 'challenge.seen',
        payload: { url, method, status: 402, headers: L402, ...(navigation ? { navigation } : {}) },
      },
      { id: 'ext-id', tab: { id: 7 } as Runtime.MessageSender['tab'], ...sender } as Runtime.MessageSender,
    );
  return { seen, report };
}

const SHOWN = 'https://shop.example/article/1?x=1';

describe('page-load reports', () => {
  it('are taken from the top frame, for the URL it shows (its fragment aside), asked with GET', async () => {
    const { seen, report } = setup();
    await report(SHOWN, { url: `${SHOWN}#part`, frameId: 0 });
    expect(seen).toEqual([{ url: SHOWN, via: 'navigation', tabId: 7, origin: 'https://shop.example' }]);
  });

  it('are refused for another URL of the same site, from a sub-frame, or by POST', async () => {
    const { seen, report } = setup();
    const refused = [
      await report('https://shop.example/article/2', { url: SHOWN, frameId: 0 }),
      await report(SHOWN, { url: SHOWN, frameId: 3 }),
      await report(SHOWN, { url: SHOWN, frameId: 0 }, 'POST'),
      await report('https://other.example/article/1', { url: SHOWN, frameId: 0 }),
      // No URL from the browser: nothing to check the report against.
      await report(SHOWN, { frameId: 0, origin: 'https://shop.example' } as Partial<Runtime.MessageSender>),
    ];
    for (const r of refused) expect(r).toMatchObject({ ok: true, data: { action: 'pass' } });
    expect(seen).toEqual([]);
  });

  it('without the page-load mark are heard as fetch 402s of the frame', async () => {
    const { seen, report } = setup();
    await report('https://shop.example/api/answer', { url: SHOWN, frameId: 3 }, 'POST', false);
    expect(seen).toEqual([
      { url: 'https://shop.example/api/answer', via: 'fetch', tabId: 7, origin: 'https://shop.example' },
    ]);
  });
});
