/**
 * Hostile pages and credentials (threat model, docs/threat-model.md): what a page says never
 * plants, spends or drops a credential that another site's requests carry, and a plan's
 * subscriber credential goes to the subscribing site's requests only.
 */
import type { Page } from 'playwright-core';
import type { ChallengePayload } from '../../../src/content/channel';
import { expect, test } from '../harness/fixtures';
import { ledger, nextQuoteWindow, POPUP, setRules } from '../harness/flows';
import { clearSeen, forge, l402Challenge, openOtherSite, seenByDemo } from '../harness/hostile';
import { wallets } from '../harness/wallets';

/** What the demo's echo endpoint says arrived, asked from `page` with these headers. */
function echo(page: Page, url: string, headers: Record<string, string> = {}): Promise<string | null> {
  return page.evaluate(
    async ([u, h]) =>
      ((await (await fetch(u, { headers: h })).json()) as { authorization: string | null }).authorization,
    [url, headers] as const,
  );
}

/** The demo page pays for /api/generate once (approving its quote), so its token is cached. */
async function payDemo(context: Parameters<typeof nextQuoteWindow>[0], demoPage: Page): Promise<void> {
  await demoPage.fill('#prompt', 'a paid token');
  const [quote] = await Promise.all([nextQuoteWindow(context), demoPage.click('#generate')]);
  await quote.click('[data-testid=approve]');
  await expect.poll(() => demoPage.textContent('#status')).toBe('200 OK');
}

test('1. a forged 402 naming another site cannot plant a credential there: that site’s own Authorization arrives unchanged', async ({
  context,
  stack,
  demoPage,
  openExtensionPage,
}) => {
  const evil = await openOtherSite(context, stack);
  const c = await l402Challenge(stack, 1, 'one sat');
  const quoteOpened = nextQuoteWindow(context);
  const answer = forge(evil, { url: `${stack.demo}/api/echo`, headers: [['www-authenticate', c.header]] });
  // The first payment to a site asks, however small. Say the user is fooled into approving it.
  const quote = await quoteOpened;
  expect(await quote.textContent('[data-testid=site]')).toContain('localhost');
  await quote.click('[data-testid=approve]');
  expect((await answer)?.retry?.value).toMatch(/^L402 /);
  const [row] = await ledger(await openExtensionPage(POPUP));
  expect(row).toMatchObject({ state: 'paid' });
  // The demo site's own requests are its own: its credential arrives as it sent it, and without
  // one, none is added.
  expect(await echo(demoPage, '/api/echo', { Authorization: 'Bearer mine' })).toBe('Bearer mine');
  expect(await echo(demoPage, '/api/echo')).toBeNull();
});

