/**
 * The local stack: the Lightning stand-in (LNbits API, and NWC through a local relay), the rate
 * stand-in (Coinbase's, Kraken's, mempool.space's, Alby's and yadio's price APIs on one port), the Stripe stand-in with the card service on it, the x402 facilitator stand-in, and the demo
 * AI app (L402, cards as a connected account of the card service, and x402 USDC on Base Sepolia
 * through the facilitator). Used by `npm run stack`, `npm start` and the end-to-end tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateReceiptKey } from '../card/keys';
import { startCardService } from '../card/service';
import { startDemoApp } from '../merchant/demo/app';
import { X402_NETWORK } from '../merchant/demo/x402';
import { startLightningStandin } from '../standins/lightning/index';
import { startRelay } from '../standins/nwc/relay';
import { startNwcWalletService } from '../standins/nwc/wallet-service';
import { startRateStandin } from '../standins/rates';
import { startStripeStandin } from '../standins/stripe/index';
import { startX402Facilitator } from '../standins/x402-facilitator';

/** The demo app's x402 payee: a fixed address with no key behind it (test money only). */
export const X402_DEMO_PAYEE = '0x5ca1ab1e00000000000000000000000000000402' as const;

export const DEFAULT_PORTS = {
  demo: 8402,
  lnbits: 8403,
  rates: 8404,
  relay: 8405,
  stripe: 8406,
  card: 8407,
  facilitator: 8408,
} as const;

/** Each part by name, for errors a newcomer can act on. */
const PARTS: Record<keyof typeof DEFAULT_PORTS, string> = {
  demo: 'the demo app',
  lnbits: 'the Lightning stand-in',
  rates: 'the rate stand-in',
  relay: 'the Nostr relay',
  stripe: 'the Stripe stand-in',
  card: 'the card service',
  facilitator: 'the x402 facilitator stand-in',
};

/** A part could not listen: its port is taken. The message names the part, the port and the knob. */
export class PortInUseError extends Error {
  constructor(part: keyof typeof DEFAULT_PORTS, port: number) {
    super(
      `${PARTS[part]} cannot listen on port ${port}: another program uses it. Stop that program, or set ` +
        `PAYBOUND_${part.toUpperCase()}_PORT to another port (0 picks a free one).`,
    );
    this.name = 'PortInUseError';
  }
}

