// Fixtures for the card service tests: the Stripe stand-in, the card service wired to it (webhook
// endpoint and all), a registered app, and a tiny browser that follows the link flow over HTTP.
import { createHash, randomBytes } from 'node:crypto';
import { generateReceiptKey } from '../../../server/card/keys';
import type { LinkRateLimit } from '../../../server/card/links';
import { type CardService, startCardService } from '../../../server/card/service';
import { type StripeStandin, startStripeStandin } from '../../../server/standins/stripe/index';
import { freshDatabaseUrl } from '../harness/database';

/**
 * Where a test stack keeps its state: a database of its own on the run's PostgreSQL cluster (the
 * unit-pg project), else the embedded engine (in memory, or the test's dbPath).
 */
export async function stackDatabase(dbPath: string | undefined): Promise<{
  databaseUrl?: string;
  receiptKeys?: ReturnType<typeof generateReceiptKey>[];
}> {
  if (dbPath) return {};
  const databaseUrl = await freshDatabaseUrl();
  // A database that outlives the process wants configured receipt keys (any will do in a test).
  return databaseUrl ? { databaseUrl, receiptKeys: [generateReceiptKey()] } : {};
}

export interface CardStack {
  stripe: StripeStandin;
  card: CardService;
  merchant: { accountId: string; apiKey: string };
  /** The endpoint's signing secret, for a test that sends Stripe's events itself. */
  webhookSecret: string;
  close(): Promise<void>;
}

export async function startCardStack(
  extra: {
    dbPath?: string;
    now?: () => number;
    receiptTtlSeconds?: number;
    linkRateLimit?: LinkRateLimit | false;
  } = {},
): Promise<CardStack> {
  const stripe = await startStripeStandin({ port: 0, webhookRetryDelaysMs: [] });
  const webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
  const card = await startCardService({
    port: 0,
    stripe: {
      host: stripe.host,
      port: stripe.port,
      protocol: 'http',
      secretKey: stripe.secretKey,
      maxNetworkRetries: 0,
    },
    webhookSecret,
    adminToken: 'admin-token-for-tests-0123456789',
    ...(await stackDatabase(extra.dbPath)),
    ...extra,
  });
  stripe.addWebhookEndpoint({ url: `${card.url}/webhooks/stripe`, secret: webhookSecret });
  const merchant = await card.createMerchant({ name: 'Test app' });
  return {
    stripe,
    card,
    merchant,
    webhookSecret,
    close: async () => {
      await card.close();
      await stripe.close();
    },
  };
}

export function newState(): string {
  return randomBytes(32).toString('base64url');
}

/** What the extension keeps for one link: the state, the secret, and the commitment `v` it sends. */
export interface LinkSecrets {
  state: string;
  secret: string;
  v: string;
}

export function newLink(): LinkSecrets {
  const secret = randomBytes(32).toString('base64url');
  return { state: newState(), secret, v: createHash('sha256').update(secret).digest('base64url') };
}

/** The URL the extension opens for a link. */
export function linkUrl(cardUrl: string, link: LinkSecrets): string {
  return `${cardUrl}/link?state=${link.state}&v=${link.v}`;
}

/** The extension's claim: state and secret. */
export async function claimLink(cardUrl: string, link: LinkSecrets, origin?: string): Promise<Response> {
  return fetch(`${cardUrl}/api/devices/claim`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
    body: JSON.stringify({ state: link.state, secret: link.secret }),
  });
}

/** A browser reduced to what the link flow needs: cookies per origin and manual redirects. */
export class SimBrowser {
  readonly #jar = new Map<string, Map<string, string>>();

  async fetch(url: string, init: RequestInit & { secFetchSite?: string } = {}): Promise<Response> {
    const { secFetchSite, ...rest } = init;
    const origin = new URL(url).origin;
    const headers = new Headers(rest.headers);
    const cookies = this.#jar.get(origin);
    if (cookies && cookies.size > 0) {
      headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    if (secFetchSite) headers.set('sec-fetch-site', secFetchSite);
    const res = await fetch(url, { ...rest, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const jar = this.#jar.get(origin) ?? new Map<string, string>();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired) jar.delete(name);
      else jar.set(name, value);
      this.#jar.set(origin, jar);
    }
    return res;
  }

  /** Opens a URL as a top-level navigation and follows redirects; returns the final response. */
  async navigate(url: string, secFetchSite = 'none'): Promise<{ res: Response; url: string }> {
    let current = url;
    let site = secFetchSite;
    for (let hops = 0; hops < 10; hops++) {
      const res = await this.fetch(current, { secFetchSite: site });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { res, url: current };
      await res.arrayBuffer();
      const next = new URL(location, current).toString();
      // A redirect chain across sites is cross-site from the browser's point of view.
      site = new URL(next).origin === new URL(current).origin && site !== 'cross-site' ? site : 'cross-site';
      current = next;
    }
    throw new Error('too many redirects');
  }

  /** Types a card into the stand-in's hosted Checkout page and follows the redirect back. */
  async submitCard(checkoutUrl: string, cardNumber: string): Promise<{ res: Response; url: string }> {
    const res = await this.fetch(checkoutUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        cardNumber,
        cardExpiry: '12 / 34',
        cardCvc: '123',
        billingName: 'Test Reader',
      }),
      secFetchSite: 'same-origin',
    });
    const location = res.headers.get('location');
    if (res.status !== 303 || !location)
      throw new Error(`checkout refused the card: ${res.status} ${await res.text()}`);
    return this.navigate(new URL(location, checkoutUrl).toString(), 'cross-site');
  }
}

export async function claim(cardUrl: string, state: string, origin?: string): Promise<Response> {
  return fetch(`${cardUrl}/api/devices/claim`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
    body: JSON.stringify({ state }),
  });
}

/** The whole link flow in one browser; returns the device token. */
export async function linkCard(stack: CardStack, cardNumber = '4242 4242 4242 4242'): Promise<string> {
  const browser = new SimBrowser();
  const link = newLink();
  const opened = await browser.navigate(linkUrl(stack.card.url, link));
  if (!opened.url.startsWith(stack.stripe.url))
    throw new Error(`link did not reach checkout: ${opened.res.status} ${await opened.res.text()}`);
  await opened.res.arrayBuffer();
  const done = await browser.submitCard(opened.url, cardNumber);
  await done.res.arrayBuffer();
  await stack.stripe.webhooksIdle();
  const res = await claimLink(stack.card.url, link);
  if (res.status !== 200) throw new Error(`claim failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { deviceToken: string }).deviceToken;
}

export async function api(
  cardUrl: string,
  token: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(cardUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export function challengeId(): string {
  return randomBytes(24).toString('base64url');
}
