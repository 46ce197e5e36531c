/**
 * The card service: a Stripe Connect platform that lets the Paybound extension pay with a card it
 * never sees. AI apps are its connected accounts. See README.md beside this file for the API.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ed25519 } from '@noble/curves/ed25519.js';
import type Stripe from 'stripe';
import { closer, listen } from '../lib/listen';
import { DatabaseUnavailable } from '../lib/sql';
import { CardDb, type Row } from './db';
import {
  BodyError,
  bearer,
  readJsonObject,
  readRaw,
  requestUrl,
  secretEquals,
  sendError,
  sendJson,
  wellFormed,
} from './http';
import { type ReceiptKeyConfig, receiptKeysFrom } from './keys';
import { cardFromRow, DEFAULT_LINK_RATE_LIMIT, LinkFlow, type LinkRateLimit } from './links';
import { CHALLENGE_ID, type Device, Payments, view } from './payments';
import { keyIdOf, receiptSigner } from './receipt';
import {
  createStripeClient,
  mapStripeError,
  newToken,
  type ServiceError,
  type StripeConnection,
  sha256Hex,
} from './stripe';
import { invoiceSubscription, SUBSCRIPTION_ID, Subscriptions } from './subscriptions';

const DB_RETRY_AFTER_SECONDS = 2;

export interface CardServiceOptions {
  /** 0 or omitted: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where Stripe's API is (the real one: api.stripe.com, 443, https). */
  stripe: StripeConnection;
  /**
   * PostgreSQL (`postgres://user:pass@host/db`): several instances may share it. Takes precedence
   * over `dbPath`.
   */
  databaseUrl?: string;
  /**
   * The embedded database's directory (PGlite, created when missing; one process at a time).
   * Neither this nor `databaseUrl`: in memory, gone when the process ends.
   */
  dbPath?: string;
  /** This service's base URL as browsers and Stripe reach it; default: the URL it listens on. */
  publicUrl?: string;
  /** The signing secret of the Stripe webhook endpoint pointing at POST /webhooks/stripe. */
  webhookSecret: string;
  /**
   * Receipt signing keys (keys.ts): the first signs, all are published. Required with a database
   * that outlives the process (`dbPath`, `databaseUrl`) — every instance must sign with the same
   * keys; in memory only, a key is generated for this run when omitted.
   */
  receiptKeys?: readonly ReceiptKeyConfig[];
  /** Receipt lifetime; default 300 s (the extension presents it at once). */
  receiptTtlSeconds?: number;
  /** Bearer token for POST /api/admin/merchants; without it that endpoint is off. */
  adminToken?: string;
  /** Currencies accepted; default ['usd']. The first is the one cards are set up in. */
  currencies?: readonly string[];
  /** Largest single authorization, in minor units; default 50 000 (500.00). */
  maxPaymentAmount?: number;
  /** How long a link attempt stays open; default 1800 s (Stripe's minimum session lifetime). */
  linkTtlSeconds?: number;
  /**
   * GET /link starts per client address (each costs a Checkout Session at Stripe); default
   * {burst: 20, perMinute: 20}; false: none.
   */
  linkRateLimit?: LinkRateLimit | false;
  /**
   * Extension origins (`chrome-extension://<id>`) that get CORS on the device API; default none. Web
   * pages never do. (An extension with host permissions for this service needs no CORS grant.)
   */
  extensionOrigins?: readonly string[];
  /** How long an unsettled hold stays the app's to settle after its window (or acceptance); default 3600 s. */
  settleGraceSeconds?: number;
  /** How long a raised device limit waits before it applies; default 86 400 s. */
  limitRaiseDelaySeconds?: number;
  platformName?: string;
  /**
   * Test mode only: each linked card's Stripe customer is created on a test clock of its own
   * (frozen at the moment of linking), so that tests and the local stack can move a device's
   * subscriptions through their periods (POST /v1/test_helpers/test_clocks/:id/advance).
   */
  testClocks?: boolean;
  now?: () => number;
}

