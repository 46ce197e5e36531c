// Reading a BOLT11 invoice someone else made (a refund invoice from a payer's wallet): amount,
// payment hash, network and expiry. The signature is not checked here; the app's LNbits refuses an
// invoice it cannot pay, and paying the wrong payee only happens if the payer sent it.
import { decode as decodeBolt11 } from 'light-bolt11-decoder';

export type LightningNetwork = 'mainnet' | 'testnet' | 'signet' | 'regtest';

export interface ReadInvoice {
  /** null: an amountless invoice. */
  amountMsat: bigint | null;
  paymentHash: string;
  network: LightningNetwork | null;
  /** Unix seconds. */
  timestamp: number;
  /** Unix seconds after which the invoice can no longer be paid. */
  expiresAt: number;
}

const NETWORKS: Readonly<Record<string, LightningNetwork>> = {
  bc: 'mainnet',
  tb: 'testnet',
  tbs: 'signet',
  bcrt: 'regtest',
};

/** Decodes an invoice; null when it is not a well-formed BOLT11 string. */
export function readInvoice(bolt11: string): ReadInvoice | null {
  if (typeof bolt11 !== 'string' || bolt11.length > 4096 || !/^ln[a-z0-9]+$/i.test(bolt11.trim()))
    return null;
  let decoded: ReturnType<typeof decodeBolt11>;
  try {
    decoded = decodeBolt11(bolt11.trim());
  } catch {
    return null;
  }
  let amountMsat: bigint | null = null;
  let paymentHash: string | undefined;
  let network: LightningNetwork | null = null;
  let timestamp: number | undefined;
  for (const section of decoded.sections) {
    if (section.name === 'amount') amountMsat = BigInt(section.value);
    if (section.name === 'payment_hash') paymentHash = section.value;
    if (section.name === 'timestamp') timestamp = section.value;
    if (section.name === 'coin_network') network = NETWORKS[section.value?.bech32 ?? ''] ?? null;
  }
  if (paymentHash === undefined || timestamp === undefined) return null;
  // BOLT11: without an `x` field an invoice expires an hour after its timestamp.
  const expiry = typeof decoded.expiry === 'number' ? decoded.expiry : 3600;
  return { amountMsat, paymentHash, network, timestamp, expiresAt: timestamp + expiry };
}
