// A card stack with any card-service option (helpers.ts takes a fixed few): the Stripe stand-in,
// the card service on it, a registered app, and a clock the test moves.
import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CardServiceOptions, startCardService } from '../../../server/card/service';
import { startStripeStandin } from '../../../server/standins/stripe/index';
import type { CardStack } from './helpers';

export interface ClockedStack extends CardStack {
  /** Moves the card service's clock forward. */
  advance(seconds: number): void;
}

/** A proxy in front of the Stripe stand-in that holds chosen requests back (to open race windows). */
async function slowProxy(
  target: { host: string; port: number },
  delayMs: (method: string, path: string) => number,
) {
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
    setTimeout(forward, delayMs(req.method ?? 'GET', req.url ?? '/'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function startClockedStack(
  extra: Partial<CardServiceOptions> = {},
  merchant: { payerRefundSeconds?: number } = {},
  stripeDelayMs?: (method: string, path: string) => number,
): Promise<ClockedStack> {
  let offsetMs = 0;
  const stripe = await startStripeStandin({ port: 0, webhookRetryDelaysMs: [] });
  const proxy = stripeDelayMs ? await slowProxy(stripe, stripeDelayMs) : undefined;
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
    ...extra,
  });
  stripe.addWebhookEndpoint({ url: `${card.url}/webhooks/stripe`, secret: webhookSecret });
  const app = await card.createMerchant({ name: 'Test app', ...merchant });
  return {
    stripe,
    card,
    merchant: app,
    advance: (seconds) => {
      offsetMs += seconds * 1000;
    },
    close: async () => {
      await card.close();
      await proxy?.close();
      await stripe.close();
    },
  };
}