/** Starts one part, turning "address in use" into a PortInUseError. */
async function listening<T>(
  part: keyof typeof DEFAULT_PORTS,
  port: number,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (e) {
    if ((e as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') throw new PortInUseError(part, port);
    throw e;
  }
}

export interface StackInfo {
  demo: string;
  lnbits: string;
  rates: string;
  /** The Nostr relay (ws://) the NWC wallet service listens on. */
  relay: string;
  /** NWC connection string for the user wallet. */
  nwcUri: string;
  wallets: Record<'user' | 'app', { id: string; adminKey: string; invoiceKey: string }>;
  /** The Stripe stand-in's API (and hosted Checkout pages). */
  stripe: string;
  /** The card service the extension links a card with (GET /link) and pays through. */
  cardService: string;
  /** Who the demo app's charges pay: the Lightning stand-in's node id and its card account. */
  payees: { node: string; card: string };
  /** The demo's operator hook (`POST /_demo/refunds/<charge>`) wants `Authorization: Bearer <this>`. */
  demoOperatorToken: string;
  /** x402: the facilitator stand-in (its test controls under /_standin/) and who the demo's route pays. */
  x402: { facilitator: string; payTo: `0x${string}`; network: string };
}

export interface Stack {
  info: StackInfo;
  lightning: Awaited<ReturnType<typeof startLightningStandin>>;
  facilitator: Awaited<ReturnType<typeof startX402Facilitator>>;
  close(): Promise<void>;
}

export async function startStack(
  opts: {
    ports?: Partial<Record<keyof typeof DEFAULT_PORTS, number>>;
    host?: string;
    /** The demo's test-only routes (its plan clock); the end-to-end tests turn them on. */
    demoTestRoutes?: boolean;
  } = {},
): Promise<Stack> {
  const host = opts.host ?? '127.0.0.1';
  // A caller that asks for free ports (0) for every part it names gets free ports for parts it
  // does not name yet (the Stripe stand-in and the card service are newer than some callers).
  const given = Object.values(opts.ports ?? {});
  const allFree = given.length > 0 && given.every((p) => p === 0);
  const defaults = allFree ? { ...DEFAULT_PORTS, stripe: 0, card: 0, facilitator: 0 } : DEFAULT_PORTS;
  const ports = { ...defaults, ...opts.ports };
  const closers: (() => Promise<void>)[] = [];
  try {
    const lightning = await listening('lnbits', ports.lnbits, () =>
      startLightningStandin({ port: ports.lnbits, host }),
    );
    closers.push(lightning.close);
    const rates = await listening('rates', ports.rates, () => startRateStandin({ port: ports.rates, host }));
    closers.push(rates.close);
    const user = lightning.wallets.user;
    const app = lightning.wallets.app;
    if (!user || !app) throw new Error('the Lightning stand-in did not create the user and app wallets');
    const relay = await listening('relay', ports.relay, () => startRelay({ port: ports.relay, host }));
    closers.push(relay.close);
    const nwc = await startNwcWalletService({ relayUrl: relay.url, node: lightning.node, walletId: user.id });
    closers.push(nwc.close);
    const stripe = await listening('stripe', ports.stripe, () =>
      startStripeStandin({ port: ports.stripe, host, platformName: 'Paybound (demo)' }),
    );
    closers.push(stripe.close);
    const webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
    const card = await listening('card', ports.card, () =>
      startCardService({
        port: ports.card,
        host,
        stripe: { host: stripe.host, port: stripe.port, protocol: 'http', secretKey: stripe.secretKey },
        dbPath: process.env.PAYBOUND_CARD_DB || undefined,
        webhookSecret,
        platformName: 'Paybound (demo)',
        // A fresh receipt key each run: receipts live minutes, and nothing outside this run trusts it.
        receiptKeys: [generateReceiptKey()],
        extensionOrigins: devExtensionOrigins(),
        // The stand-in is test mode: each card lives on a test clock, so plans can be renewed by hand.
        testClocks: true,
      }),
    );
    closers.push(card.close);
    stripe.addWebhookEndpoint({ url: `${card.url}/webhooks/stripe`, secret: webhookSecret });
    const merchant = await card.createMerchant({
      name: 'Quill (demo)',
      email: 'quill@example.com',
      // The demo's refund policy: a payer may refund a card charge on its own for a day.
      payerRefundSeconds: 86_400,
    });
    // Before the demo: its x402 middleware asks the facilitator what it supports when it is built.
    const facilitator = await listening('facilitator', ports.facilitator, () =>
      startX402Facilitator({ port: ports.facilitator, host }),
    );
    closers.push(facilitator.close);
    const demo = await listening('demo', ports.demo, () =>
      startDemoApp({
        port: ports.demo,
        host,
        lnbitsUrl: lightning.url,
        invoiceKey: app.invoiceKey,
        // Pays the refunds of reviewed charges (drafts) from the app wallet.
        adminKey: app.adminKey,
        card: {
          cardServiceUrl: card.url,
          apiKey: merchant.apiKey,
          accountId: merchant.accountId,
          receiptPublicKey: card.receiptPublicKey,
          receiptKeyId: card.receiptKeyId,
        },
        x402: { facilitatorUrl: facilitator.url, payTo: X402_DEMO_PAYEE },
        testRoutes: opts.demoTestRoutes ?? false,
      }),
    );
    closers.push(demo.close);
    const pick = (w: typeof user) => ({ id: w.id, adminKey: w.adminKey, invoiceKey: w.invoiceKey });
    return {
      info: {
        demo: demo.url,
        lnbits: lightning.url,
        rates: rates.url,
        relay: relay.url,
        nwcUri: nwc.connectionUri,
        wallets: { user: pick(user), app: pick(app) },
        stripe: stripe.url,
        cardService: card.url,
        payees: { node: lightning.node.pubkey, card: merchant.accountId },
        demoOperatorToken: demo.operatorToken,
        x402: { facilitator: facilitator.url, payTo: X402_DEMO_PAYEE, network: X402_NETWORK },
      },
      lightning,
      facilitator,
      close: async () => {
        for (const close of closers.reverse()) await close();
      },
    };
  } catch (e) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw e;
  }
}

/**
 * The extension origins that get CORS from the card service: the unpacked builds of `npm start`
 * and the e2e suite (Chromium names an unpacked extension after its directory), and any in
 * PAYBOUND_CARD_EXTENSION_IDS (comma-separated ids).
 */
export function devExtensionOrigins(env: NodeJS.ProcessEnv = process.env): string[] {
  const root = realpathSync(resolve(import.meta.dirname, '../..'));
  const ids = ['.out/start/dist', '.out/e2e/dist'].map((dir) => unpackedExtensionId(join(root, dir)));
  for (const id of (env.PAYBOUND_CARD_EXTENSION_IDS ?? '').split(',')) {
    if (/^[a-p]{32}$/.test(id.trim())) ids.push(id.trim());
  }
  return ids.map((id) => `chrome-extension://${id}`);
}

/** Chromium's id for an unpacked extension: sha256 of its absolute path, 32 hex digits spelled a–p. */
export function unpackedExtensionId(absolutePath: string): string {
  const hex = createHash('sha256').update(absolutePath).digest('hex').slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + Number.parseInt(c, 16))).join('');
}

