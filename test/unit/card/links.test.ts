// Linking a card against attackers: the card service over real HTTP, the official SDK, the Stripe
// stand-in. Item numbers are those of the security review the tests answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimCard, linkCommitment } from '../../../src/background/services/rails/card';
import {
  api,
  type CardStack,
  claim,
  claimLink,
  type LinkSecrets,
  linkUrl,
  newLink,
  SimBrowser,
  startCardStack,
} from './helpers';

let stack: CardStack;

beforeAll(async () => {
  stack = await startCardStack();
});

afterAll(async () => {
  await stack?.close();
});

/** What a script learns by starting a link itself, without Sec-Fetch-Site: everything but the key. */
async function scriptStartsLink(target: CardStack = stack) {
  const attacker = new SimBrowser();
  const link = newLink();
  const res = await attacker.fetch(linkUrl(target.card.url, link));
  expect(res.status).toBe(303);
  const checkoutUrl = res.headers.get('location') ?? '';
  const cookieName = (res.headers.getSetCookie()[0] ?? '').split('=')[0] ?? '';
  const linkId = cookieName.replace(/^pb_/, '');
  const sessionId = new URL(checkoutUrl).pathname.split('/').pop() ?? '';
  expect(linkId).toMatch(/^lnk_/);
  expect(sessionId).toMatch(/^cs_test_/);
  return { attacker, link, checkoutUrl, linkId, sessionId };
}

/** The victim types a card on the page; returns where Stripe sends their browser (not followed yet). */
async function victimSavesCard(victim: SimBrowser, checkoutUrl: string): Promise<Response> {
  return victim.fetch(checkoutUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      cardNumber: '4242 4242 4242 4242',
      cardExpiry: '12 / 34',
      cardCvc: '123',
      billingName: 'Victim',
    }),
    secFetchSite: 'same-origin',
  });
}

function savedCard(sessionId: string): { id: string; customer: unknown } {
  const session = stack.stripe.state.sessions.get(sessionId);
  const si = stack.stripe.state.setupIntents.get(String(session?.setup_intent));
  const pm = stack.stripe.state.paymentMethods.get(String(si?.payment_method));
  if (!pm) throw new Error('no card was saved for this session');
  return { id: pm.id, customer: pm.customer };
}

async function claimStatus(link: LinkSecrets): Promise<{ status: number; code?: string }> {
  const res = await claimLink(stack.card.url, link);
  const body = (await res.json()) as { error?: { code?: string } };
  return { status: res.status, code: body.error?.code };
}

