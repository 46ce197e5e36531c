/**
 * The local stack: the Lightning stand-in (LNbits API, and NWC through a local relay), the rate
 * stand-in and the demo AI app. Used by `npm run stack`, `npm start` and the end-to-end tests.
 */
import { startDemoApp } from '../merchant/demo/app';
import { startLightningStandin } from '../standins/lightning/index';
import { startRelay } from '../standins/nwc/relay';
import { startNwcWalletService } from '../standins/nwc/wallet-service';
import { startRateStandin } from '../standins/rates';

export const DEFAULT_PORTS = { demo: 8402, lnbits: 8403, rates: 8404, relay: 8405 } as const;

export interface StackInfo {
  demo: string;
  lnbits: string;
  rates: string;
  /** The Nostr relay (ws://) the NWC wallet service listens on. */
  relay: string;
  /** NWC connection string for the user wallet. */
  nwcUri: string;
  wallets: Record<'user' | 'app', { id: string; adminKey: string; invoiceKey: string }>;
}

export interface Stack {
  info: StackInfo;
  lightning: Awaited<ReturnType<typeof startLightningStandin>>;
  close(): Promise<void>;
}

export async function startStack(
  opts: { ports?: Partial<Record<keyof typeof DEFAULT_PORTS, number>>; host?: string } = {},
): Promise<Stack> {
  const host = opts.host ?? '127.0.0.1';
  const ports = { ...DEFAULT_PORTS, ...opts.ports };
  const closers: (() => Promise<void>)[] = [];
  try {
    const lightning = await startLightningStandin({ port: ports.lnbits, host });
    closers.push(lightning.close);
    const rates = await startRateStandin({ port: ports.rates, host });
    closers.push(rates.close);
    const user = lightning.wallets.user;
    const app = lightning.wallets.app;
    if (!user || !app) throw new Error('the Lightning stand-in did not create the user and app wallets');
    const relay = await startRelay({ port: ports.relay, host });
    closers.push(relay.close);
    const nwc = await startNwcWalletService({ relayUrl: relay.url, node: lightning.node, walletId: user.id });
    closers.push(nwc.close);
    const demo = await startDemoApp({
      port: ports.demo,
      host,
      lnbitsUrl: lightning.url,
      invoiceKey: app.invoiceKey,
    });
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
      },
      lightning,
      close: async () => {
        for (const close of closers.reverse()) await close();
      },
    };
  } catch (e) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw e;
  }
}

/** Ports from the environment (PAYBOUND_DEMO_PORT, PAYBOUND_LNBITS_PORT, PAYBOUND_RATES_PORT, PAYBOUND_RELAY_PORT). */
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
    ],
    rateSourceUrl: info.rates,
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
