// Two card-service instances on one PostgreSQL database behind a load balancer the test steers,
// the Stripe stand-in, and a TCP proxy in front of the database that the test can cut (the
// database going away) and restore. Used by instances.pg.test.ts and bench/card-load.ts.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, request } from 'node:http';
import { type AddressInfo, createConnection, createServer as createTcpServer, type Socket } from 'node:net';
import { generateReceiptKey } from '../../../server/card/keys';
import { type CardService, type CardServiceOptions, startCardService } from '../../../server/card/service';
import { type StripeStandin, startStripeStandin } from '../../../server/standins/stripe/index';

export interface Balancer {
  url: string;
  port: number;
  /** Which backend the next requests go to. */
  target: 'a' | 'b';
  /** Requests matching this are held until release() (e.g. to cut the database meanwhile). */
  hold: ((req: IncomingMessage) => boolean) | null;
  /** Resolves when a held request has arrived. */
  held(): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

/** An HTTP proxy to one of two backends (`target`), with an optional hold. */
export async function balancer(backends: { a: () => number; b: () => number }): Promise<Balancer> {
  let waiting: (() => void)[] = [];
  let arrived: (() => void) | null = null;
  const server = createServer((req, res) => {
    const port = backends[lb.target]();
    const forward = () => {
      const out = request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (lb.hold?.(req)) {
      waiting.push(forward);
      arrived?.();
      return;
    }
    forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const lb: Balancer = {
    url: `http://127.0.0.1:${port}`,
    port,
    target: 'a',
    hold: null,
    held: () =>
      new Promise<void>((resolve) => {
        if (waiting.length > 0) resolve();
        else arrived = resolve;
      }),
    release() {
      lb.hold = null;
      const go = waiting;
      waiting = [];
      for (const f of go) f();
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  return lb;
}

export interface CuttableLink {
  port: number;
  /** Drops every connection and refuses new ones: the database is gone. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP proxy to the database server. */
export async function cuttableLink(target: { host: string; port: number }): Promise<CuttableLink> {
  let up = true;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    if (!up) return client.destroy();
    const upstream = createConnection(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      up = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      up = true;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface InstancePair {
  stripe: StripeStandin;
  a: CardService;
  b: CardService;
  /** Where browsers, the extension and Stripe's webhooks reach the service (publicUrl). */
  lb: Balancer;
  /** Stripe as the card services reach it (hold requests there to open a race window). */
  stripeGate: Balancer;
  db: CuttableLink;
  merchant: { accountId: string; apiKey: string };
  webhookSecret: string;
  close(): Promise<void>;
}

/** Two instances on `databaseUrl` (reached through a cuttable link), same keys and secrets. */
export async function startInstancePair(
  databaseUrl: string,
  extra: Partial<CardServiceOptions> = {},
): Promise<InstancePair> {
  const stripe = await startStripeStandin({ port: 0, webhookRetryDelaysMs: [] });
  const stripeGate = await balancer({ a: () => stripe.port, b: () => stripe.port });
  const parsed = new URL(databaseUrl);
  const db = await cuttableLink({ host: parsed.hostname, port: Number(parsed.port) });
  const viaLink = new URL(databaseUrl);
  viaLink.port = String(db.port);
  const ports = { a: 0, b: 0 };
  const lb = await balancer({ a: () => ports.a, b: () => ports.b });
  const webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
  const shared: CardServiceOptions = {
    port: 0,
    stripe: {
      host: '127.0.0.1',
      port: stripeGate.port,
      protocol: 'http',
      secretKey: stripe.secretKey,
      maxNetworkRetries: 0,
    },
    webhookSecret,
    databaseUrl: viaLink.toString(),
    publicUrl: lb.url,
    receiptKeys: [generateReceiptKey()],
    adminToken: 'admin-token-for-tests-0123456789',
    linkRateLimit: false,
    ...extra,
  };
  // Started together: they migrate the database once between them.
  const [a, b] = await Promise.all([startCardService(shared), startCardService(shared)]);
  ports.a = Number(new URL(a.url).port);
  ports.b = Number(new URL(b.url).port);
  stripe.addWebhookEndpoint({ url: `${lb.url}/webhooks/stripe`, secret: webhookSecret });
  const merchant = await a.createMerchant({ name: 'Test app' });
  return {
    stripe,
    a,
    b,
    lb,
    stripeGate,
    db,
    merchant,
    webhookSecret,
    close: async () => {
      db.restore();
      await Promise.all([a.close(), b.close()]);
      await lb.close();
      await stripeGate.close();
      await db.close();
      await stripe.close();
    },
  };
}