describe('item 1: a card linked to the device of whoever started the link', () => {
  it('a script returning to /link/done with its own cookie before the card is saved gets nothing', async () => {
    const { attacker, link, checkoutUrl, linkId, sessionId } = await scriptStartsLink();
    const forged = await attacker.fetch(`${stack.card.url}/link/done?link=${linkId}&session_id=${sessionId}`);
    expect(forged.status).toBe(403);
    // The link is over: the page the victim is sent to no longer takes a card.
    const victim = await victimSavesCard(new SimBrowser(), checkoutUrl);
    expect(victim.status).not.toBe(303);
    await stack.stripe.webhooksIdle();
    expect(await claimStatus(link)).toEqual({ status: 410, code: 'link_canceled' });
  });

  it('a script returning with its cookie once the card is saved gets nothing, and the card is detached', async () => {
    const { attacker, link, checkoutUrl, linkId, sessionId } = await scriptStartsLink();
    const victim = new SimBrowser();
    const saved = await victimSavesCard(victim, checkoutUrl);
    expect(saved.status).toBe(303);
    await stack.stripe.webhooksIdle();
    const forged = await attacker.fetch(`${stack.card.url}/link/done?link=${linkId}&session_id=${sessionId}`);
    expect(forged.status).toBe(403);
    expect(await claimStatus(link)).toEqual({ status: 410, code: 'link_canceled' });
    expect(savedCard(sessionId).customer).toBeNull();
    // Stripe's redirect then brings the victim's browser back: nothing linked.
    const back = await victim.navigate(saved.headers.get('location') ?? '', 'cross-site');
    expect(back.url.startsWith(`${stack.card.url}/link/done`)).toBe(true);
    expect(await back.res.text()).toContain('No card was linked');
  });

  it('even with the completion key, the owner of the card coming back without the cookie revokes the token and detaches the card', async () => {
    const { attacker, link, checkoutUrl, sessionId } = await scriptStartsLink();
    const victim = new SimBrowser();
    const saved = await victimSavesCard(victim, checkoutUrl);
    const successUrl = saved.headers.get('location') ?? '';
    expect(new URL(successUrl).searchParams.get('k')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await stack.stripe.webhooksIdle();
    // Suppose the script learned the success URL: it is accepted, and it claims first.
    expect((await attacker.fetch(successUrl)).status).toBe(200);
    const claimed = await claimLink(stack.card.url, link);
    expect(claimed.status).toBe(200);
    const { deviceToken } = (await claimed.json()) as { deviceToken: string };
    // Stripe sends the victim's browser back too, without the attacker's cookie.
    const back = await victim.navigate(successUrl, 'cross-site');
    expect(back.res.status).toBe(403);
    expect((await api(stack.card.url, deviceToken, 'GET', '/api/device')).status).toBe(401);
    expect(savedCard(sessionId).customer).toBeNull();
  });

  it('an observer who knows the state, the link id and the session id cannot claim: the secret is in no URL', async () => {
    const browser = new SimBrowser();
    const link = newLink();
    const opened = await browser.navigate(linkUrl(stack.card.url, link));
    const back = await browser.submitCard(opened.url, '4242 4242 4242 4242');
    expect(back.res.status).toBe(200);
    await stack.stripe.webhooksIdle();
    const sessionId = new URL(back.url).searchParams.get('session_id') ?? '';
    const session = stack.stripe.state.sessions.get(sessionId);
    for (const seen of [opened.url, back.url, JSON.stringify(session)]) {
      expect(seen).not.toContain(link.secret);
      expect(seen).not.toContain(link.state);
    }
    expect((await claim(stack.card.url, link.state)).status).toBe(400);
    expect(await claimStatus({ ...link, secret: newLink().secret })).toEqual({
      status: 404,
      code: 'unknown_state',
    });
    const res = await claimLink(stack.card.url, link);
    expect(res.status).toBe(200);
    expect((await res.json()) as object).toMatchObject({ deviceToken: expect.stringMatching(/^pbd_/) });
  });

  it('accepts the owner’s browser once, after Stripe completed the session; a reload changes nothing', async () => {
    const browser = new SimBrowser();
    const link = newLink();
    const opened = await browser.navigate(linkUrl(stack.card.url, link));
    expect(await claimStatus(link)).toEqual({ status: 202, code: undefined });
    const back = await browser.submitCard(opened.url, '4242 4242 4242 4242');
    expect(back.res.status).toBe(200);
    expect(await back.res.text()).toContain('ending in 4242');
    const reload = await browser.navigate(back.url, 'none');
    expect(reload.res.status).toBe(200);
    await stack.stripe.webhooksIdle();
    const first = await claimLink(stack.card.url, link);
    expect(first.status).toBe(200);
    const { deviceToken } = (await first.json()) as { deviceToken: string };
    expect(await claimStatus(link)).toEqual({ status: 410, code: 'already_claimed' });
    // A stray visit without the key, after the owner came back, changes nothing.
    const sessionId = new URL(back.url).searchParams.get('session_id') ?? '';
    const linkId = new URL(back.url).searchParams.get('link') ?? '';
    const stray = await new SimBrowser().fetch(
      `${stack.card.url}/link/done?link=${linkId}&session_id=${sessionId}`,
    );
    expect(stray.status).toBe(403);
    expect((await api(stack.card.url, deviceToken, 'GET', '/api/device')).status).toBe(200);
  });

  it('a return with the cookie and the key before the session is complete cancels the link', async () => {
    const { attacker, link, linkId, sessionId } = await scriptStartsLink();
    const successUrl = String(stack.stripe.state.sessions.get(sessionId)?.success_url).replace(
      '{CHECKOUT_SESSION_ID}',
      sessionId,
    );
    expect(successUrl).toContain(linkId);
    const early = await attacker.fetch(successUrl);
    expect(early.status).toBe(410);
    expect(stack.stripe.state.sessions.get(sessionId)?.status).toBe('expired');
    expect(await claimStatus(link)).toEqual({ status: 410, code: 'link_canceled' });
  });

  it('refuses /link without the commitment v, and a claim without the secret', async () => {
    const link = newLink();
    const res = await new SimBrowser().fetch(`${stack.card.url}/link?state=${link.state}`, {
      secFetchSite: 'none',
    });
    expect(res.status).toBe(400);
    const bare = await claim(stack.card.url, link.state);
    expect(bare.status).toBe(400);
    expect(await bare.json()).toMatchObject({ error: { code: 'invalid_secret' } });
  });
});

describe('item 5: /link spam', () => {
  it('creates no Stripe Customer per GET /link: one is created when the checkout completes', async () => {
    const before = stack.stripe.state.customers.size;
    const started = await Promise.all(
      Array.from({ length: 4 }, () => new SimBrowser().fetch(linkUrl(stack.card.url, newLink()))),
    );
    expect(started.map((r) => r.status)).toEqual([303, 303, 303, 303]);
    expect(stack.stripe.state.customers.size).toBe(before);

    const browser = new SimBrowser();
    const opened = await browser.navigate(linkUrl(stack.card.url, newLink()));
    expect(stack.stripe.state.customers.size).toBe(before);
    const back = await browser.submitCard(opened.url, '4242 4242 4242 4242');
    await stack.stripe.webhooksIdle();
    expect(stack.stripe.state.customers.size).toBe(before + 1);
    const card = savedCard(new URL(back.url).searchParams.get('session_id') ?? '');
    const customer = stack.stripe.state.customers.get(String(card.customer));
    expect(customer?.invoice_settings).toEqual({ default_payment_method: card.id });
  });

  it('limits GET /link per client: a burst, then 429 with Retry-After and a JSON error, refilled with time', async () => {
    let now = Date.now();
    const local = await startCardStack({ now: () => now, linkRateLimit: { burst: 3, perMinute: 6 } });
    try {
      const start = () => new SimBrowser().fetch(linkUrl(local.card.url, newLink()));
      for (let i = 0; i < 3; i++) expect((await start()).status).toBe(303);
      const sessions = local.stripe.state.sessions.size;
      const refused = await start();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('10');
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await refused.json()).toMatchObject({
        error: { code: 'rate_limited', retryAfterSeconds: 10 },
      });
      expect(local.stripe.state.sessions.size).toBe(sessions);
      now += 10_000;
      expect((await start()).status).toBe(303);
      expect((await start()).status).toBe(429);
    } finally {
      await local.close();
    }
  });

  it('by default lets 20 of 300 quick starts through to Stripe', async () => {
    const now = Date.now();
    const local = await startCardStack({ now: () => now });
    try {
      const statuses: number[] = [];
      for (let batch = 0; batch < 10; batch++) {
        const res = await Promise.all(
          Array.from({ length: 30 }, () => fetch(linkUrl(local.card.url, newLink()), { redirect: 'manual' })),
        );
        for (const r of res) {
          statuses.push(r.status);
          await r.arrayBuffer();
        }
      }
      expect(statuses.filter((s) => s === 303)).toHaveLength(20);
      expect(statuses.filter((s) => s === 429)).toHaveLength(280);
      expect(local.stripe.state.sessions.size).toBe(20);
      expect(local.stripe.state.customers.size).toBe(0);
    } finally {
      await local.close();
    }
  });

  it('can be turned off (linkRateLimit: false)', async () => {
    const now = Date.now();
    const local = await startCardStack({ now: () => now, linkRateLimit: false });
    try {
      const res = await Promise.all(
        Array.from({ length: 25 }, () => fetch(linkUrl(local.card.url, newLink()), { redirect: 'manual' })),
      );
      expect(res.map((r) => r.status)).toEqual(Array(25).fill(303));
    } finally {
      await local.close();
    }
  });
});

