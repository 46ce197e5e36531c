// A card stack with any card-service option (helpers.ts takes a fixed few): the Stripe stand-in,
// the card service on it, a registered app, and a clock the test moves.
import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CardServiceOptions, startCardService } from '../../../server/card/service';
import { startStripeStandin } from '../../../server/standins/stripe/index';
import { type CardStack, stackDatabase } from './helpers';

export interface ClockedStack extends CardStack {
  /** Moves the card service's clock forward. */
  advance(seconds: number): void;
  /** With `stripeHold`: resolves once a held request to Stripe has arrived (the card service sent it). */
  stripeHeld: Promise<void>;
  /** With `stripeHold`: lets the held requests (and all later ones) through. */
  openStripe(): void;
}

/**
 * A proxy in front of the Stripe stand-in that holds chosen requests back until the test opens the
 * gate (to open a race window): `held` resolves once such a request has reached it.
 */
async function gatedProxy(
  target: { host: string; port: number },
  hold: (method: string, path: string) => boolean,
) {
  let opened = false;
  const waiting: (() => void)[] = [];
  let arrived!: () => void;
  const held = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const server = createServer((req, res) => {
    const forward = () => {
      const out = request(
        { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(out);
    };
    if (opened || !hold(req.method ?? 'GET', req.url ?? '/')) return forward();
    waiting.push(forward);
    arrived();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    held,
    open() {
      opened = true;
      for (const go of waiting.splice(0)) go();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function startClockedStack(
  extra: Partial<CardServiceOptions> = {},
  merchant: { payerRefundSeconds?: number } = {},
  /** Requests to Stripe held back until `openStripe()`. */
  stripeHold?: (method: string, path: string) => boolean,
): Promise<ClockedStack> {
  let offsetMs = 0;
  const stripe = await startStripeStandin({ port: 0, webhookRetryDelaysMs: [] });
  const proxy = stripeHold ? await gatedProxy(stripe, stripeHold) : undefined;
  const webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
  const card = await startCardService({
    port: 0,
    stripe: {
      host: stripe.host,
      port: proxy?.port ?? stripe.port,
      protocol: 'http',
      secretKey: stripe.secretKey,
      maxNetworkRetries: 0,
    },
    webhookSecret,
    adminToken: 'admin-token-for-tests-0123456789',
    linkRateLimit: false,
    now: () => Date.now() + offsetMs,
    ...(await stackDatabase(extra.dbPath)),
    ...extra,
  });
  stripe.addWebhookEndpoint({ url: `${card.url}/webhooks/stripe`, secret: webhookSecret });
  const app = await card.createMerchant({ name: 'Test app', ...merchant });
  return {
    stripe,
    card,
    merchant: app,
    webhookSecret,
    advance: (seconds) => {
      offsetMs += seconds * 1000;
    },
    stripeHeld: proxy?.held ?? Promise.resolve(),
    openStripe: () => proxy?.open(),
    close: async () => {
      await card.close();
      await proxy?.close();
      await stripe.close();
    },
  };
}
