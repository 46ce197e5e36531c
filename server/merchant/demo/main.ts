// Runs the demo app on its own: DEMO_PORT (default 8402), DEMO_HOST, LNBITS_URL, LNBITS_INVOICE_KEY,
// LNBITS_ADMIN_KEY (optional: pays the refunds of drafts; without it they wait for the operator),
// DEMO_NETWORK (default regtest), DEMO_ROOT_KEY (hex, optional; random otherwise, so tokens do not
// survive a restart), DEMO_OPERATOR_TOKEN (16+ characters: what the operator hook for queued
// refunds asks for; random otherwise, and printed at start).
import { startDemoApp } from './app';

const lnbitsUrl = process.env.LNBITS_URL;
const invoiceKey = process.env.LNBITS_INVOICE_KEY;
if (!lnbitsUrl || !invoiceKey) {
  console.error(
    'Set LNBITS_URL and LNBITS_INVOICE_KEY (the app wallet on LNbits or the Lightning stand-in).',
  );
  process.exit(1);
}

const networks = ['mainnet', 'testnet', 'signet', 'regtest'] as const;
const network = networks.find((n) => n === (process.env.DEMO_NETWORK ?? 'regtest'));
if (!network) {
  console.error(`DEMO_NETWORK must be one of ${networks.join(', ')}`);
  process.exit(1);
}

const app = await startDemoApp({
  port: Number(process.env.DEMO_PORT ?? 8402),
  host: process.env.DEMO_HOST ?? '127.0.0.1',
  lnbitsUrl,
  invoiceKey,
  adminKey: process.env.LNBITS_ADMIN_KEY || undefined,
  network,
  rootKey: process.env.DEMO_ROOT_KEY,
  ...(process.env.DEMO_OPERATOR_TOKEN ? { operatorToken: process.env.DEMO_OPERATOR_TOKEN } : {}),
});
console.log(`Quill demo app listening on ${app.url}`);
if (!process.env.DEMO_OPERATOR_TOKEN) console.log(`operator token for /_demo/refunds: ${app.operatorToken}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
