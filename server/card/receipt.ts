// Receipts the card service signs for an authorized payment, so that an app can check, without a
// network call and without holding any secret, that a PaymentIntent was authorized for its challenge.
//
// Format: a JWS compact serialization (RFC 7515) with EdDSA over Ed25519 (RFC 8037):
//   base64url(header) "." base64url(payload) "." base64url(signature over the first two parts)
//   header  = {"alg":"EdDSA","typ":"paybound-card-receipt","kid":"<key id>"}
//   payload = {"v":1,"iss":"<card service URL>","challengeId":"…","paymentIntent":"pi_…",
//              "amount":"<authorized minor units, decimal string>","currency":"usd",
//              "destination":"acct_…","iat":<unix s>,"exp":<unix s>}
// A subscription receipt (plans) is the same JWS with its own type, so that neither kind can pass
// for the other:
//   header  = {"alg":"EdDSA","typ":"paybound-card-subscription-receipt","kid":"<key id>"}
//   payload = {"v":1,"type":"subscription","iss":"…","challengeId":"…","subscription":"sub_…",
//              "amount":"<per period, minor units>","currency":"usd","interval":"month",
//              "intervalCount":1,"destination":"acct_…","iat":<unix s>,"exp":<unix s>}
// Neither names the device: the app learns what was bought, not who bought it.
// The public keys are published as a JWKS at GET /api/receipt-keys: the signing key first, then
// the others still configured (rotation).
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

export const RECEIPT_TYPE = 'paybound-card-receipt';

export interface ReceiptClaims {
  v: 1;
  iss: string;
  challengeId: string;
  paymentIntent: string;
  amount: string;
  currency: string;
  destination: string;
  iat: number;
  exp: number;
}

export const SUBSCRIPTION_RECEIPT_TYPE = 'paybound-card-subscription-receipt';

export type PlanInterval = 'day' | 'week' | 'month' | 'year';

export interface SubscriptionReceiptClaims {
  v: 1;
  type: 'subscription';
  iss: string;
  challengeId: string;
  subscription: string;
  amount: string;
  currency: string;
  interval: PlanInterval;
  intervalCount: number;
  destination: string;
  iat: number;
  exp: number;
}

export interface Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

export interface ReceiptSigner {
  /** The key that signs (the first configured). */
  keyId: string;
  publicKey: Uint8Array;
  /** Every published key, the signing key first. */
  keys: { kid: string; publicKey: Uint8Array }[];
  sign(claims: ReceiptClaims): string;
  signSubscription(claims: SubscriptionReceiptClaims): string;
  jwks(): { keys: Jwk[] };
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

export function keyIdOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('base64url').slice(0, 16);
}

/** Signs with the first key; publishes all of them. */
export function receiptSigner(keys: readonly { kid: string; secretKey: Uint8Array }[]): ReceiptSigner {
  const first = keys[0];
  if (!first) throw new RangeError('at least one receipt key is needed');
  for (const k of keys) {
    if (k.secretKey.length !== 32) throw new RangeError('an Ed25519 secret key is 32 bytes');
  }
  const published = keys.map((k) => ({ kid: k.kid, publicKey: ed25519.getPublicKey(k.secretKey) }));
  const secretKey = first.secretKey;
  const keyId = first.kid;
  const signAs = (typ: string, claims: object) => {
    const header = b64url(JSON.stringify({ alg: 'EdDSA', typ, kid: keyId }));
    const payload = b64url(JSON.stringify(claims));
    const signingInput = `${header}.${payload}`;
    const signature = ed25519.sign(new TextEncoder().encode(signingInput), secretKey);
    return `${signingInput}.${b64url(signature)}`;
  };
  return {
    keyId,
    publicKey: published[0]!.publicKey,
    keys: published,
    sign: (claims) => signAs(RECEIPT_TYPE, claims),
    signSubscription: (claims) => signAs(SUBSCRIPTION_RECEIPT_TYPE, claims),
    jwks() {
      return {
        keys: published.map((k) => ({
          kty: 'OKP' as const,
          crv: 'Ed25519' as const,
          x: b64url(k.publicKey),
          kid: k.kid,
          alg: 'EdDSA' as const,
          use: 'sig' as const,
        })),
      };
    },
  };
}
