// Runs the card service on its own. Environment:
//   STRIPE_SECRET_KEY (required), STRIPE_WEBHOOK_SECRET (required),
//   STRIPE_API_HOST / STRIPE_API_PORT / STRIPE_API_PROTOCOL (default api.stripe.com / 443 / https),
//   CARD_PORT (default 8407), CARD_HOST (default 127.0.0.1), CARD_PUBLIC_URL, CARD_DB_PATH
//   (default ./.data/card.sqlite), CARD_ADMIN_TOKEN, CARD_RECEIPT_KEY (64 hex).
import { startCardService } from './service';

const env = process.env;
const secretKey = env.STRIPE_SECRET_KEY;
const webhookSecret = env.STRIPE_WEBHOOK_SECRET;
if (!secretKey || !webhookSecret) {
  console.error('Set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.');
  process.exit(1);
}
const protocol = env.STRIPE_API_PROTOCOL === 'http' ? 'http' : 'https';

const service = await startCardService({
  port: Number(env.CARD_PORT ?? 8407),
  host: env.CARD_HOST ?? '127.0.0.1',
  publicUrl: env.CARD_PUBLIC_URL,
  dbPath: env.CARD_DB_PATH ?? './.data/card.sqlite',
  stripe: {
    host: env.STRIPE_API_HOST ?? 'api.stripe.com',
    port: Number(env.STRIPE_API_PORT ?? (protocol === 'https' ? 443 : 80)),
    protocol,
    secretKey,
  },
  webhookSecret,
  adminToken: env.CARD_ADMIN_TOKEN,
  receiptSigningKey: env.CARD_RECEIPT_KEY,
});
console.log(`Paybound card service listening on ${service.url} (receipt key ${service.receiptKeyId})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void service.close().then(() => process.exit(0));
  });
}
