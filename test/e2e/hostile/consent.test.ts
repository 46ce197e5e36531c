/**
 * Consent (docs/threat-model.md): no money moves without the user's say-so for that site. The
 * first payment to a site and to a new payee ask, however small; automatic payment only for sites
 * the user allowed, counted per registrable domain and under a daily cap across all sites; and a
 * keystroke meant for a page never approves.
 */
import type { BrowserContext, Frame, Page } from 'playwright-core';
import type { BridgeAnswer } from '../../../src/content/channel';
import { expect, test } from '../harness/fixtures';
import { ledger, nextQuoteWindow, POPUP, setRules } from '../harness/flows';
import { forge, forgeLater, l402Challenge, openOtherSite, otherSite, serve } from '../harness/hostile';
import { macaroonFor, regtestInvoice } from '../harness/liars';
import { wallets } from '../harness/wallets';

/** Counts the quote windows that open from now on. */
function countWindows(context: BrowserContext): () => number {
  let n = 0;
  context.on('page', (p) => {
    if (p.url().includes('/src/ui/approve/')) n += 1;
  });
  return () => n;
}

/**
 * A forged 1-sat challenge from `target` for a URL of its own site. Each test's URLs are in scopes
 * of their own (the path up to its last `/`), so no token paid before answers them.
 */
async function oneSat(target: Page | Frame, stack: Parameters<typeof l402Challenge>[0], url: string) {
  const c = await l402Challenge(stack, 1, 'one sat');
  return forge(target, { url, headers: [['www-authenticate', c.header]] });
}

/** Approves the next quote window, letting its site pay automatically up to these amounts; resolves with the answer. */
async function approveAllowingAuto(
  context: BrowserContext,
  charge: string,
  day: string,
  send: () => Promise<BridgeAnswer | undefined>,
): Promise<BridgeAnswer | undefined> {
  const opened = nextQuoteWindow(context);
  const answer = send();
  const quote = await opened;
  await quote.check('[data-testid=allow-auto]');
  await quote.fill('[data-testid=allow-auto-charge]', charge);
  await quote.fill('[data-testid=allow-auto-day]', day);
  await quote.click('[data-testid=approve]');
  return answer;
}

test('4a. the first payment to a site asks however small; after "let it pay automatically" its small charges pay alone; a new payee asks again', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const site = otherSite(stack);
  const page = await openOtherSite(context, stack);
  const windows = countWindows(context);
  const first = nextQuoteWindow(context);
  const answer = oneSat(page, stack, `${site}/x/api`);
  const quote = await first;
  expect(await quote.isVisible('[data-testid=first-payment]')).toBe(true);
  expect(await quote.textContent('[data-testid=reasons]')).toContain('the first payment to this site');
  await quote.check('[data-testid=allow-auto]');
  await quote.click('[data-testid=approve]');
  expect((await answer)?.retry?.value).toMatch(/^L402 /);
  expect(windows()).toBe(1);
  // Allowed now, and the payee is known: the next small charge pays without a window.
  expect((await oneSat(page, stack, `${site}/y/api`))?.retry?.value).toMatch(/^L402 /);
  expect(windows()).toBe(1);
  const rows = await ledger(await openExtensionPage(POPUP));
  expect(rows.map((r) => r.approval)).toEqual(['auto', 'approved']);
  // Another node asks for this site's payment: a new payee, so the user is asked again.
  const foreign = regtestInvoice({ amountMsat: 1000n });
  const asked = nextQuoteWindow(context);
  forgeLater(page, {
    url: `${site}/z/api`,
    headers: [
      [
        'www-authenticate',
        `L402 macaroon="${macaroonFor(foreign.paymentHash)}", invoice="${foreign.bolt11}"`,
      ],
    ],
  });
  const again = await asked;
  expect(await again.textContent('[data-testid=reasons]')).toContain('a new payee for this site');
  expect(await again.isVisible('[data-testid=payee]')).toBe(true);
  await again.click('[data-testid=deny]');
});

