// Linking a card, and handing the extension its device token.
//
//   1. The extension makes `state` and a `secret` (32 random bytes each, base64url) and opens
//      GET /link?state=…&v=base64url(sha256(secret)) in a normal tab with chrome.tabs.create. The
//      service refuses a navigation that a web page started (Sec-Fetch-Site cross-site/same-site) and
//      more than a few links a minute per client, creates a setup-mode Checkout Session (no Customer
//      yet), sets a cookie that binds the flow to this browser, and redirects to Stripe's page.
//   2. Stripe redirects the browser that saved the card to /link/done with a completion key `k` that
//      only the success URL carries. Accepted once, only with the cookie of step 1 and that key, and
//      only once Stripe says the session is complete; any other arrival cancels the link.
//   3. The card is saved (a Customer created, the card attached) when the session is complete
//      (webhook checkout.session.completed, or the session read back at /link/done).
//   4. The extension polls POST /api/devices/claim {state, secret}; once steps 2 and 3 are done the
//      first claim gets the device token, and every later one is refused.
// Only hashes of the state and commitment, the cookie and the token are stored.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Stripe from 'stripe';
import type { CardDb, Row } from './db';
import { cookies, escapeHtml, sendError, sendJson, sendPage } from './http';
import { mapStripeError, newToken, sha256Hex } from './stripe';

/** 32 random bytes in base64url: the state, the secret and its commitment all have this shape. */
const B64_32 = /^[A-Za-z0-9_-]{43}$/;
const LINK_ID = /^lnk_[A-Za-z0-9_-]{22}$/;
const LINK_KEY_META = 'link_completion_key';

/** Starts of GET /link allowed per client address: `burst` at once, refilled at `perMinute`. */
export interface LinkRateLimit {
  burst: number;
  perMinute: number;
}

export const DEFAULT_LINK_RATE_LIMIT: LinkRateLimit = { burst: 20, perMinute: 20 };

export interface LinkFlowOptions {
  db: CardDb;
  stripe: Stripe;
  publicUrl: string;
  currency: string;
  /** Lifetime of a link attempt (and its Checkout Session); at least 1800 s, Stripe's minimum. */
  ttlSeconds: number;
  platformName: string;
  /** false: no limit (a trusted front end limits instead). */
  rateLimit: LinkRateLimit | false;
  /** Test mode: each card's customer lives on a test clock of its own (see CardServiceOptions). */
  testClocks?: boolean;
  now: () => number;
}

export interface LinkedCard {
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
}

/** What the extension sends as `v`: base64url(SHA-256(the secret's ASCII)). */
export function linkCommitment(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** The link row is found by state and commitment together: the state alone claims nothing. */
function linkKey(state: string, commitment: string): string {
  return sha256Hex(`${state}.${commitment}`);
}

class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #limit: LinkRateLimit;

  constructor(limit: LinkRateLimit) {
    this.#limit = limit;
  }

  /** 0 when `key` may go ahead (a token is spent), else the seconds until it may. */
  take(key: string, nowMs: number): number {
    const { burst, perMinute } = this.#limit;
    const perMs = perMinute / 60_000;
    const b = this.#buckets.get(key) ?? { tokens: burst, at: nowMs };
    b.tokens = Math.min(burst, b.tokens + Math.max(0, nowMs - b.at) * perMs);
    b.at = nowMs;
    if (this.#buckets.size > 10_000) this.#prune(nowMs);
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
  }

  #prune(nowMs: number): void {
    // Buckets that have refilled hold nothing worth remembering.
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (nowMs - b.at) * (this.#limit.perMinute / 60_000) >= this.#limit.burst)
        this.#buckets.delete(key);
    }
  }
}

export class LinkFlow {
  readonly #o: LinkFlowOptions;
  readonly #completionKey: Buffer;
  readonly #buckets: TokenBuckets | null;

  /** `completionKey`: from LinkFlow.completionKey(db). */
  constructor(options: LinkFlowOptions, completionKey: string) {
    this.#o = options;
    this.#completionKey = Buffer.from(completionKey, 'hex');
    this.#buckets = options.rateLimit ? new TokenBuckets(options.rateLimit) : null;
  }

  /** The completion key is one for every instance on the database: the first to start makes it. */
  static completionKey(db: CardDb): Promise<string> {
    return db.metaOrInit(LINK_KEY_META, randomBytes(32).toString('hex'));
  }

