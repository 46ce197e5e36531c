/**
 * Lying merchants: real signed invoices and real macaroons put together wrongly, served as 402s
 * on the demo app's origin through Playwright's request interception.
 */
import { randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { encode, sign } from 'bolt11';
import type { Page } from 'playwright-core';
import { LightningNode } from '../../../server/standins/lightning/node';

export { macaroonFor } from '../../fixtures/l402';

/** A regtest invoice from a node of its own; `ageSeconds` back-dates it (for expiry). */
export function regtestInvoice(
  opts: { amountMsat?: bigint; ageSeconds?: number; expirySeconds?: number } = {},
) {
  const node = new LightningNode({ now: () => Date.now() - (opts.ageSeconds ?? 0) * 1000 });
  const wallet = node.createWallet({ name: 'liar' });
  return node.createInvoice(wallet.id, {
    ...(opts.amountMsat !== undefined ? { amountMsat: opts.amountMsat } : {}),
    memo: 'liar',
    ...(opts.expirySeconds !== undefined ? { expirySeconds: opts.expirySeconds } : {}),
  });
}

/** A correctly signed invoice for Bitcoin mainnet. */
export function mainnetInvoice(amountMsat: bigint): { bolt11: string; paymentHash: string } {
  const paymentHash = randomBytes(32).toString('hex');
  const key = Buffer.from(secp256k1.utils.randomSecretKey()).toString('hex');
  const signed = sign(
    encode(
      {
        millisatoshis: amountMsat.toString(),
        timestamp: Math.floor(Date.now() / 1000),
        tags: [
          { tagName: 'payment_hash', data: paymentHash },
          { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
          { tagName: 'description', data: 'liar' },
          {
            tagName: 'feature_bits',
            data: { word_length: 3, var_onion_optin: { required: true }, payment_secret: { required: true } },
          },
        ],
      },
      false,
    ),
    key,
  );
  return { bolt11: signed.paymentRequest ?? '', paymentHash };
}

/** Serves `WWW-Authenticate: <header>` with a 402 at `<origin>/api/lie` for this page. */
export async function serveLie(page: Page, origin: string, header: string): Promise<string> {
  const url = `${origin}/api/lie`;
  await page.route(url, (route) =>
    route.fulfill({
      status: 402,
      headers: { 'www-authenticate': header, 'content-type': 'application/json' },
      body: JSON.stringify({ error: 'payment_required' }),
    }),
  );
  return url;
}
