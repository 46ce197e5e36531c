// Shared fixtures for the merchant-kit tests: the Lightning stand-in (LNbits API), a user wallet
// that pays over that API, and small readers for challenges and invoices.
import { createHash, randomBytes } from 'node:crypto';
import { decode } from 'light-bolt11-decoder';
import { encodeIdentifier } from '../../../server/merchant/kit/l402';
import { exportMacaroonBinary, newMacaroon } from '../../../server/merchant/kit/macaroon-lib';
import { DEFAULT_WALLETS, startLightningStandin } from '../../../server/standins/lightning/index';

export type Standin = Awaited<ReturnType<typeof startLightningStandin>>;

export interface WalletKeys {
  adminKey: string;
  invoiceKey: string;
}

/** The stand-in with its `user` and `app` wallets, and any more (empty) wallets named in `more`. */
export async function startStandin(
  more: string[] = [],
): Promise<{ standin: Standin; user: WalletKeys; app: WalletKeys }> {
  const standin = await startLightningStandin({
    port: 0,
    host: '127.0.0.1',
    wallets: [...DEFAULT_WALLETS, ...more.map((name) => ({ name, balanceMsat: 0n }))],
  });
  const user = standin.wallets.user;
  const app = standin.wallets.app;
  if (!user || !app) {
    await standin.close();
    throw new Error('the Lightning stand-in has no user/app wallets');
  }
  return { standin, user, app };
}

async function lnbits(
  base: string,
  key: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    headers: { 'X-Api-Key': key, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Pays a BOLT11 invoice from a wallet through the LNbits API and returns the preimage. */
export async function payInvoice(base: string, payer: WalletKeys, bolt11: string): Promise<string> {
  const paid = await lnbits(base, payer.adminKey, 'POST', '/api/v1/payments', { out: true, bolt11 });
  if (paid.status !== 201 && paid.status !== 200) {
    throw new Error(`payment failed: ${paid.status} ${JSON.stringify(paid.json)}`);
  }
  const hash = String(paid.json.payment_hash);
  const status = await lnbits(base, payer.invoiceKey, 'GET', `/api/v1/payments/${hash}`);
  const preimage = status.json.preimage;
  if (status.json.paid !== true || typeof preimage !== 'string' || !/^[0-9a-f]{64}$/.test(preimage)) {
    throw new Error(`payment ${hash} has no preimage: ${JSON.stringify(status.json)}`);
  }
  return preimage;
}

export async function balanceMsat(base: string, wallet: WalletKeys): Promise<bigint> {
  const info = await lnbits(base, wallet.invoiceKey, 'GET', '/api/v1/wallet');
  return BigInt(info.json.balance as number);
}

export interface ParsedChallenge {
  scheme: string;
  macaroon: string;
  invoice: string;
}

/** Reads L402/LSAT challenges from a WWW-Authenticate value (repeated headers arrive joined by ", "). */
export function parseChallenges(header: string | null): ParsedChallenge[] {
  const out: ParsedChallenge[] = [];
  const re = /(L402|LSAT)\s+macaroon="([^"]*)",\s*invoice="([^"]*)"/gi;
  for (const m of (header ?? '').matchAll(re)) {
    out.push({ scheme: m[1]!, macaroon: m[2]!, invoice: m[3]! });
  }
  return out;
}

export function decodeInvoice(bolt11: string): {
  amountMsat: bigint;
  paymentHash: string;
  description: string;
} {
  let amount: string | undefined;
  let hash: string | undefined;
  let description = '';
  for (const section of decode(bolt11).sections) {
    if (section.name === 'amount') amount = section.value;
    if (section.name === 'payment_hash') hash = section.value;
    if (section.name === 'description') description = section.value;
  }
  if (amount === undefined || hash === undefined) {
    throw new Error('invoice lacks an amount or a payment hash');
  }
  return { amountMsat: BigInt(amount), paymentHash: hash, description };
}

export function macaroonIdentifier(macaroonBase64: string): Buffer {
  // v2 binary: version byte 2, optional location field (type 1), then identifier field (type 2).
  const bytes = Buffer.from(macaroonBase64, 'base64');
  let i = 1;
  for (;;) {
    const type = bytes[i]!;
    const [len, next] = readVarint(bytes, i + 1);
    if (type === 2) return bytes.subarray(next, next + len);
    i = next + len;
  }
}

function readVarint(bytes: Buffer, start: number): [number, number] {
  let value = 0;
  let shift = 0;
  let i = start;
  for (;;) {
    const b = bytes[i++]!;
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, i];
    shift += 7;
  }
}

/** Makes an invoice in a wallet through the LNbits API (what a payer's wallet does for a refund). */
export async function makeInvoice(
  base: string,
  wallet: WalletKeys,
  amountSat: number,
  expirySeconds = 3600,
): Promise<{ bolt11: string; paymentHash: string }> {
  const made = await lnbits(base, wallet.invoiceKey, 'POST', '/api/v1/payments', {
    out: false,
    amount: amountSat,
    memo: 'refund',
    expiry: expirySeconds,
  });
  if (made.status !== 201) throw new Error(`invoice refused: ${made.status} ${JSON.stringify(made.json)}`);
  return { bolt11: String(made.json.payment_request), paymentHash: String(made.json.payment_hash) };
}

/** Queues a failure for a wallet's next outgoing payment (the stand-in's control API). */
export async function failNextPayment(
  base: string,
  walletName: string,
  mode = 'route_failure',
): Promise<void> {
  const res = await fetch(`${base}/_standin/fail`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ wallet: walletName, mode }),
  });
  if (!res.ok) throw new Error(`could not inject a failure: ${res.status}`);
}