  #nowS(): number {
    return Math.floor(this.#o.now() / 1000);
  }

  #secure(): boolean {
    return this.#o.publicUrl.startsWith('https:');
  }

  /** The key only the success URL carries: proof that Stripe sent this browser back. */
  #keyFor(linkId: string): string {
    return createHmac('sha256', this.#completionKey).update(linkId).digest('base64url');
  }

  /** GET /link?state=&v= */
  async start(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // Each start costs a Checkout Session at Stripe, whose rate limit the whole platform shares.
    const wait = this.#buckets?.take(req.socket.remoteAddress ?? '?', this.#o.now()) ?? 0;
    if (wait > 0) {
      return sendError(
        res,
        429,
        'rate_limited',
        `Too many card links were started from this address; try again in ${wait} s.`,
        { retryAfterSeconds: wait },
        { 'retry-after': String(wait) },
      );
    }
    const state = url.searchParams.get('state') ?? '';
    if (!B64_32.test(state)) {
      return sendPage(
        res,
        400,
        'Link a card',
        '<h1>This link is incomplete</h1><p>Open it again from Paybound.</p>',
      );
    }
    // A web page can navigate a tab here, but it cannot make the browser say the navigation was not
    // started by a page: chrome.tabs.create (like a typed URL) sends Sec-Fetch-Site: none.
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      return sendPage(
        res,
        403,
        'Link a card',
        '<h1 id="refused">This page was opened by another website</h1><p>Paybound opens this page itself when you choose <em>Link a card</em> in its settings. If you did not just do that, close this tab.</p>',
      );
    }
    const commitment = url.searchParams.get('v') ?? '';
    if (!B64_32.test(commitment)) {
      return sendPage(
        res,
        400,
        'Link a card',
        '<h1 id="incomplete">This link is incomplete</h1><p>Open it again from Paybound.</p>',
      );
    }
    const stateHash = linkKey(state, commitment);
    if (await this.#o.db.get('SELECT id FROM links WHERE state_hash = ?', [stateHash])) {
      return sendPage(
        res,
        409,
        'Link a card',
        '<h1>This link was already used</h1><p>Start again from Paybound.</p>',
      );
    }
    const linkId = `lnk_${newToken('x').slice(2, 24)}`;
    const browserSecret = newToken('b');
    const now = this.#nowS();
    const expiresAt = now + this.#o.ttlSeconds;
    let session: Stripe.Checkout.Session;
    try {
      // No Customer yet: one is created only for a card that was actually saved (complete()).
      session = await this.#o.stripe.checkout.sessions.create(
        {
          mode: 'setup',
          currency: this.#o.currency,
          allowed_payment_method_types: ['card'],
          client_reference_id: linkId,
          metadata: { paybound_link: linkId },
          setup_intent_data: { metadata: { paybound_link: linkId } },
          success_url: `${this.#o.publicUrl}/link/done?link=${linkId}&k=${this.#keyFor(linkId)}&session_id={CHECKOUT_SESSION_ID}`,
          cancel_url: `${this.#o.publicUrl}/link/cancel?link=${linkId}`,
          // Stripe wants at least 30 minutes from *its* now: a minute of slack covers the time
          // between our clock reading and its check (the link's own expiry still governs claims).
          expires_at: expiresAt + 60,
        },
        { idempotencyKey: `${linkId}:session` },
      );
    } catch (err) {
      const mapped = mapStripeError(err);
      return sendPage(
        res,
        mapped.status >= 500 ? mapped.status : 502,
        'Link a card',
        `<h1 id="unavailable">Card linking is unavailable right now</h1><p class="muted">${escapeHtml(mapped.message)}</p>`,
      );
    }
    if (!session.url) {
      return sendPage(res, 502, 'Link a card', '<h1>Stripe returned no checkout page</h1>');
    }
    // customer_id stays '' until the card is saved.
    await this.#o.db.run(
      `INSERT INTO links (id, state_hash, browser_hash, customer_id, session_id, status, created_at, expires_at)
       VALUES (?, ?, ?, '', ?, 'open', ?, ?)`,
      [linkId, stateHash, sha256Hex(browserSecret), session.id, now, expiresAt],
    );
    res.writeHead(303, {
      location: session.url,
      'cache-control': 'no-store',
      // The state is in this page's URL: never send it on to Stripe as a Referer.
      'referrer-policy': 'no-referrer',
      'set-cookie': this.#cookie(linkId, browserSecret, this.#o.ttlSeconds),
    });
    res.end();
  }

  #cookie(linkId: string, value: string, maxAge: number): string {
    // Lax: sent on the top-level redirect back from Stripe, never on a page's subrequests. It is
    // kept until the link expires, so that reloading /link/done is not taken for another browser.
    return `pb_${linkId}=${value}; Path=/link; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${this.#secure() ? '; Secure' : ''}`;
  }

  async #linkFromQuery(url: URL): Promise<Row | undefined> {
    const linkId = url.searchParams.get('link') ?? '';
    return LINK_ID.test(linkId) ? this.#o.db.get('SELECT * FROM links WHERE id = ?', [linkId]) : undefined;
  }

  #sameBrowser(req: IncomingMessage, link: Row): boolean {
    const cookie = cookies(req).get(`pb_${String(link.id)}`);
    return cookie !== undefined && sha256Hex(cookie) === link.browser_hash;
  }

  #keyOk(url: URL, linkId: string): boolean {
    const k = url.searchParams.get('k') ?? '';
    return B64_32.test(k) && timingSafeEqual(Buffer.from(k), Buffer.from(this.#keyFor(linkId)));
  }

  /** GET /link/done?link=…&k=…&session_id=… (Stripe's success_url). */
  async done(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const link = await this.#linkFromQuery(url);
    if (!link) return sendPage(res, 404, 'Link a card', '<h1>Unknown card link</h1>');
    const id = String(link.id);
    if (link.status === 'canceled') return canceledPage(res);
    const owner =
      this.#sameBrowser(req, link) &&
      this.#keyOk(url, id) &&
      url.searchParams.get('session_id') === link.session_id;
    if (!owner) return this.#foreign(res, link, url);
    if (link.browser_confirmed_at === null) {
      let session: Stripe.Checkout.Session;
      try {
        session = await this.#o.stripe.checkout.sessions.retrieve(String(link.session_id));
      } catch (err) {
        const mapped = mapStripeError(err);
        return sendPage(
          res,
          503,
          'Link a card',
          `<h1 id="unconfirmed">Stripe could not be asked</h1><p>Reload this page in a moment to finish linking.</p><p class="muted">${escapeHtml(mapped.message)}</p>`,
        );
      }
      // Stripe sends the browser here only after the card is saved: anything earlier is forged.
      if (session.status !== 'complete') {
        await this.#cancel(link);
        return canceledPage(res);
      }
      try {
        await this.complete(session);
      } catch (err) {
        mapStripeError(err); // a Stripe outage: the webhook will still save the card
      }
      await this.#o.db.run(
        `UPDATE links SET browser_confirmed_at = ?
         WHERE id = ? AND browser_confirmed_at IS NULL AND status != 'canceled'`,
        [this.#nowS(), id],
      );
    }
    const now = await this.#o.db.get('SELECT status FROM links WHERE id = ?', [id]);
    if (now?.status === 'canceled') return canceledPage(res);
    const card = await this.#cardOf(id);
    if (!card) {
      return sendPage(
        res,
        202,
        'Link a card',
        '<h1 id="pending">Almost done</h1><p>Stripe is still confirming your card. Paybound will pick it up in a moment; you can close this tab.</p>',
      );
    }
    sendPage(
      res,
      200,
      'Card linked',
      `<h1 id="linked">Card linked</h1><p>${escapeHtml(card.brand)} ending in ${escapeHtml(card.last4)} is ready in Paybound. You can close this tab.</p>`,
    );
  }

  /**
   * A return without the cookie or the key: not the browser that started the link, or not sent by
   * Stripe. Before the owner's browser came back, that ends the link. After it, only a return that
   * carries the key (so Stripe sent a second browser back: the card was saved there) while the link
   * is young does, and the device it made loses its token too; stray visits change nothing.
   */
  async #foreign(res: ServerResponse, link: Row, url: URL): Promise<void> {
    const confirmed = link.browser_confirmed_at !== null;
    const young = Number(link.expires_at) > this.#nowS();
    const ends = !confirmed || (this.#keyOk(url, String(link.id)) && young);
    if (ends) await this.#cancel(link);
    sendPage(
      res,
      403,
      'Link a card',
      `<h1 id="other-browser">This card link was started somewhere else</h1><p>${ends ? 'Nothing was linked, and that link was cancelled.' : 'Nothing was linked in this browser.'} If you want Paybound to use a card, start from Paybound's settings.</p>`,
    );
  }

  /** Ends a link for good: its session, its card (detached at Stripe) and any device it made. */
  async #cancel(link: Row): Promise<void> {
    const id = String(link.id);
    await this.#o.db.transaction(async (tx) => {
      await tx.run("UPDATE links SET status = 'canceled' WHERE id = ?", [id]);
      if (link.device_id !== null) {
        await tx.run('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
          this.#nowS(),
          String(link.device_id),
        ]);
      }
    });
    await this.#o.stripe.checkout.sessions.expire(String(link.session_id)).catch(() => undefined);
    const fresh = await this.#o.db.get('SELECT payment_method_id FROM links WHERE id = ?', [id]);
    if (typeof fresh?.payment_method_id === 'string') await this.#detach(fresh.payment_method_id);
  }

  async #detach(paymentMethodId: string): Promise<void> {
    await this.#o.stripe.paymentMethods.detach(paymentMethodId).catch(() => undefined);
  }

  /** GET /link/cancel?link=… (Stripe's cancel_url). */
  async cancel(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const link = await this.#linkFromQuery(url);
    if (link && link.status === 'open' && this.#sameBrowser(req, link)) {
      await this.#o.db.run("UPDATE links SET status = 'canceled' WHERE id = ? AND status = 'open'", [
        String(link.id),
      ]);
      await this.#o.stripe.checkout.sessions.expire(String(link.session_id)).catch(() => undefined);
    }
    canceledPage(res, 200);
  }

  /**
   * Saves the card of a completed setup-mode session (from the webhook or the return page): the
   * Customer is created here, with the card attached, so an abandoned link costs Stripe nothing more.
   */
  async complete(session: Stripe.Checkout.Session): Promise<void> {
    if (session.status !== 'complete' || session.mode !== 'setup') return;
    // The webhook and the return page may arrive at two instances at once: one saves the card.
    await this.#o.db.exclusive(`link session ${session.id}`, () => this.#complete(session));
  }

  async #complete(session: Stripe.Checkout.Session): Promise<void> {
    const link = await this.#o.db.get("SELECT * FROM links WHERE session_id = ? AND status = 'open'", [
      session.id,
    ]);
    if (!link) return;
    const id = String(link.id);
    const setupIntent =
      typeof session.setup_intent === 'string'
        ? await this.#o.stripe.setupIntents.retrieve(session.setup_intent, { expand: ['payment_method'] })
        : session.setup_intent;
    if (setupIntent?.status !== 'succeeded' || !setupIntent.payment_method) return;
    const pm =
      typeof setupIntent.payment_method === 'string'
        ? await this.#o.stripe.paymentMethods.retrieve(setupIntent.payment_method)
        : setupIntent.payment_method;
    if (!pm.card) return;
    // The webhook and the return page may both get here: one idempotency key, one Customer.
    const attachedTo = typeof pm.customer === 'string' ? pm.customer : (pm.customer?.id ?? null);
    const testClock =
      !attachedTo && this.#o.testClocks
        ? (
            await this.#o.stripe.testHelpers.testClocks.create(
              { frozen_time: this.#nowS(), name: `Paybound wallet ${id.slice(0, 8)}` },
              { idempotencyKey: `${id}:test-clock` },
            )
          ).id
        : undefined;
    const customerId =
      attachedTo ??
      (
        await this.#o.stripe.customers.create(
          {
            description: 'Paybound wallet',
            payment_method: pm.id,
            metadata: { paybound_link: id },
            ...(testClock ? { test_clock: testClock } : {}),
          },
          { idempotencyKey: `${id}:customer` },
        )
      ).id;
    // The card pays later without the cardholder present; make it the customer's default too.
    await this.#o.stripe.customers.update(customerId, {
      invoice_settings: { default_payment_method: pm.id },
    });
    const changed = await this.#o.db.run(
      `UPDATE links SET status = 'completed', customer_id = ?, payment_method_id = ?, completed_at = ?,
         card_brand = ?, card_last4 = ?, card_exp_month = ?, card_exp_year = ?
       WHERE id = ? AND status = 'open'`,
      [
        customerId,
        pm.id,
        this.#nowS(),
        pm.card.brand,
        pm.card.last4,
        pm.card.exp_month,
        pm.card.exp_year,
        id,
      ],
    );
    // Cancelled while Stripe was being asked: the card must not stay usable.
    if (
      changed === 0 &&
      (await this.#o.db.get('SELECT status FROM links WHERE id = ?', [id]))?.status === 'canceled'
    ) {
      await this.#detach(pm.id);
    }
  }

  async sessionExpired(sessionId: string): Promise<void> {
    await this.#o.db.run("UPDATE links SET status = 'canceled' WHERE session_id = ? AND status = 'open'", [
      sessionId,
    ]);
  }

  async #cardOf(linkId: string): Promise<LinkedCard | null> {
    const row = await this.#o.db.get("SELECT * FROM links WHERE id = ? AND status = 'completed'", [linkId]);
    return row ? cardFromRow(row) : null;
  }

  /** POST /api/devices/claim {state, secret} */
  async claim(res: ServerResponse, body: Record<string, unknown>, headers: Record<string, string>) {
    const { state, secret } = body;
    if (typeof state !== 'string' || !B64_32.test(state)) {
      return sendError(
        res,
        400,
        'invalid_state',
        'state must be the 43-character base64url value the link was opened with',
        {},
        headers,
      );
    }
    if (typeof secret !== 'string' || !B64_32.test(secret)) {
      return sendError(
        res,
        400,
        'invalid_secret',
        'secret must be the 43-character base64url secret whose SHA-256 the link was opened with (v)',
        {},
        headers,
      );
    }
    const link = await this.#o.db.get('SELECT * FROM links WHERE state_hash = ?', [
      linkKey(state, linkCommitment(secret)),
    ]);
    if (!link)
      return sendError(
        res,
        404,
        'unknown_state',
        'No card link was started with this state and secret.',
        {},
        headers,
      );
    if (link.claimed_at !== null) {
      return sendError(res, 410, 'already_claimed', 'This card link was already claimed.', {}, headers);
    }
    if (link.status === 'canceled') {
      return sendError(res, 410, 'link_canceled', 'The card link was canceled; start again.', {}, headers);
    }
    const completed = link.status === 'completed';
    const confirmed = link.browser_confirmed_at !== null;
    if (!completed || !confirmed) {
      if (Number(link.expires_at) <= this.#nowS()) {
        return sendError(
          res,
          410,
          'link_expired',
          'The card link expired before it was completed; start again.',
          {},
          headers,
        );
      }
      return sendJson(
        res,
        202,
        { status: 'pending', cardSaved: completed, returnedToService: confirmed },
        { ...headers, 'retry-after': '2' },
      );
    }
    const token = newToken('pbd');
    const deviceId = `dev_${newToken('x').slice(2, 24)}`;
    const card = cardFromRow(link);
    const claimed = await this.#o.db.transaction(async (tx) => {
      const changed = await tx.run(
        "UPDATE links SET claimed_at = ?, device_id = ? WHERE id = ? AND claimed_at IS NULL AND status = 'completed'",
        [this.#nowS(), deviceId, String(link.id)],
      );
      if (changed !== 1) return false;
      await tx.run(
        `INSERT INTO devices (id, token_hash, customer_id, payment_method_id, card_brand, card_last4,
           card_exp_month, card_exp_year, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          deviceId,
          sha256Hex(token),
          String(link.customer_id),
          String(link.payment_method_id),
          card.brand,
          card.last4,
          card.exp_month,
          card.exp_year,
          this.#nowS(),
        ],
      );
      return true;
    });
    if (!claimed)
      return sendError(res, 410, 'already_claimed', 'This card link was already claimed.', {}, headers);
    sendJson(res, 200, { deviceToken: token, card }, headers);
  }
}

function canceledPage(res: ServerResponse, status = 410): void {
  sendPage(
    res,
    status,
    'Link a card',
    '<h1 id="canceled">No card was linked</h1><p>You can close this tab.</p>',
  );
}

export function cardFromRow(row: Row): LinkedCard {
  return {
    brand: String(row.card_brand),
    last4: String(row.card_last4),
    exp_month: Number(row.card_exp_month),
    exp_year: Number(row.card_exp_year),
  };
}