/**
 * Ports from the environment (PAYBOUND_DEMO_PORT, PAYBOUND_LNBITS_PORT, PAYBOUND_RATES_PORT,
 * PAYBOUND_RELAY_PORT, PAYBOUND_STRIPE_PORT, PAYBOUND_CARD_PORT, PAYBOUND_FACILITATOR_PORT).
 */
export function portsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Partial<Record<keyof typeof DEFAULT_PORTS, number>> {
  const out: Partial<Record<keyof typeof DEFAULT_PORTS, number>> = {};
  for (const key of Object.keys(DEFAULT_PORTS) as (keyof typeof DEFAULT_PORTS)[]) {
    const raw = env[`PAYBOUND_${key.toUpperCase()}_PORT`];
    if (raw === undefined) continue;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new Error(`PAYBOUND_${key.toUpperCase()}_PORT must be a port number, got ${raw}`);
    }
    out[key] = port;
  }
  return out;
}

/** The provisioning that connects a development build to this stack's user wallet. */
export function provisionFor(info: StackInfo) {
  return {
    currency: 'USD',
    rails: [
      {
        kind: 'lnbits' as const,
        id: 'lnbits-standin',
        label: 'Stand-in LNbits wallet',
        url: info.lnbits,
        adminKey: info.wallets.user.adminKey,
        network: 'regtest' as const,
      },
      // The page's Ethereum wallet (in the tour and the tests, the stand-in announced in the page),
      // on test networks: the demo's x402 routes take USDC on Base Sepolia.
      {
        kind: 'ethereum' as const,
        id: 'eth-page',
        label: "This page's Ethereum wallet",
        network: 'testnet' as const,
      },
    ],
    // The production defaults, each pointed at the stand-in, which serves every provider's own paths.
    rateSources: (['coinbase', 'kraken', 'mempool'] as const).map((kind) => ({ kind, url: info.rates })),
    cardServiceUrl: info.cardService,
  };
}

/** The same provisioning with the stand-in NWC wallet first, for tests that pay over NWC. */
export function nwcProvisionFor(info: StackInfo) {
  const base = provisionFor(info);
  return {
    ...base,
    rails: [
      {
        kind: 'nwc' as const,
        id: 'nwc-standin',
        label: 'Stand-in NWC wallet',
        uri: info.nwcUri,
        network: 'regtest' as const,
      },
      ...base.rails,
    ],
  };
}
