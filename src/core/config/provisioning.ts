/**
 * Development provisioning: a JSON file, read when a development build is made, that pre-connects
 * rails and presets settings so the demo, the tests and an evaluator start with a working wallet.
 * Production builds never carry it (see vite.config.ts).
 */
import * as v from 'valibot';
import { RateSourcesSchema } from './rate-sources';

const railCommon = {
  id: v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]{1,40}$/))),
  label: v.optional(v.pipe(v.string(), v.maxLength(80))),
  /** The Lightning network the wallet pays on; invoices for any other are refused. */
  network: v.optional(v.picklist(['mainnet', 'testnet', 'signet', 'regtest']), 'mainnet'),
};

export const ProvisionSchema = v.strictObject({
  /** ISO 4217 code of the user's currency. */
  currency: v.optional(v.pipe(v.string(), v.regex(/^[A-Z]{3}$/)), 'USD'),
  rails: v.optional(
    v.array(
      v.variant('kind', [
        v.strictObject({
          kind: v.literal('lnbits'),
          ...railCommon,
          url: v.pipe(v.string(), v.url()),
          adminKey: v.pipe(v.string(), v.minLength(8), v.maxLength(200)),
        }),
        v.strictObject({
          kind: v.literal('nwc'),
          ...railCommon,
          /** nostr+walletconnect://<wallet pubkey>?relay=<ws url>&secret=<hex> */
          uri: v.pipe(v.string(), v.startsWith('nostr+walletconnect://'), v.maxLength(2000)),
        }),
        v.strictObject({ kind: v.literal('webln'), ...railCommon }),
        /** The page's Ethereum wallet (x402): `mainnet` pays on main networks, else on test networks. */
        v.strictObject({ kind: v.literal('ethereum'), ...railCommon }),
      ]),
    ),
    [],
  ),
  /**
   * Sites the profile starts as if the user had already approved a payment to them (their
   * payees known), optionally allowed to pay automatically: lets tests and demos start past the
   * first-payment prompt. A site is a registrable domain (`127.0.0.1`, `example.com`).
   */
  sites: v.optional(
    v.array(
      v.strictObject({
        site: v.pipe(v.string(), v.regex(/^[a-z0-9.:-]{1,253}$/)),
        payees: v.optional(
          v.array(
            v.strictObject({
              kind: v.picklist(['node', 'card', 'address']),
              id: v.pipe(v.string(), v.maxLength(200)),
            }),
          ),
          [],
        ),
        /** Let it pay automatically: per charge (default: the global automatic limit) and per day. */
        autoPay: v.optional(
          v.strictObject({
            perChargeMinor: v.optional(v.pipe(v.string(), v.regex(/^\d{1,15}$/))),
            perDayMinor: v.pipe(v.string(), v.regex(/^\d{1,15}$/)),
          }),
        ),
      }),
    ),
    [],
  ),
  /** The daily cap on automatic payments across all sites, minor units (default 200). */
  autoDayCapMinor: v.optional(v.pipe(v.string(), v.regex(/^\d{1,15}$/))),
  /** Base URL of the card service that links cards (server/card). */
  cardServiceUrl: v.optional(v.pipe(v.string(), v.url())),
  /**
   * The exchange-rate sources, each a known kind (coinbase, kraken, mempool, alby, yadio) at its
   * public API or at a URL that serves that API's paths and shape (the dev stack's stand-in).
   */
  rateSources: v.optional(RateSourcesSchema),
});

export type Provision = v.InferOutput<typeof ProvisionSchema>;
/** What a provisioning file may say (defaults not yet filled in). */
export type ProvisionInput = v.InferInput<typeof ProvisionSchema>;

export function parseProvision(raw: unknown): Provision {
  const result = v.safeParse(ProvisionSchema, raw);
  if (!result.success) {
    const issues = result.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid provisioning file: ${issues}`);
  }
  return result.output;
}