describe("the extension's side of the link", () => {
  it('opens /link with v = linkCommitment(secret) and claims with state and secret (card.linkStart/linkPoll)', async () => {
    const link = newLink();
    const v = await linkCommitment(link.secret);
    expect(v).toBe(link.v);
    const browser = new SimBrowser();
    const opened = await browser.navigate(`${stack.card.url}/link?state=${link.state}&v=${v}`);
    expect(await claimCard(stack.card.url, link.state, link.secret)).toEqual({ status: 'pending' });
    await browser.submitCard(opened.url, '4242 4242 4242 4242');
    await stack.stripe.webhooksIdle();
    const linked = await claimCard(stack.card.url, link.state, link.secret);
    expect(linked).toMatchObject({ status: 'linked', brand: 'visa', last4: '4242' });
    expect(await claimCard(stack.card.url, link.state, link.secret)).toEqual({
      status: 'failed',
      reason: 'This card link was already claimed.',
    });
  });

  it('gets a wrong state and secret refused, and a web page no CORS answer', async () => {
    const wrong = await claimLink(stack.card.url, newLink(), 'https://evil.example');
    expect(wrong.status).toBe(404);
    expect(wrong.headers.get('access-control-allow-origin')).toBeNull();
    expect(await wrong.json()).toMatchObject({ error: { code: 'unknown_state' } });
  });
});