/** The decoded `paybound` auth-param of every challenge in a WWW-Authenticate value, in order. */
export function payboundParams(header: string | null): Record<string, unknown>[] {
  return [...(header ?? '').matchAll(/paybound="([A-Za-z0-9_-]*)"/g)].map(
    (m) => JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as Record<string, unknown>,
  );
}

/** Sends one request to a review endpoint. */
export async function review(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Every challenge in a (joined) WWW-Authenticate value: its scheme and auth-params, in order. */
export function challengeList(header: string | null): { scheme: string; params: Record<string, string> }[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  for (const m of (header ?? '').matchAll(
    /(L402|LSAT|Payment)\s+((?:[a-z]+="(?:[^"\\]|\\.)*"(?:,\s*)?)+)/g,
  )) {
    const params: Record<string, string> = {};
    for (const p of m[2]!.matchAll(/([a-z]+)="((?:[^"\\]|\\.)*)"/g))
      params[p[1]!] = p[2]!.replace(/\\(.)/g, '$1');
    out.push({ scheme: m[1]!, params });
  }
  return out;
}

export function decodePaybound(value: string | undefined): Record<string, unknown> {
  if (value === undefined) throw new Error('no paybound param');
  return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Lets the payments a `hold` failure keeps in flight go on (the stand-in's control API). */
export async function releaseHeldPayments(base: string): Promise<void> {
  const res = await fetch(`${base}/_standin/release`, { method: 'POST' });
  if (!res.ok) throw new Error(`could not release held payments: ${res.status}`);
}

/** An outgoing payment's status as its wallet reports it (LNbits: pending, success or failed). */
export async function paymentStatus(base: string, wallet: WalletKeys, paymentHash: string): Promise<string> {
  const { json } = await lnbits(base, wallet.adminKey, 'GET', `/api/v1/payments/${paymentHash}`);
  return String(json.status);
}

/**
 * Asks `read` again, every 10 ms, until it answers `want`: the test goes on when the stand-in says
 * so, not after a guessed time. Fails with the last answer after `tries` asks (a hang guard).
 */
export async function until<T>(read: () => Promise<T>, want: T, tries = 1000): Promise<void> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`still ${String(last)} after ${tries} asks, not ${String(want)}`);
}

/** An invoice's state at the stand-in: open, settled, cancelled or expired. */
export async function invoiceState(base: string, paymentHash: string): Promise<string> {
  const res = await fetch(`${base}/_standin/invoices/${paymentHash}`);
  return String(((await res.json()) as { state?: unknown }).state);
}

/**
 * An L402 credential minted by hand with `rootKey`, as an app's gate mints one: the review proof
 * `<macaroon>:<preimage>` and the charge (its payment hash).
 */
export function mintL402(
  rootKey: string,
  preimage: Buffer = randomBytes(32),
): { charge: string; proof: string } {
  const hash = createHash('sha256').update(preimage).digest();
  const macaroon = newMacaroon({
    identifier: encodeIdentifier(hash, randomBytes(32)),
    location: 'test',
    rootKey: Buffer.from(rootKey, 'hex'),
    version: 2,
  });
  macaroon.addFirstPartyCaveat('services=kit:0');
  const base64 = Buffer.from(exportMacaroonBinary(macaroon)).toString('base64');
  return { charge: hash.toString('hex'), proof: `${base64}:${preimage.toString('hex')}` };
}