test('2. a token the demo site paid serves no other site: not a no-cors fetch, an image or a preflighted fetch', async ({
  context,
  stack,
  demoPage,
}) => {
  await payDemo(context, demoPage);
  // The token is the demo's: its own next request to the API carries it.
  expect(await echo(demoPage, '/api/echo')).toMatch(/^L402 /);
  await clearSeen(stack);
  const evil = await openOtherSite(context, stack);
  const read = await evil.evaluate(async (api) => {
    await fetch(`${api}/api/echo?no-cors`, { mode: 'no-cors' });
    await new Promise((done) => {
      const img = new Image();
      img.onload = img.onerror = done;
      img.src = `${api}/api/echo?img`;
    });
    const res = await fetch(`${api}/api/echo?preflighted`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    return ((await res.json()) as { authorization: string | null }).authorization;
  }, stack.demo);
  expect(read).toBeNull();
  const seen = (await seenByDemo(stack)).filter((r) => r.path === '/api/echo');
  expect(seen.map((r) => r.dest).sort()).toEqual(expect.arrayContaining(['empty', 'image']));
  expect(seen.filter((r) => r.method !== 'OPTIONS').length).toBeGreaterThanOrEqual(3);
  expect(seen.filter((r) => r.authorization !== 'none')).toEqual([]);
});

test("3. a junk challenge naming an API leaves its token in place, from another site or from a script in the page (which is handed its own site's token)", async ({
  context,
  stack,
  demoPage,
}) => {
  await payDemo(context, demoPage);
  const junk = {
    url: `${stack.demo}/api/generate`,
    headers: [['www-authenticate', 'L402 macaroon="junk", invoice="lnbcrt1junk"']] as [string, string][],
  };
  const evil = await openOtherSite(context, stack);
  const w = wallets(stack);
  const before = await w.balance('user');
  expect((await forge(evil, junk))?.retry).toBeUndefined();
  // The paying site's own page is handed the token its site holds for that scope (in Chromium
  // pages attach their tokens themselves; docs/threat-model.md, "Tokens"), and nothing is paid.
  const own = await forge(demoPage, junk);
  expect(own).toMatchObject({ held: true, retry: { header: 'Authorization' } });
  expect(own?.retry?.value).toMatch(/^L402 /);
  expect(own?.retry?.value).not.toContain('junk');
  // The next request is served with the token it paid for: no window, nothing paid.
  expect(await echo(demoPage, '/api/echo')).toMatch(/^L402 /);
  await demoPage.fill('#prompt', 'still paid');
  await demoPage.click('#generate');
  await expect.poll(() => demoPage.textContent('#status')).toBe('200 OK');
  expect(await w.balance('user')).toBe(before);
});

test('14. a plan’s subscriber credential serves only the site that subscribed, and no page can make it renew', async ({
  context,
  stack,
  demoPage,
  openExtensionPage,
}) => {
  const popup = await openExtensionPage(POPUP);
  // Quill Pro's month is above the default confirm limit: a click approves it here.
  await setRules(popup, (r) => ({ ...r, confirmMaxMinor: '1000000', budgets: [] }));
  const status = demoPage.evaluate(() =>
    fetch('/drafts/generate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'subscribe' }),
    }).then((r) => r.status),
  );
  const quote = await nextQuoteWindow(context);
  await quote.click('[data-testid=subscribe]');
  await quote.waitForSelector('[data-testid=plan-charge]');
  await quote.click('[data-testid=approve]');
  expect(await status).toBe(200);
  // The subscribing site's own requests to the app carry the credential.
  expect(await demoPage.evaluate(async () => (await (await fetch('/api/echo')).json()).subscriber)).toBe(
    'present',
  );

  await clearSeen(stack);
  const evil = await openOtherSite(context, stack);
  const read = await evil.evaluate(async (api) => {
    await fetch(`${api}/api/echo?no-cors`, { mode: 'no-cors' });
    await new Promise((done) => {
      const img = new Image();
      img.onload = img.onerror = done;
      img.src = `${api}/api/echo?img`;
    });
    return ((await (await fetch(`${api}/api/echo?cors`)).json()) as { subscriber: string | null }).subscriber;
  }, stack.demo);
  expect(read).toBeNull();
  const seen = (await seenByDemo(stack)).filter((r) => r.path === '/api/echo' && r.method !== 'OPTIONS');
  expect(seen.length).toBeGreaterThanOrEqual(3);
  expect(seen.filter((r) => r.subscriber !== 'none')).toEqual([]);

  // A renewal 402 another site forges, or a script in the page sends mid-period, pays nothing.
  const w = wallets(stack);
  const before = await w.balance('user');
  const paidBefore = (await ledger(popup)).length;
  const renewal = {
    url: `${stack.demo}/drafts/generate`,
    headers: [
      [
        'www-authenticate',
        `Payment id="forged", realm="r", method="lightning", intent="subscription", request="${Buffer.from(
          JSON.stringify({ amount: '20000', currency: 'sat', interval: 'month', methodDetails: {} }),
        ).toString('base64url')}"`,
      ],
    ] as [string, string][],
  };
  expect((await forge(evil, renewal))?.retry).toBeUndefined();
  expect((await forge(demoPage, renewal))?.retry).toBeUndefined();
  expect(await w.balance('user')).toBe(before);
  expect((await ledger(popup)).length).toBe(paidBefore);
});

test('15. only the tab itself reports its page load: a frame’s 402 page load quotes nothing, and a page’s script claiming one is heard as its own fetch', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const TOP = 'http://top.example.org/';
  const FRAME = 'http://frame.example.net/paid';
  const top = await context.newPage();
  const framed = await l402Challenge(stack, 1, 'a framed page');
  await top.route(FRAME, (route) =>
    route.fulfill({
      status: 402,
      contentType: 'text/html',
      headers: { 'www-authenticate': framed.header },
      body: '<!doctype html><title>pay</title><p id="payment-required">pay first</p>',
    }),
  );
  await top.route(TOP, (route) =>
    route.fulfill({
      status: 200,
      contentType: 'text/html',
      body: `<!doctype html><title>top</title><body><iframe src="${FRAME}"></iframe></body>`,
    }),
  );
  await top.goto(TOP);
  // The frame's own load answered 402 and shows its payment page: a frame's page load is no
  // page load of the tab, so nothing reports it.
  await top.frameLocator('iframe').locator('#payment-required').waitFor();
  const c = await l402Challenge(stack, 1, 'a page load, says the page');
  const opened = nextQuoteWindow(context);
  const claim = { url: TOP, headers: [['www-authenticate', c.header]], navigation: true } as Omit<
    ChallengePayload,
    'status' | 'method'
  >;
  const answer = forge(top, claim);
  const quote = await opened;
  // The first quote is the forged one, for the top page's own site: the frame asked for nothing.
  expect(await quote.textContent('[data-testid=origin]')).toBe('http://top.example.org');
  await quote.click('[data-testid=deny]');
  expect((await answer)?.retry).toBeUndefined();
  const rows = await ledger(await openExtensionPage(POPUP));
  expect(rows.map((r) => [r.via, r.origin, r.approval])).toEqual([
    ['fetch', 'http://top.example.org', 'denied'],
  ]);
});
