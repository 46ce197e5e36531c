// Receipts the card service signs for an authorized payment, so that an app can check, without a
// network call and without holding any secret, that a PaymentIntent was authorized for its challenge.
//
// Format: a JWS compact serialization (RFC 7515) with EdDSA over Ed25519 (RFC 8037):
//   base64url(header) "." base64url(payload) "." base64url(signature over the first two parts)
//   header  = {"alg":"EdDSA","typ":"paybound-card-receipt","kid":"<key id>"}
//   payload = {"v":1,"iss":"<card service URL>","challengeId":"…","paymentIntent":"pi_…",
//              "amount":"<authorized minor units, decimal string>","currency":"usd",
//              "destination":"acct_…","iat":<unix s>,"exp":<unix s>}
// The public key is published as a JWKS at GET /api/receipt-keys.
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

export interface ReceiptSigner {
  keyId: string;
  publicKey: Uint8Array;
  sign(claims: ReceiptClaims): string;
  jwks(): { keys: { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' }[] };
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

export function keyIdOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('base64url').slice(0, 16);
}

export function newReceiptSecretKey(): Uint8Array {
  return ed25519.utils.randomSecretKey();
}

export function receiptSigner(secretKey: Uint8Array): ReceiptSigner {
  if (secretKey.length !== 32) throw new RangeError('an Ed25519 secret key is 32 bytes');
  const publicKey = ed25519.getPublicKey(secretKey);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKey,
    sign(claims) {
      const header = b64url(JSON.stringify({ alg: 'EdDSA', typ: RECEIPT_TYPE, kid: keyId }));
      const payload = b64url(JSON.stringify(claims));
      const signingInput = `${header}.${payload}`;
      const signature = ed25519.sign(new TextEncoder().encode(signingInput), secretKey);
      return `${signingInput}.${b64url(signature)}`;
    },
    jwks() {
      return {
        keys: [{ kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey), kid: keyId, alg: 'EdDSA', use: 'sig' }],
      };
    },
  };
}
