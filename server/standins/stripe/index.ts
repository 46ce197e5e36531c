/**
 * A stateful stand-in for the parts of Stripe's v1 API that the card service and the merchant kit
 * use, spoken the way Stripe speaks it so that the official `stripe` SDK works against it unchanged:
 *
 *   new Stripe(secretKey, { host, port, protocol: 'http', apiVersion })
 *
 * - bodies are form-encoded with bracketed keys; responses are Stripe's JSON objects;
 * - `Authorization: Bearer <secret key>`; `Stripe-Version` is read and echoed;
 * - `Idempotency-Key`: the same key with the same parameters replays the first response
 *   (`Idempotent-Replayed: true`), with other parameters it is Stripe's `idempotency_error`;
 * - errors are `{error: {type, code, decline_code, message, param}}` with Stripe's status codes;
 * - events are kept (`/v1/events`) and delivered to webhook endpoints, signed like Stripe's.
 *
 * Objects: accounts (Connect), customers, payment methods (and `pm_card_*` shortcuts), setup intents,
 * Checkout Sessions in setup mode with a hosted page at the session's `url`, payment intents
 * (manual or automatic capture, confirm, capture, cancel), charges, transfers (destination charges),
 * refunds (with `reverse_transfer`), disputes (the 0259 test card), events, webhook endpoints; and
 * Billing (billing.ts): products, recurring prices, meters and meter events, subscriptions, their
 * invoices (paid as destination charges), and test clocks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Stripe from 'stripe';
import { closer, listen } from '../../lib/listen';
import { checkoutPage, inactivePage } from './checkout-page';
import { invalidRequest, missingResource, StripeApiError, type StripeErrorBody } from './errors';
import { canonicalParams, FormError, type FormObject, parseForm, str, strList } from './form';
import { type Json, newId, type StripeEvent, StripeState } from './state';
import { type DeliveryRecord, newWebhookSecret, WebhookDeliverer, type WebhookEndpoint } from './webhooks';

export type { StripeState } from './state';
export { signatureHeader } from './webhooks';

export const DEFAULT_SECRET_KEY = 'sk_test_paybound_standin_secret';
/** The API version this stand-in speaks by default: the one the pinned SDK is typed for. */
export const STANDIN_API_VERSION: string = Stripe.API_VERSION;

export interface StripeStandinOptions {
  /** 0 or omitted: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The platform's secret key that requests must present; default DEFAULT_SECRET_KEY. */
  secretKey?: string;
  /** The account's default API version, used when a request sends no Stripe-Version. */
  apiVersion?: string;
  /** Shown on the hosted Checkout page. */
  platformName?: string;
  webhookEndpoints?: readonly WebhookEndpointInput[];
  /** Delays between webhook delivery attempts; default [50, 500, 2000] ms. */
  webhookRetryDelaysMs?: readonly number[];
  now?: () => number;
}

export interface WebhookEndpointInput {
  url: string;
  /** Default: a fresh `whsec_…` secret. */
  secret?: string;
  /** Default ['*']. */
  enabledEvents?: readonly string[];
}

export interface StripeStandin {
  url: string;
  host: string;
  port: number;
  protocol: 'http';
  secretKey: string;
  apiVersion: string;
  state: StripeState;
  /** Every webhook delivery attempted so far, in order. */
  deliveries: readonly DeliveryRecord[];
  addWebhookEndpoint(input: WebhookEndpointInput): { id: string; secret: string };
  /** Resolves once every webhook queued so far has been delivered (or given up on). */
  webhooksIdle(): Promise<void>;
  close(): Promise<void>;
}

type Handler = (params: FormObject, match: RegExpExecArray) => Json;

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  handler: Handler;
}

interface SavedResponse {
  method: string;
  path: string;
  params: string;
  status: number;
  body: string;
}

const ID = '([A-Za-z0-9_]+)';
const MAX_BODY = 256 * 1024;

