/** What the settings page may send to link a wallet: checked for shape before anything is stored. */
import * as v from 'valibot';

const Network = v.optional(v.picklist(['mainnet', 'testnet', 'signet', 'regtest']), 'mainnet');
const Label = v.pipe(v.string(), v.minLength(1), v.maxLength(60));

export const AddRailInput = v.variant('kind', [
  v.strictObject({
    kind: v.literal('lnbits'),
    label: Label,
    network: Network,
    url: v.pipe(
      v.string(),
      v.url('the LNbits address must be a URL'),
      v.regex(/^https?:\/\//, 'the LNbits address must be http(s)'),
    ),
    adminKey: v.pipe(
      v.string(),
      v.regex(/^[0-9a-f]{32}$/i, 'an LNbits admin key is 32 hexadecimal characters'),
    ),
  }),
  v.strictObject({
    kind: v.literal('nwc'),
    label: Label,
    network: Network,
    uri: v.pipe(
      v.string(),
      v.check(
        isNwcUri,
        'a Nostr Wallet Connect string looks like nostr+walletconnect://<64 hex>?relay=wss://…&secret=<64 hex>',
      ),
    ),
  }),
  v.strictObject({ kind: v.literal('webln'), label: Label, network: Network }),
  /** The page's Ethereum wallet, for x402: `mainnet` pays on main networks, `testnet` on test networks. */
  v.strictObject({
    kind: v.literal('ethereum'),
    label: Label,
    network: v.optional(v.picklist(['mainnet', 'testnet']), 'mainnet'),
  }),
]);

export function isNwcUri(uri: string): boolean {
  const m = /^nostr\+walletconnect:\/\/([0-9a-f]{64})\?(.+)$/i.exec(uri);
  if (!m) return false;
  const params = new URLSearchParams(m[2]);
  const relay = params.get('relay');
  return /^[0-9a-f]{64}$/i.test(params.get('secret') ?? '') && relay !== null && /^wss?:\/\/\S+$/.test(relay);
}
