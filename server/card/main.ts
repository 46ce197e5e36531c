// Runs the card service on its own. Environment:
//   STRIPE_SECRET_KEY (required), STRIPE_WEBHOOK_SECRET (required),
//   STRIPE_API_HOST / STRIPE_API_PORT / STRIPE_API_PROTOCOL (default api.stripe.com / 443 / https),
//   CARD_PORT (default 8407), CARD_HOST (default 127.0.0.1), CARD_PUBLIC_URL,
//   DATABASE_URL (postgres://…: PostgreSQL, several instances) or else CARD_DB_PATH (the embedded
//   database's directory, default ./.data/card-db; one process), CARD_ADMIN_TOKEN,
//   PAYBOUND_CARD_RECEIPT_KEYS (required: JSON [{"kid", "privateKey"}, …], the first signs; keys.ts),
//   PAYBOUND_CARD_EXTENSION_IDS (comma-separated extension ids or origins that get CORS).
import { parseReceiptKeys, type ReceiptKeyConfig } from './keys';
import { startCardService } from './service';

const env = process.env;
const secretKey = env.STRIPE_SECRET_KEY;
const webhookSecret = env.STRIPE_WEBHOOK_SECRET;
if (!secretKey || !webhookSecret) {
  console.error('Set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.');
  process.exit(1);
}
let receiptKeys: ReceiptKeyConfig[];
try {
  receiptKeys = parseReceiptKeys(env.PAYBOUND_CARD_RECEIPT_KEYS ?? '');
} catch (err) {
  console.error(`PAYBOUND_CARD_RECEIPT_KEYS: ${(err as Error).message}`);
  process.exit(1);
}
const extensionOrigins = (env.PAYBOUND_CARD_EXTENSION_IDS ?? '')
  .split(',')
  .map((id) => id.trim())
  .filter((id) => id !== '')
  .map((id) => (id.includes('://') ? id : `chrome-extension://${id}`));
const protocol = env.STRIPE_API_PROTOCOL === 'http' ? 'http' : 'https';

let service: Awaited<ReturnType<typeof startCardService>>;
try {
  service = await startCardService({
    port: Number(env.CARD_PORT ?? 8407),
    host: env.CARD_HOST ?? '127.0.0.1',
    publicUrl: env.CARD_PUBLIC_URL,
    databaseUrl: env.DATABASE_URL || undefined,
    dbPath: env.DATABASE_URL ? undefined : (env.CARD_DB_PATH ?? './.data/card-db'),
    stripe: {
      host: env.STRIPE_API_HOST ?? 'api.stripe.com',
      port: Number(env.STRIPE_API_PORT ?? (protocol === 'https' ? 443 : 80)),
      protocol,
      secretKey,
    },
    webhookSecret,
    adminToken: env.CARD_ADMIN_TOKEN,
    receiptKeys,
    extensionOrigins,
  });
} catch (err) {
  // An unusable database, a lock held by another process, a bad key: say so, start nothing.
  console.error(`card service not started: ${(err as Error).message}`);
  process.exit(1);
}
console.log(`Paybound card service listening on ${service.url} (receipt key ${service.receiptKeyId})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void service.close().then(() => process.exit(0));
  });
}