export async function startStripeStandin(opts: StripeStandinOptions = {}): Promise<StripeStandin> {
  const secretKey = opts.secretKey ?? DEFAULT_SECRET_KEY;
  const apiVersion = opts.apiVersion ?? STANDIN_API_VERSION;
  const platformName = opts.platformName ?? 'Paybound card service';
  const now = opts.now ?? Date.now;
  let baseUrl = '';
  const endpoints = new Map<string, WebhookEndpoint & { secret: string }>();
  const deliverer = new WebhookDeliverer({ retryDelaysMs: opts.webhookRetryDelaysMs, now });
  // Events raised by a request are delivered after its response, as Stripe's are.
  let pendingEvents: StripeEvent[] = [];
  const state = new StripeState({
    baseUrl: () => baseUrl,
    now,
    apiVersion,
    emit: (event) => {
      event.pending_webhooks = [...endpoints.values()].filter((e) => wants(e, event.type)).length;
      pendingEvents.push(event);
    },
  });
  const idempotency = new Map<string, SavedResponse>();

  function wants(endpoint: WebhookEndpoint, type: string): boolean {
    return (
      endpoint.status === 'enabled' &&
      endpoint.enabled_events.some(
        (e) => e === '*' || e === type || (e.endsWith('.*') && type.startsWith(e.slice(0, -1))),
      )
    );
  }

  function flushEvents(): void {
    const events = pendingEvents;
    pendingEvents = [];
    for (const event of events) {
      for (const endpoint of endpoints.values()) {
        if (wants(endpoint, event.type)) deliverer.enqueue(endpoint, event);
      }
    }
  }

  function addEndpoint(
    input: WebhookEndpointInput,
    description: string | null = null,
    meta = {},
  ): WebhookEndpoint & { secret: string } {
    if (!/^https?:\/\/\S+$/.test(input.url))
      throw invalidRequest('Invalid URL: must be an http(s) URL', 'url');
    const endpoint: WebhookEndpoint & { secret: string } = {
      id: newId('we', 24),
      object: 'webhook_endpoint',
      url: input.url,
      enabled_events: [...(input.enabledEvents ?? ['*'])],
      status: 'enabled',
      created: Math.floor(now() / 1000),
      livemode: false,
      metadata: meta,
      api_version: null,
      description,
      secret: input.secret ?? newWebhookSecret(),
    };
    endpoints.set(endpoint.id, endpoint);
    return endpoint;
  }
  for (const input of opts.webhookEndpoints ?? []) addEndpoint(input);

  const publicEndpoint = (e: WebhookEndpoint & { secret: string }): Json => {
    const { secret: _secret, ...rest } = e;
    return rest;
  };

  const routes: Route[] = [];
  const route = (method: Route['method'], path: string, handler: Handler) =>
    routes.push({ method, pattern: new RegExp(`^${path.replaceAll(':id', ID)}$`), handler });
  const id = (m: RegExpExecArray) => m[1]!;

  route('POST', '/v1/accounts', (p) => state.createAccount(p));
  route('GET', '/v1/accounts/:id', (_p, m) => state.account(id(m)));
  route('POST', '/v1/customers', (p) => state.createCustomer(p));
  route('GET', '/v1/customers/:id', (_p, m) => {
    const customer = state.customers.get(id(m));
    if (!customer) throw missingResource('customer', id(m));
    return customer.deleted ? { id: customer.id, object: 'customer', deleted: true } : customer;
  });
  route('POST', '/v1/customers/:id', (p, m) => state.updateCustomer(id(m), p));
  route('DELETE', '/v1/customers/:id', (_p, m) => state.deleteCustomer(id(m)));
  route('GET', '/v1/customers/:id/payment_methods', (p, m) => state.listPaymentMethods(p, id(m)));
  route('GET', '/v1/payment_methods', (p) => state.listPaymentMethods(p));
  route('GET', '/v1/payment_methods/:id', (_p, m) => state.paymentMethod(id(m)));
  route('POST', '/v1/payment_methods/:id/attach', (p, m) => state.attachPaymentMethod(id(m), p));
  route('POST', '/v1/payment_methods/:id/detach', (_p, m) => state.detachPaymentMethod(id(m)));
  route('POST', '/v1/setup_intents', (p) => state.createSetupIntent(p));
  route('GET', '/v1/setup_intents/:id', (_p, m) => state.setupIntent(id(m)));
  route('POST', '/v1/checkout/sessions', (p) => state.createCheckoutSession(p));
  route('GET', '/v1/checkout/sessions/:id', (_p, m) => state.session(id(m)));
  route('POST', '/v1/checkout/sessions/:id/expire', (_p, m) => state.expireSession(id(m)));
  route('POST', '/v1/payment_intents', (p) => state.createPaymentIntent(p));
  route('GET', '/v1/payment_intents', (p) => state.listPaymentIntents(p));
  route('GET', '/v1/payment_intents/:id', (_p, m) => state.paymentIntent(id(m)));
  route('POST', '/v1/payment_intents/:id/confirm', (p, m) => state.confirmPaymentIntent(id(m), p));
  route('POST', '/v1/payment_intents/:id/capture', (p, m) => state.capturePaymentIntent(id(m), p));
  route('POST', '/v1/payment_intents/:id/cancel', (p, m) => state.cancelPaymentIntent(id(m), p));
  route('GET', '/v1/charges/:id', (_p, m) => state.charge(id(m)));
  route('GET', '/v1/transfers/:id', (_p, m) => state.transfer(id(m)));
  route('POST', '/v1/refunds', (p) => state.createRefund(p));
  route('GET', '/v1/refunds', (p) => state.listRefunds(p));
  route('GET', '/v1/refunds/:id', (_p, m) => state.refund(id(m)));
  route('GET', '/v1/disputes', (p) => state.listDisputes(p));
  route('GET', '/v1/disputes/:id', (_p, m) => state.dispute(id(m)));
  route('POST', '/v1/disputes/:id', (p, m) => state.updateDispute(id(m), p));
  route('POST', '/v1/disputes/:id/close', (_p, m) => state.closeDispute(id(m)));
  const billing = state.billing;
  route('POST', '/v1/products', (p) => billing.createProduct(p));
  route('GET', '/v1/products', (p) => billing.listProducts(p));
  route('GET', '/v1/products/:id', (_p, m) => billing.product(id(m)));
  route('POST', '/v1/prices', (p) => billing.createPrice(p));
  route('GET', '/v1/prices', (p) => billing.listPrices(p));
  route('GET', '/v1/prices/:id', (_p, m) => billing.price(id(m)));
  route('POST', '/v1/billing/meters', (p) => billing.createMeter(p));
  route('GET', '/v1/billing/meters', (p) => billing.listMeters(p));
  route('GET', '/v1/billing/meters/:id', (_p, m) => billing.meter(id(m)));
  route('POST', '/v1/billing/meter_events', (p) => billing.createMeterEvent(p));
  route('POST', '/v1/subscriptions', (p) => billing.createSubscription(p));
  route('GET', '/v1/subscriptions', (p) => billing.listSubscriptions(p));
  route('GET', '/v1/subscriptions/:id', (_p, m) => billing.subscription(id(m)));
  route('POST', '/v1/subscriptions/:id', (p, m) => billing.updateSubscription(id(m), p));
  route('DELETE', '/v1/subscriptions/:id', (p, m) => billing.cancelSubscription(id(m), p));
  route('GET', '/v1/invoices', (p) => billing.listInvoices(p));
  route('GET', '/v1/invoices/:id', (_p, m) => billing.invoice(id(m)));
  route('POST', '/v1/invoices/:id/pay', (p, m) => billing.payInvoice(id(m), p));
  route('POST', '/v1/test_helpers/test_clocks', (p) => billing.createTestClock(p));
  route('GET', '/v1/test_helpers/test_clocks', (p) => billing.listTestClocks(p));
  route('GET', '/v1/test_helpers/test_clocks/:id', (_p, m) => billing.testClock(id(m)));
  route('POST', '/v1/test_helpers/test_clocks/:id/advance', (p, m) => billing.advanceTestClock(id(m), p));
  route('GET', '/v1/events', (p) => state.listEvents(p));
  route('GET', '/v1/events/:id', (_p, m) => state.event(id(m)));
  route('POST', '/v1/webhook_endpoints', (p) => {
    const url = str(p, 'url');
    if (!url) throw invalidRequest('Missing required param: url.', 'url');
    const events = strList(p, 'enabled_events');
    if (!events || events.length === 0) {
      throw invalidRequest('Missing required param: enabled_events.', 'enabled_events');
    }
    // Unlike every other read, creation is the one time Stripe shows the signing secret.
    return { ...addEndpoint({ url, enabledEvents: events }, str(p, 'description') ?? null) };
  });
  route('GET', '/v1/webhook_endpoints', (p) =>
    state.list([...endpoints.values()].map(publicEndpoint) as Json[], p, '/v1/webhook_endpoints'),
  );
  route('DELETE', '/v1/webhook_endpoints/:id', (_p, m) => {
    if (!endpoints.delete(id(m))) throw missingResource('webhook_endpoint', id(m));
    return { id: id(m), object: 'webhook_endpoint', deleted: true };
  });

  function sendJson(
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string>,
  ): void {
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-cache, no-store',
      ...headers,
    });
    res.end(body);
  }

  function errorBody(error: StripeErrorBody, requestId: string): string {
    return JSON.stringify(
      { error: { ...error, request_log_url: `${baseUrl}/_standin/logs/${requestId}` } },
      null,
      2,
    );
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > MAX_BODY) throw invalidRequest('Request body too large.');
      chunks.push(buf);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const requestId = newId('req', 14);
    const method = req.method ?? 'GET';
    const headerVersion = req.headers['stripe-version'];
    const version = typeof headerVersion === 'string' && headerVersion !== '' ? headerVersion : apiVersion;
    const baseHeaders: Record<string, string> = { 'request-id': requestId, 'stripe-version': version };
    const fail = (err: StripeApiError, extra: Record<string, string> = {}) =>
      sendJson(res, err.status, errorBody(err.body, requestId), { ...baseHeaders, ...extra });

    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    if (!bearer) {
      return fail(
        new StripeApiError(401, {
          type: 'invalid_request_error',
          message:
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        }),
      );
    }
    if (bearer !== secretKey) {
      return fail(
        new StripeApiError(401, {
          type: 'invalid_request_error',
          code: 'api_key_invalid',
          message: `Invalid API Key provided: ${bearer.slice(0, 8)}${'*'.repeat(Math.max(0, bearer.length - 12))}${bearer.slice(-4)}`,
        }),
      );
    }
    if (!/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(version)) {
      return fail(invalidRequest(`Invalid Stripe API version: ${version}`));
    }

    const found = routes
      .filter((r) => r.pattern.test(url.pathname))
      .map((r) => ({ r, m: r.pattern.exec(url.pathname)! }));
    const match = found.find(({ r }) => r.method === method);
    if (!match) {
      return fail(
        found.length > 0
          ? invalidRequest(`Unrecognized request URL (${method}: ${url.pathname}).`)
          : new StripeApiError(404, {
              type: 'invalid_request_error',
              message: `Unrecognized request URL (${method}: ${url.pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
            }),
      );
    }

    let params: FormObject;
    try {
      const raw = method === 'POST' ? await readBody(req) : url.search.slice(1);
      params = parseForm(raw);
    } catch (err) {
      if (err instanceof FormError) return fail(invalidRequest(err.message, err.param));
      if (err instanceof StripeApiError) return fail(err);
      throw err;
    }

    const keyHeader = req.headers['idempotency-key'];
    const key = method === 'POST' && typeof keyHeader === 'string' && keyHeader !== '' ? keyHeader : null;
    if (key && key.length > 255) {
      return fail(invalidRequest('Idempotency-Key must be at most 255 characters long.'));
    }
    const canonical = canonicalParams(params);
    if (key) {
      baseHeaders['idempotency-key'] = key;
      const saved = idempotency.get(key);
      if (saved) {
        if (saved.method !== method || saved.path !== url.pathname || saved.params !== canonical) {
          return fail(
            new StripeApiError(400, {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            }),
          );
        }
        return sendJson(res, saved.status, saved.body, { ...baseHeaders, 'idempotent-replayed': 'true' });
      }
    }

    state.setContext({ requestId, idempotencyKey: key, apiVersion: version });
    let status = 200;
    let body: string;
    let save = true;
    try {
      const expand = strList(params, 'expand') ?? [];
      const rest = { ...params };
      delete rest.expand;
      const result = match.r.handler(rest, match.m);
      body = JSON.stringify(state.render(result, expand), null, 2);
    } catch (err) {
      if (err instanceof FormError) {
        const e = invalidRequest(err.message, err.param);
        status = e.status;
        body = errorBody(e.body, requestId);
        save = false;
      } else if (err instanceof StripeApiError) {
        status = err.status;
        body = errorBody(err.body, requestId);
        save = err.replayable;
      } else {
        throw err;
      }
    }
    if (key && save) {
      idempotency.set(key, { method, path: url.pathname, params: canonical, status, body });
    }
    sendJson(res, status, body, baseHeaders);
    // A test clock's advance runs after its answer, as Stripe runs it after answering `advancing`.
    state.runDeferred();
    flushEvents();
  }

  async function handleHostedPage(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string,
  ): Promise<void> {
    const html = (status: number, text: string) => {
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      });
      res.end(text);
    };
    const session = state.sessionForPage(sessionId);
    flushEvents();
    if (session?.status !== 'open') return html(session ? 410 : 404, inactivePage(platformName));
    if (req.method === 'GET') return html(200, checkoutPage(session, platformName));
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'GET, POST' }).end();
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    const result = state.completeSession(sessionId, {
      number: form.get('cardNumber') ?? '',
      expiry: form.get('cardExpiry') ?? '',
      cvc: form.get('cardCvc') ?? '',
      name: form.get('billingName') ?? '',
    });
    if (!result.ok) {
      html(400, checkoutPage(session, platformName, result.error));
    } else {
      res.writeHead(303, {
        location: result.redirect,
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      });
      res.end();
    }
    flushEvents();
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://standin.invalid');
    const hosted = /^\/c\/pay\/(cs_test_[A-Za-z0-9]+)$/.exec(url.pathname);
    const work = url.pathname.startsWith('/v1/')
      ? handleApi(req, res, url)
      : hosted
        ? handleHostedPage(req, res, hosted[1]!)
        : Promise.resolve(
            url.pathname === '/health'
              ? void sendJson(res, 200, '{"ok":true}', {})
              : void sendJson(
                  res,
                  404,
                  errorBody(
                    {
                      type: 'invalid_request_error',
                      message: `Unrecognized request URL (${req.method}: ${url.pathname}).`,
                    },
                    '',
                  ),
                  {},
                ),
          );
    work.catch((err: unknown) => {
      console.error('[stripe stand-in] request failed:', err);
      if (!res.headersSent) {
        sendJson(res, 500, errorBody({ type: 'api_error', message: 'An unknown error occurred.' }, ''), {});
      } else {
        res.destroy();
      }
    });
  });

  baseUrl = await listen(server, opts.port, opts.host);
  const parsed = new URL(baseUrl);
  const close = closer(server);
  return {
    url: baseUrl,
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: Number(parsed.port),
    protocol: 'http',
    secretKey,
    apiVersion,
    state,
    deliveries: deliverer.deliveries,
    addWebhookEndpoint: (input) => {
      const endpoint = addEndpoint(input);
      return { id: endpoint.id, secret: endpoint.secret };
    },
    webhooksIdle: () => deliverer.idle(),
    close: async () => {
      deliverer.close();
      await close();
    },
  };
}
