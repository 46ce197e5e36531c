// Linking a card, and handing the extension its device token.
//
//   1. The extension makes `state` (32 random bytes, base64url) and opens GET /link?state=… in a normal
//      tab with chrome.tabs.create. The service refuses a navigation that a web page started
//      (Sec-Fetch-Site cross-site/same-site), creates a Customer and a setup-mode Checkout Session,
//      sets a cookie that binds the flow to this browser, and redirects to the Stripe-hosted page.
//   2. The card is saved when Stripe reports the session complete (webhook checkout.session.completed,
//      or the session read back when the browser returns to /link/done).
//   3. /link/done must see the cookie from step 1: the flow ends in the browser that started it.
//   4. The extension polls POST /api/devices/claim {state}; once steps 2 and 3 are done the first claim
//      gets the device token, and every later one is refused.
// Only hashes of the state, the cookie and the token are stored.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Stripe from 'stripe';
import type { CardDb, Row } from './db';
import { cookies, escapeHtml, sendError, sendJson, sendPage } from './http';
import { mapStripeError, newToken, sha256Hex } from './stripe';

const STATE = /^[A-Za-z0-9_-]{43}$/;
const LINK_ID = /^lnk_[A-Za-z0-9_-]{22}$/;

export interface LinkFlowOptions {
  db: CardDb;
  stripe: Stripe;
  publicUrl: string;
  currency: string;
  /** Lifetime of a link attempt (and its Checkout Session); at least 1800 s, Stripe's minimum. */
  ttlSeconds: number;
  platformName: string;
  now: () => number;
}

export interface LinkedCard {
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
}

export class LinkFlow {
  readonly #o: LinkFlowOptions;

  constructor(options: LinkFlowOptions) {
    this.#o = options;
  }

  #nowS(): number {
    return Math.floor(this.#o.now() / 1000);
  }