export interface CardService {
  url: string;
  /** The signing key's verification key (32 bytes, hex) and its key id. */
  receiptPublicKey: string;
  receiptKeyId: string;
  /** Every published receipt key (the signing key first). */
  receiptKeys: { kid: string; publicKey: string }[];
  /** Registers an app: a Stripe connected account and an API key for the merchant endpoints. */
  createMerchant(input: MerchantInput): Promise<{ accountId: string; apiKey: string }>;
  close(): Promise<void>;
}

export interface MerchantInput {
  name: string;
  email?: string;
  country?: string;
  url?: string;
  /** The app's refund policy: the payer may refund a payment on its own this long after paying; default 0. */
  payerRefundSeconds?: number;
}

export async function startCardService(opts: CardServiceOptions): Promise<CardService> {
  const now = opts.now ?? Date.now;
  const currencies = opts.currencies ?? ['usd'];
  if (!opts.receiptKeys && (opts.dbPath || opts.databaseUrl)) {
    // A database outlives the process; receipts it vouches for must verify after a restart, and
    // whichever instance signed them.
    throw new RangeError(
      'receiptKeys are required with a dbPath or databaseUrl (PAYBOUND_CARD_RECEIPT_KEYS)',
    );
  }
  const signer = receiptSigner(
    opts.receiptKeys
      ? receiptKeysFrom(opts.receiptKeys)
      : [
          (() => {
            const secretKey = ed25519.utils.randomSecretKey();
            return { kid: keyIdOf(ed25519.getPublicKey(secretKey)), secretKey };
          })(),
        ],
  );
  const extensionOrigins = new Set(opts.extensionOrigins ?? []);
  for (const origin of extensionOrigins) {
    if (!/^(chrome|moz|safari-web)-extension:\/\/[A-Za-z0-9._-]+$/.test(origin)) {
      throw new RangeError(`extensionOrigins: ${origin} is not a browser-extension origin`);
    }
  }
  const db = await CardDb.open({ databaseUrl: opts.databaseUrl, dataDir: opts.dbPath });
  let linkKey: string;
  try {
    linkKey = await LinkFlow.completionKey(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  const stripe = createStripeClient(opts.stripe);

  let publicUrl = opts.publicUrl?.replace(/\/+$/, '') ?? '';
  let links: LinkFlow;
  let payments: Payments;
  let subscriptions: Subscriptions;

  function corsHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    // Only the configured extensions: web pages and other extensions can neither read a claim nor
    // use a device token from a browser.
    if (!origin || !extensionOrigins.has(origin)) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
      'access-control-allow-headers': 'Authorization, Content-Type, Idempotency-Key',
      'access-control-max-age': '600',
      vary: 'Origin',
    };
  }

  async function device(req: IncomingMessage): Promise<(Device & { row: Row }) | null> {
    const token = bearer(req);
    if (!token) return null;
    const row = await db.get('SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL', [
      sha256Hex(token),
    ]);
    if (!row) return null;
    return {
      id: String(row.id),
      customerId: String(row.customer_id),
      paymentMethodId: String(row.payment_method_id),
      row,
    };
  }

  async function merchant(req: IncomingMessage): Promise<string | null> {
    const token = bearer(req);
    if (!token) return null;
    const row = await db.get('SELECT account_id FROM merchants WHERE api_key_hash = ?', [sha256Hex(token)]);
    return row ? String(row.account_id) : null;
  }

  function fail(res: ServerResponse, error: ServiceError, headers: Record<string, string> = {}): void {
    sendError(res, error.status, error.code, error.message, error.details, headers);
  }

  async function createMerchant(input: MerchantInput): Promise<{ accountId: string; apiKey: string }> {
    const name = input.name.trim();
    if (name === '' || name.length > 100 || !wellFormed(name)) {
      throw new RangeError('merchant name must be 1–100 characters of well-formed text');
    }
    const payerRefundSeconds = input.payerRefundSeconds ?? 0;
    if (!Number.isSafeInteger(payerRefundSeconds) || payerRefundSeconds < 0) {
      throw new RangeError('payerRefundSeconds must be a whole number of seconds ≥ 0');
    }
    for (const [field, value] of [
      ['email', input.email],
      ['country', input.country],
      ['url', input.url],
    ] as const) {
      if (value !== undefined && (value.length > 500 || !wellFormed(value))) {
        throw new RangeError(`merchant ${field} must be at most 500 characters of well-formed text`);
      }
    }
    const account = await stripe.accounts.create({
      type: 'express',
      country: input.country ?? 'US',
      email: input.email,
      business_profile: { name, url: input.url },
      capabilities: { card_payments: { requested: true }, transfers: { requested: true } },
      metadata: { paybound_merchant: name },
    });
    const apiKey = newToken('pbm');
    await db.run(
      'INSERT INTO merchants (account_id, name, api_key_hash, created_at, payer_refund_seconds) VALUES (?, ?, ?, ?, ?)',
      [account.id, name, sha256Hex(apiKey), Math.floor(now() / 1000), payerRefundSeconds],
    );
    return { accountId: account.id, apiKey };
  }

  async function webhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readRaw(req, 512 * 1024);
    const signature = req.headers['stripe-signature'];
    let event: Stripe.Event;
    try {
      if (typeof signature !== 'string') throw new Error('no Stripe-Signature header');
      event = stripe.webhooks.constructEvent(raw, signature, opts.webhookSecret);
    } catch (err) {
      return sendError(res, 400, 'bad_signature', `webhook rejected: ${(err as Error).message}`);
    }
    if (await db.get('SELECT id FROM webhook_events WHERE id = ?', [event.id])) {
      return sendJson(res, 200, { received: true, duplicate: true });
    }
    switch (event.type) {
      case 'checkout.session.completed':
        await links.complete(event.data.object);
        break;
      case 'checkout.session.expired':
        await links.sessionExpired(event.data.object.id);
        break;
      case 'charge.dispute.created':
      case 'charge.dispute.updated':
      case 'charge.dispute.closed':
        await payments.disputeEvent(event.data.object);
        break;
      case 'payment_intent.succeeded':
      case 'payment_intent.canceled':
        await payments.paymentIntentEvent(event.data.object);
        break;
      case 'charge.refunded':
        await payments.chargeEvent(event.data.object);
        break;
      case 'invoice.paid':
      case 'invoice.payment_failed':
        await subscriptions.stripeEvent(invoiceSubscription(event.data.object));
        break;
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
        await subscriptions.stripeEvent(event.data.object.id);
        break;
      default:
        break;
    }
    // Recorded only once handled: a failure above answers 500 and Stripe sends the event again.
    await db.run(
      'INSERT INTO webhook_events (id, type, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      [event.id, event.type, Math.floor(now() / 1000)],
    );
    sendJson(res, 200, { received: true });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req, publicUrl || 'http://card.invalid');
    if (!url) return sendError(res, 400, 'bad_request', 'the request target is not a valid URL');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/health') return sendJson(res, 200, { ok: true });
    if (path === '/api/receipt-keys' && method === 'GET') {
      return sendJson(res, 200, signer.jwks(), {
        'access-control-allow-origin': '*',
        'cache-control': 'max-age=300',
      });
    }
    if (path === '/link' && method === 'GET') return links.start(req, res, url);
    if (path === '/link/done' && method === 'GET') return links.done(req, res, url);
    if (path === '/link/cancel' && method === 'GET') return links.cancel(req, res, url);
    if (path === '/webhooks/stripe' && method === 'POST') return webhook(req, res);

    if (path.startsWith('/api/merchant/')) return merchantApi(req, res, path, method);
    if (path === '/api/admin/merchants' && method === 'POST') {
      if (!opts.adminToken || !secretEquals(bearer(req), opts.adminToken)) {
        return sendError(res, 401, 'unauthorized', 'admin token required');
      }
      const body = await readJsonObject(req);
      if (typeof body.name !== 'string') return sendError(res, 400, 'invalid_name', 'name is required');
      try {
        const created = await createMerchant({
          name: body.name,
          email: typeof body.email === 'string' ? body.email : undefined,
          country: typeof body.country === 'string' ? body.country : undefined,
          url: typeof body.url === 'string' ? body.url : undefined,
          payerRefundSeconds:
            typeof body.payerRefundSeconds === 'number' ? body.payerRefundSeconds : undefined,
        });
        return sendJson(res, 201, created);
      } catch (err) {
        if (err instanceof RangeError) return sendError(res, 400, 'invalid_name', err.message);
        return fail(res, mapStripeError(err));
      }
    }
    if (path.startsWith('/api/')) return deviceApi(req, res, path, method);
    sendError(res, 404, 'not_found', `no route for ${method} ${path}`);
  }

  async function deviceApi(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
  ): Promise<void> {
    const cors = corsHeaders(req);
    if (method === 'OPTIONS') {
      res.writeHead(204, cors).end();
      return;
    }
    if (path === '/api/devices/claim' && method === 'POST') {
      return links.claim(res, await readJsonObject(req), cors);
    }
    const dev = await device(req);
    if (!dev) {
      return sendError(
        res,
        401,
        'unauthorized',
        'a valid device token is required',
        {},
        {
          ...cors,
          'www-authenticate': 'Bearer realm="paybound-card"',
        },
      );
    }
    if (path === '/api/device') {
      if (method === 'GET') {
        return sendJson(
          res,
          200,
          {
            card: cardFromRow(dev.row),
            linkedAt: new Date(Number(dev.row.created_at) * 1000).toISOString(),
            limits: await payments.limits(dev.id),
          },
          cors,
        );
      }
      if (method === 'DELETE') {
        await db.run('UPDATE devices SET revoked_at = ? WHERE id = ?', [Math.floor(now() / 1000), dev.id]);
        // Plans on this card stop renewing: the user took the card away from every app.
        const plansLeft = await subscriptions.cancelAllOf(dev.id).catch(() => -1);
        // The token is dead either way; detaching the card at Stripe is tidying up.
        const detached = await stripe.paymentMethods
          .detach(dev.paymentMethodId)
          .then(() => true)
          .catch(() => false);
        return sendJson(
          res,
          200,
          { unlinked: true, cardDetached: detached, plansCanceled: plansLeft === 0 },
          cors,
        );
      }
    }
    if (path === '/api/device/limits' && method === 'POST') {
      const out = await payments.setLimits(dev.id, await readJsonObject(req));
      return out.ok ? sendJson(res, out.status, out.body, cors) : fail(res, out.error, cors);
    }
    if (path === '/api/payments') {
      if (method === 'GET') return sendJson(res, 200, { payments: await payments.list(dev.id) }, cors);
      if (method === 'POST') {
        const out = await payments.pay(dev, await readJsonObject(req));
        return out.ok ? sendJson(res, out.status, out.body, cors) : fail(res, out.error, cors);
      }
    }
    if (path === '/api/subscriptions') {
      if (method === 'GET') {
        return sendJson(res, 200, { subscriptions: await subscriptions.list(dev.id) }, cors);
      }
      if (method === 'POST') {
        const out = await subscriptions.create(dev, await readJsonObject(req));
        return out.ok ? sendJson(res, out.status, out.body, cors) : fail(res, out.error, cors);
      }
    }
    const subCancel = /^\/api\/subscriptions\/([^/]+)\/cancel$/.exec(path);
    if (subCancel && method === 'POST') {
      const id = subCancel[1]!;
      const row = SUBSCRIPTION_ID.test(id) ? await subscriptions.find(id) : undefined;
      // Another device's subscription is not there at all for this one.
      if (!row || row.device_id !== dev.id) {
        return sendError(res, 404, 'not_found', 'no such subscription', {}, cors);
      }
      const out = await subscriptions.cancel(row);
      return out.ok ? sendJson(res, out.status, out.body, cors) : fail(res, out.error, cors);
    }
    if (path === '/api/disputes' && method === 'GET') {
      return sendJson(res, 200, { disputes: await payments.disputes(dev.id) }, cors);
    }
    const action = /^\/api\/payments\/(pi_[A-Za-z0-9]+)\/(capture|cancel|refund)$/.exec(path);
    if (action && method === 'POST') {
      const row = await payments.find(action[1]!);
      if (!row || row.device_id !== dev.id)
        return sendError(res, 404, 'not_found', 'no such payment', {}, cors);
      const body = await readJsonObject(req);
      const key = req.headers['idempotency-key'];
      const out =
        action[2] === 'capture'
          ? await payments.capture(row, body.amount)
          : action[2] === 'cancel'
            ? await payments.cancel(row)
            : await payments.refund(row, body, typeof key === 'string' ? key : undefined);
      return out.ok ? sendJson(res, out.status, out.body, cors) : fail(res, out.error, cors);
    }
    const one = /^\/api\/payments\/(pi_[A-Za-z0-9]+)$/.exec(path);
    if (one && method === 'GET') {
      const row = await payments.find(one[1]!);
      if (!row || row.device_id !== dev.id)
        return sendError(res, 404, 'not_found', 'no such payment', {}, cors);
      return sendJson(res, 200, { payment: view(row) }, cors);
    }
    sendError(res, 404, 'not_found', `no route for ${method} ${path}`, {}, cors);
  }

  async function merchantApi(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
  ): Promise<void> {
    const accountId = await merchant(req);
    if (!accountId) return sendError(res, 401, 'unauthorized', 'a valid merchant API key is required');
    const lookup = async (body: Record<string, unknown>): Promise<Row | undefined> => {
      const row =
        typeof body.paymentIntent === 'string'
          ? await payments.find(body.paymentIntent)
          : typeof body.challengeId === 'string' && CHALLENGE_ID.test(body.challengeId)
            ? await payments.findByChallenge(body.challengeId)
            : undefined;
      // An app sees only payments made to its own account.
      return row && row.destination === accountId ? row : undefined;
    };
    const sub = /^\/api\/merchant\/subscriptions\/([^/]+)(\/usage|\/cancel)?$/.exec(path);
    if (sub) {
      const id = sub[1]!;
      const row = SUBSCRIPTION_ID.test(id) ? await subscriptions.find(id) : undefined;
      // An app sees only subscriptions that pay its own account.
      if (!row || row.destination !== accountId) {
        return sendError(res, 404, 'not_found', 'no such subscription for this account');
      }
      if (!sub[2] && method === 'GET') {
        return sendJson(res, 200, { subscription: await subscriptions.view(row) });
      }
      if (sub[2] && method === 'POST') {
        const out =
          sub[2] === '/usage'
            ? await subscriptions.usage(row, await readJsonObject(req))
            : await subscriptions.cancel(row);
        return out.ok ? sendJson(res, out.status, out.body) : fail(res, out.error);
      }
      return sendError(res, 404, 'not_found', `no route for ${method} ${path}`);
    }
    const status = /^\/api\/merchant\/payments\/([A-Za-z0-9_-]{8,200})$/.exec(path);
    if (status && method === 'GET') {
      const row = await lookup({ challengeId: status[1] });
      return row
        ? sendJson(res, 200, { payment: view(row) })
        : sendError(res, 404, 'not_found', 'no such payment');
    }
    if (
      method !== 'POST' ||
      ![
        '/api/merchant/capture',
        '/api/merchant/cancel',
        '/api/merchant/report',
        '/api/merchant/accept',
        '/api/merchant/refund',
      ].includes(path)
    ) {
      return sendError(res, 404, 'not_found', `no route for ${method} ${path}`);
    }
    const body = await readJsonObject(req);
    const row = await lookup(body);
    if (!row)
      return sendError(
        res,
        404,
        'not_found',
        'no such payment for this account (send challengeId or paymentIntent)',
      );
    if (path === '/api/merchant/accept') {
      const accepted = await payments.accept(row, body.reviewWindowSeconds ?? null);
      return accepted.ok ? sendJson(res, accepted.status, accepted.body) : fail(res, accepted.error);
    }
    if (path === '/api/merchant/refund') {
      const key = req.headers['idempotency-key'];
      const out = await payments.refund(row, body, typeof key === 'string' ? key : undefined, 'app');
      return out.ok ? sendJson(res, out.status, out.body) : fail(res, out.error);
    }
    if (path !== '/api/merchant/cancel' && body.amount === undefined) {
      return sendError(res, 400, 'invalid_amount', 'amount (the actual amount, ≤ authorized) is required');
    }
    if (path === '/api/merchant/report') {
      const reported = await payments.report(row, body.amount);
      return reported.ok ? sendJson(res, reported.status, reported.body) : fail(res, reported.error);
    }
    const out =
      path === '/api/merchant/capture'
        ? await payments.capture(row, body.amount, 'app')
        : await payments.cancel(row, 'app');
    return out.ok ? sendJson(res, out.status, out.body) : fail(res, out.error);
  }

  // Requests being handled: close() lets them finish their writes before the database goes.
  const inFlight = new Set<Promise<unknown>>();
  const server = createServer((req, res) => {
    const handled = handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof BodyError) return sendError(res, err.status, 'bad_request', err.message);
      if (err instanceof DatabaseUnavailable) {
        // Nothing was committed for this request (an answer is sent only after its writes):
        // the client sends it again, with the same challenge id or idempotency key.
        return sendError(
          res,
          503,
          'database_unavailable',
          'The card service cannot reach its database right now; try again shortly.',
          { retryAfterSeconds: DB_RETRY_AFTER_SECONDS },
          { 'retry-after': String(DB_RETRY_AFTER_SECONDS) },
        );
      }
      try {
        // A Stripe failure that escaped a handler (e.g. during a webhook): answer it clearly.
        return fail(res, mapStripeError(err));
      } catch {
        console.error('[card service] request failed:', err);
        sendError(res, 500, 'internal_error', 'internal error');
      }
    });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  let url: string;
  try {
    url = await listen(server, opts.port, opts.host);
  } catch (err) {
    await db.close(); // gives the database lock back
    throw err;
  }
  publicUrl ||= url;
  links = new LinkFlow(
    {
      db,
      stripe,
      publicUrl,
      currency: currencies[0] ?? 'usd',
      ttlSeconds: Math.max(opts.linkTtlSeconds ?? 1800, 1800),
      platformName: opts.platformName ?? 'Paybound',
      rateLimit: opts.linkRateLimit ?? DEFAULT_LINK_RATE_LIMIT,
      testClocks: opts.testClocks ?? false,
      now,
    },
    linkKey,
  );
  payments = new Payments({
    db,
    stripe,
    signer,
    issuer: publicUrl,
    receiptTtlSeconds: opts.receiptTtlSeconds ?? 300,
    maxAmount: opts.maxPaymentAmount ?? 50_000,
    currencies,
    settleGraceSeconds: opts.settleGraceSeconds ?? 3600,
    limitRaiseDelaySeconds: opts.limitRaiseDelaySeconds ?? 86_400,
    now,
  });
  subscriptions = new Subscriptions({
    db,
    stripe,
    signer,
    issuer: publicUrl,
    receiptTtlSeconds: opts.receiptTtlSeconds ?? 300,
    maxAmount: opts.maxPaymentAmount ?? 50_000,
    currencies,
    limits: (deviceId) => payments.limits(deviceId),
    now,
  });
  const closeServer = closer(server);
  let closing: Promise<void> | undefined;
  return {
    url,
    receiptPublicKey: Buffer.from(signer.publicKey).toString('hex'),
    receiptKeyId: signer.keyId,
    receiptKeys: signer.keys.map((k) => ({
      kid: k.kid,
      publicKey: Buffer.from(k.publicKey).toString('hex'),
    })),
    createMerchant,
    close: () => {
      closing ??= closeServer()
        .then(() => Promise.allSettled([...inFlight]))
        .then(() => db.close());
      return closing;
    },
  };
}
