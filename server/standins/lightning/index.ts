// Starts the Lightning stand-in: a LightningNode with its wallets behind the LNbits REST API.
import { closer, listen } from '../../lib/listen';
import { createLnbitsServer } from './lnbits';
import { LightningNode } from './node';

export type { FailureMode, FailureSpec, Invoice, InvoiceState, Payment, PaymentStatus, Wallet } from './node';
export { LightningNode } from './node';

export interface StandinWalletSpec {
  name: string;
  balanceMsat: number | bigint;
}

export interface LightningStandinOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Default: `user` with 1,000,000 sat and `app` with nothing. */
  wallets?: StandinWalletSpec[];
  /** Fixed keys per wallet name (32 hex characters each, like LNbits'); random otherwise. */
  keys?: Record<string, { adminKey: string; invoiceKey: string }>;
  /** Node key (64 hex); random otherwise. */
  privateKey?: string;
  /** Clock in unix milliseconds. */
  now?: () => number;
}

export interface StandinWallet {
  id: string;
  name: string;
  adminKey: string;
  invoiceKey: string;
}

export interface LightningStandin {
  url: string;
  node: LightningNode;
  wallets: Record<string, StandinWallet>;
  close(): Promise<void>;
}

export const DEFAULT_WALLETS: readonly StandinWalletSpec[] = [
  { name: 'user', balanceMsat: 1_000_000_000n },
  { name: 'app', balanceMsat: 0n },
];

export async function startLightningStandin(opts: LightningStandinOptions = {}): Promise<LightningStandin> {
  const node = new LightningNode({
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.privateKey ? { privateKey: opts.privateKey } : {}),
  });
  const wallets: Record<string, StandinWallet> = {};
  for (const spec of opts.wallets ?? DEFAULT_WALLETS) {
    const balance = spec.balanceMsat;
    if (typeof balance === 'number' && !Number.isSafeInteger(balance)) {
      throw new Error(`wallet "${spec.name}": balanceMsat must be an integer`);
    }
    const keys = opts.keys?.[spec.name];
    const w = node.createWallet({ name: spec.name, balanceMsat: BigInt(balance), ...(keys ?? {}) });
    wallets[w.name] = { id: w.id, name: w.name, adminKey: w.adminKey, invoiceKey: w.invoiceKey };
  }

  const server = createLnbitsServer(node);
  const url = await listen(server, opts.port, opts.host);
  const closeServer = closer(server);
  let closing: Promise<void> | undefined;
  // A closure, not a method: callers pass `close` around unbound.
  const close = (): Promise<void> => {
    closing ??= (async () => {
      node.shutdown(); // let requests held by a timeout injection answer
      await new Promise((r) => setImmediate(r));
      await closeServer();
    })();
    return closing;
  };
  return { url, node, wallets, close };
}