test('4b. frames of one registrable domain share its runaway guard; the daily cap on automatic payments holds across sites', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  await setRules(popup, (r) => ({ ...r, autoDayCapMinor: '3', runaway: { ...r.runaway, maxAuto: 2 } }));
  const top = await context.newPage();
  const frames = ['http://a.shop.example/f', 'http://b.shop.example/f', 'http://c.other.example/f'];
  for (const f of frames) await serve(top, f);
  await serve(
    top,
    'http://top.example.org/',
    `<!doctype html><body>${frames.map((f) => `<iframe src="${f}"></iframe>`).join('')}</body>`,
  );
  await top.goto('http://top.example.org/');
  const frame = (url: string) => {
    const f = top.frames().find((x) => x.url() === url);
    if (!f) throw new Error(`no frame ${url}`);
    return f;
  };
  const [a, b, c] = frames.map(frame) as [Frame, Frame, Frame];
  // The first payment of each site asks; the user lets each pay automatically up to 0.05.
  const shop = await approveAllowingAuto(context, '0.05', '1.00', () =>
    oneSat(a, stack, 'http://a.shop.example/1/api'),
  );
  expect(shop?.retry?.value).toMatch(/^L402 /);
  const other = await approveAllowingAuto(context, '0.05', '1.00', () =>
    oneSat(c, stack, 'http://c.other.example/1/api'),
  );
  expect(other?.retry?.value).toMatch(/^L402 /);
  const windows = countWindows(context);
  // a and b are one site (shop.example): after two automatic payments between them the guard asks.
  expect((await oneSat(a, stack, 'http://a.shop.example/2/api'))?.retry?.value).toMatch(/^L402 /);
  expect((await oneSat(b, stack, 'http://b.shop.example/2/api'))?.retry?.value).toMatch(/^L402 /);
  expect(windows()).toBe(0);
  const guarded = nextQuoteWindow(context);
  oneSat(b, stack, 'http://b.shop.example/3/api').catch(() => {});
  const guard = await guarded;
  expect(await guard.textContent('[data-testid=reasons]')).toContain('paid automatically 2 times recently');
  expect(await guard.textContent('[data-testid=site]')).toContain('shop.example');
  expect(await guard.textContent('[data-testid=top-site]')).toContain('example.org');
  await guard.click('[data-testid=deny]');
  // Two cents went automatically today; other.example's first automatic cent fills the cap of
  // three, and its next is asked for, whatever site it is.
  expect((await oneSat(c, stack, 'http://c.other.example/2/api'))?.retry?.value).toMatch(/^L402 /);
  const capped = nextQuoteWindow(context);
  oneSat(c, stack, 'http://c.other.example/3/api').catch(() => {});
  expect(await (await capped).textContent('[data-testid=reasons]')).toContain(
    'daily cap on automatic payments',
  );
});

test('5. one keystroke on a fresh quote window pays nothing: approve is not focused and arms only after the window was shown', async ({
  context,
  stack,
  demoPage,
  openExtensionPage,
}) => {
  const w = wallets(stack);
  const before = await w.balance('user');
  await demoPage.fill('#prompt', 'keystroke');
  const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
  expect(await quote.evaluate(() => document.activeElement?.getAttribute('data-testid'))).not.toBe('approve');
  await quote.keyboard.press('Enter');
  await quote.keyboard.press(' ');
  await quote.waitForSelector('[data-testid=approve][data-armed=true]');
  // The keys did nothing: the quote still waits, nothing was paid.
  const popup = await openExtensionPage(POPUP);
  expect((await ledger(popup))[0]).toMatchObject({ state: 'reserved', approval: 'waiting' });
  expect(await w.balance('user')).toBe(before);
  // Once armed, the keyboard approves as it should.
  await quote.focus('[data-testid=approve]');
  await quote.keyboard.press('Enter');
  await expect.poll(() => demoPage.textContent('#status')).toBe('200 OK');
});