  #secure(): boolean {
    return this.#o.publicUrl.startsWith('https:');
  }

  /** GET /link?state= */
  async start(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const state = url.searchParams.get('state') ?? '';
    if (!STATE.test(state)) {
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
    const stateHash = sha256Hex(state);
    if (this.#o.db.get('SELECT id FROM links WHERE state_hash = ?', [stateHash])) {
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
    let customer: Stripe.Customer;
    let session: Stripe.Checkout.Session;
    try {
      customer = await this.#o.stripe.customers.create(
        { description: 'Paybound wallet', metadata: { paybound_link: linkId } },
        { idempotencyKey: `${linkId}:customer` },
      );
      session = await this.#o.stripe.checkout.sessions.create(
        {
          mode: 'setup',
          customer: customer.id,
          currency: this.#o.currency,
          allowed_payment_method_types: ['card'],
          client_reference_id: linkId,
          metadata: { paybound_link: linkId },
          setup_intent_data: { metadata: { paybound_link: linkId } },
          success_url: `${this.#o.publicUrl}/link/done?link=${linkId}&session_id={CHECKOUT_SESSION_ID}`,
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
    this.#o.db.run(
      `INSERT INTO links (id, state_hash, browser_hash, customer_id, session_id, status, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, 'open', ?, ?)`,
      [linkId, stateHash, sha256Hex(browserSecret), customer.id, session.id, now, expiresAt],
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
    // Lax: sent on the top-level redirect back from Stripe, never on a page's subrequests.
    return `pb_${linkId}=${value}; Path=/link; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${this.#secure() ? '; Secure' : ''}`;
  }

  #linkFromQuery(url: URL): Row | undefined {
    const linkId = url.searchParams.get('link') ?? '';
    return LINK_ID.test(linkId) ? this.#o.db.get('SELECT * FROM links WHERE id = ?', [linkId]) : undefined;
  }

  #sameBrowser(req: IncomingMessage, link: Row): boolean {
    const cookie = cookies(req).get(`pb_${String(link.id)}`);
    return cookie !== undefined && sha256Hex(cookie) === link.browser_hash;
  }

  /** GET /link/done?link=…&session_id=… (Stripe's success_url). */
  async done(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const link = this.#linkFromQuery(url);
    if (!link || url.searchParams.get('session_id') !== link.session_id) {
      return sendPage(res, 404, 'Link a card', '<h1>Unknown card link</h1>');
    }
    if (!this.#sameBrowser(req, link)) {
      return sendPage(
        res,
        403,
        'Link a card',
        '<h1 id="other-browser">This card link was started somewhere else</h1><p>Nothing was linked in this browser. If you want Paybound to use a card, start from Paybound\'s settings.</p>',
      );
    }
    this.#o.db.run(
      'UPDATE links SET browser_confirmed_at = ? WHERE id = ? AND browser_confirmed_at IS NULL',
      [this.#nowS(), String(link.id)],
    );
    let card: LinkedCard | null = this.#cardOf(String(link.id));
    if (!card) {
      try {
        const session = await this.#o.stripe.checkout.sessions.retrieve(String(link.session_id));
        await this.complete(session);
        card = this.#cardOf(String(link.id));
      } catch (err) {
        mapStripeError(err); // a Stripe outage: the webhook will still complete the link
      }
    }
    const clear = this.#cookie(String(link.id), '', 0);
    if (!card) {
      return sendPage(
        res,
        202,
        'Link a card',
        '<h1 id="pending">Almost done</h1><p>Stripe is still confirming your card. Paybound will pick it up in a moment; you can close this tab.</p>',
        { 'set-cookie': clear },
      );
    }
    sendPage(
      res,
      200,
      'Card linked',
      `<h1 id="linked">Card linked</h1><p>${escapeHtml(card.brand)} ending in ${escapeHtml(card.last4)} is ready in Paybound. You can close this tab.</p>`,
      { 'set-cookie': clear },
    );
  }

  /** GET /link/cancel?link=… (Stripe's cancel_url). */
  async cancel(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const link = this.#linkFromQuery(url);
    if (link && link.status === 'open' && this.#sameBrowser(req, link)) {
      this.#o.db.run("UPDATE links SET status = 'canceled' WHERE id = ? AND status = 'open'", [
        String(link.id),
      ]);
      await this.#o.stripe.checkout.sessions.expire(String(link.session_id)).catch(() => undefined);
    }
    sendPage(
      res,
      200,
      'Link a card',
      '<h1 id="canceled">No card was linked</h1><p>You can close this tab.</p>',
    );
  }

  /** Saves the card of a completed setup-mode session (from the webhook or the return page). */
  async complete(session: Stripe.Checkout.Session): Promise<void> {
    if (session.status !== 'complete' || session.mode !== 'setup') return;
    const link = this.#o.db.get("SELECT * FROM links WHERE session_id = ? AND status = 'open'", [session.id]);
    if (!link) return;
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
    // The card pays later without the cardholder present; make it the customer's default too.
    await this.#o.stripe.customers.update(String(link.customer_id), {
      invoice_settings: { default_payment_method: pm.id },
    });
    this.#o.db.run(
      `UPDATE links SET status = 'completed', payment_method_id = ?, completed_at = ?,
         card_brand = ?, card_last4 = ?, card_exp_month = ?, card_exp_year = ?
       WHERE id = ? AND status = 'open'`,
      [
        pm.id,
        this.#nowS(),
        pm.card.brand,
        pm.card.last4,
        pm.card.exp_month,
        pm.card.exp_year,
        String(link.id),
      ],
    );
  }

  sessionExpired(sessionId: string): void {
    this.#o.db.run("UPDATE links SET status = 'canceled' WHERE session_id = ? AND status = 'open'", [
      sessionId,
    ]);
  }

  #cardOf(linkId: string): LinkedCard | null {
    const row = this.#o.db.get("SELECT * FROM links WHERE id = ? AND status = 'completed'", [linkId]);
    return row ? cardFromRow(row) : null;
  }

  /** POST /api/devices/claim {state} */
  claim(res: ServerResponse, body: Record<string, unknown>, headers: Record<string, string>) {
    const state = body.state;
    if (typeof state !== 'string' || !STATE.test(state)) {
      return sendError(
        res,
        400,
        'invalid_state',
        'state must be the 43-character base64url secret the link was opened with',
        {},
        headers,
      );
    }
    const link = this.#o.db.get('SELECT * FROM links WHERE state_hash = ?', [sha256Hex(state)]);
    if (!link)
      return sendError(res, 404, 'unknown_state', 'No card link was started with this state.', {}, headers);
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
    const claimed = this.#o.db.transaction(() => {
      const changed = this.#o.db.run(
        'UPDATE links SET claimed_at = ?, device_id = ? WHERE id = ? AND claimed_at IS NULL',
        [this.#nowS(), deviceId, String(link.id)],
      );
      if (changed !== 1) return false;
      this.#o.db.run(
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

export function cardFromRow(row: Row): LinkedCard {
  return {
    brand: String(row.card_brand),
    last4: String(row.card_last4),
    exp_month: Number(row.card_exp_month),
    exp_year: Number(row.card_exp_year),
  };
}
