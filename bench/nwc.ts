/**
 * `npm run bench:nwc`: one `pay_invoice` over Nostr Wallet Connect, the worker's own client (the
 * NWC rail) against `@getalby/sdk`'s NWCClient, the wallet clients usually reach for, interleaved
 * in one run, in Node against the local relay and wallet service. Each client is connected and has
 * read the wallet's info event before the timed rounds; the first call is timed apart.
 */
import { NWCClient } from '@getalby/sdk/nwc';
import { WebSocket } from 'ws';
import { startLightningStandin } from '../server/standins/lightning/index';
import { startRelay } from '../server/standins/nwc/relay';
import { startNwcWalletService } from '../server/standins/nwc/wallet-service';
import { closeNwcClients, NwcRail } from '../src/background/services/rails/nwc';

if (typeof globalThis.WebSocket === 'undefined') Object.assign(globalThis, { WebSocket });

const ROUNDS = Number(process.env.BENCH_SAMPLES ?? 200);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)] ?? 0;

const lightning = await startLightningStandin({ port: 0 });
const relay = await startRelay({ port: 0 });
const node = lightning.node;
const user = lightning.wallets.user!;
const app = lightning.wallets.app!;
const service = await startNwcWalletService({ relayUrl: relay.url, node, walletId: user.id });

const rail = new NwcRail({
  id: 'bench',
  label: 'bench',
  network: 'regtest',
  createdAt: 0,
  kind: 'nwc',
  config: { uri: service.connectionUri },
});
const sdk = new NWCClient({ nostrWalletConnectUrl: service.connectionUri });
const invoice = () => node.createInvoice(app.id, { amountMsat: 1_000n }).bolt11;

const timed = async (work: () => Promise<unknown>) => {
  const t = performance.now();
  await work();
  return performance.now() - t;
};

const first = {
  ours: await timed(() => rail.sendPayment(invoice())),
  sdk: await timed(() => sdk.payInvoice({ invoice: invoice() })),
};
const ours: number[] = [];
const theirs: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  // Alternate which goes first, so that neither always follows the other's wallet work.
  if (i % 2) {
    ours.push(await timed(() => rail.sendPayment(invoice())));
    theirs.push(await timed(() => sdk.payInvoice({ invoice: invoice() })));
  } else {
    theirs.push(await timed(() => sdk.payInvoice({ invoice: invoice() })));
    ours.push(await timed(() => rail.sendPayment(invoice())));
  }
}

const ms = (x: number) => x.toFixed(2);
console.log(`pay_invoice over NWC, ${ROUNDS} rounds each, interleaved (ms):`);
console.log(`  ours  median ${ms(median(ours))}  p90 ${ms(pct(ours, 0.9))}  first call ${ms(first.ours)}`);
console.log(`  sdk   median ${ms(median(theirs))}  p90 ${ms(pct(theirs, 0.9))}  first call ${ms(first.sdk)}`);
console.log(`  ratio ours ÷ sdk (medians): ${(median(ours) / median(theirs)).toFixed(2)}`);

sdk.close();
closeNwcClients();
await service.close();
await relay.close();
await lightning.close();
