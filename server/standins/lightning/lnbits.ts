/**
 * The LNbits REST API over a LightningNode, on plain node:http. Paths, the X-Api-Key header and
 * the JSON shapes follow LNbits 1.x (lnbits/core/views/payment_api.py, wallet_api.py,
 * lnbits/decorators.py, lnbits/exceptions.py, lnbits/core/models/payments.py):
 *
 *   GET  /api/v1/wallet                invoice or admin key → {name, balance (msat)}, plus id for admin
 *   POST /api/v1/payments  out:false   invoice key → 201 Payment {payment_hash, payment_request,
 *                                      bolt11, checking_id, amount (msat), status, ...}
 *   POST /api/v1/payments  out:true    admin key → 201 Payment (status "success", preimage)
 *   GET  /api/v1/payments              invoice key → Payment[], newest first (?limit, ?offset)
 *   GET  /api/v1/payments/{hash}       key optional → {paid, status, preimage, details (own wallet)}
 *
 * Status codes as LNbits gives them:
 *   401 {"detail":"No Api Key provided."}            no key (header X-Api-Key or ?api-key=)
 *   404 {"detail":"Wallet not found."}               a key no wallet has (LNbits answers 404, not 401)
 *   403 {"detail":"Invoice (or Admin) key required."} out:true with an invoice key (0.12 used 401)
 *   400 {"detail":"..."}                             malformed JSON or fields: LNbits turns FastAPI's
 *                                                    422 validation errors into 400; also ValueErrors
 *   400 {"detail":"Missing BOLT11 invoice"}          out:true without bolt11
 *   520 {"detail":"...","status":"failed"}           every PaymentError/InvoiceError: undecodable
 *                                                    bolt11 ("Bolt11 decoding failed."), "Amountless
 *                                                    invoices not supported.", "Insufficient balance.",
 *                                                    "Internal invoice already paid.", "Payment failed: …"
 *                                                    (LNbits ≤0.12 answered 400 for a bad bolt11)
 *   404 {"detail":"Payment does not exist."}         unknown payment hash
 *   404 {"detail":"Not Found"} / 405                 unknown path / method, as FastAPI
 *
 * Stand-in control endpoints (not in LNbits; no key needed, the stand-in listens on localhost):
 *   POST /_standin/fail   {wallet: id|name, mode, count?, delayMs?}  queue failures for the next
 *        outgoing payments: insufficient_balance | timeout (held delayMs, then 520) |
 *        route_failure | wrong_preimage (debits, answers success with a random preimage) |
 *        hold (in flight until released) | late_answer (paid at once, answered when released)
 *   POST /_standin/clear  {wallet?}                   drop queued failures (all wallets if omitted)
 *   POST /_standin/release                           let `hold` payments and `late_answer` answers go on
 *   POST /_standin/fund   {wallet, amountMsat}        add (or remove, if negative) funds
 *   GET  /_standin/invoices/{hash}                    invoice state: open|settled|cancelled|expired
 *   POST /_standin/invoices/{hash}/cancel             cancel an open invoice
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  FAILURE_MODES,
  type FailureMode,
  type LightningNode,
  type Payment,
  PaymentError,
  type Wallet,
} from './node';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: JsonObject,
  ) {
    super(typeof body.detail === 'string' ? body.detail : `HTTP ${status}`);
  }
}

const detail = (status: number, message: string) => new HttpError(status, { detail: message });

const MAX_BODY_BYTES = 1 << 20;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const HEX32 = /^[0-9a-f]{64}$/;
// LNbits uses its site title when an invoice has no memo.
const DEFAULT_MEMO = 'LNbits';

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'X-Api-Key, Content-Type',
  'Access-Control-Max-Age': '600',
};

export function createLnbitsServer(node: LightningNode): Server {
  return createServer((req, res) => {
    handle(node, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) send(res, err.status, err.body);
      else send(res, 500, { detail: 'Internal Server Error' });
    });
  });
}

type Handler = (ctx: {
  node: LightningNode;
  req: IncomingMessage;
  url: URL;
  params: string[];
}) => Promise<[number, Json]>;

const ROUTES: { pattern: RegExp; methods: Record<string, Handler> }[] = [
  { pattern: /^\/api\/v1\/wallet$/, methods: { GET: getWallet } },
  { pattern: /^\/api\/v1\/payments$/, methods: { GET: listPayments, POST: createPayment } },
  { pattern: /^\/api\/v1\/payments\/([^/]+)$/, methods: { GET: getPayment } },
  { pattern: /^\/_standin\/fail$/, methods: { POST: standinFail } },
  { pattern: /^\/_standin\/clear$/, methods: { POST: standinClear } },
  { pattern: /^\/_standin\/release$/, methods: { POST: standinRelease } },
  { pattern: /^\/_standin\/fund$/, methods: { POST: standinFund } },
  { pattern: /^\/_standin\/invoices\/([^/]+)$/, methods: { GET: standinInvoice } },
  { pattern: /^\/_standin\/invoices\/([^/]+)\/cancel$/, methods: { POST: standinCancel } },
];

async function handle(node: LightningNode, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'OPTIONS') {
    // Chrome asks before a public page (or worker) reaches a private address.
    const pna = req.headers['access-control-request-private-network'] === 'true';
    res.writeHead(204, {
      ...CORS_HEADERS,
      ...(pna ? { 'Access-Control-Allow-Private-Network': 'true' } : {}),
    });
    res.end();
    return;
  }
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://standin.invalid');
  } catch {
    throw detail(400, 'Bad request target');
  }
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const handler = route.methods[req.method ?? ''];
    if (!handler) throw detail(405, 'Method Not Allowed');
    const params = match.slice(1).map((p) => safeDecode(p));
    const [status, body] = await handler({ node, req, url, params });
    send(res, status, body);
    return;
  }
  throw detail(404, 'Not Found');
}

function send(res: ServerResponse, status: number, body: Json): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...CORS_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The request body as JSON. FastAPI parses it before checking keys, so this comes first too. */
async function readJson(req: IncomingMessage, optional = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw detail(413, 'Request body too large');
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    if (optional) return {};
    throw detail(400, 'body: Field required');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw detail(400, 'body: JSON decode error');
  }
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw detail(400, 'body: Input should be a valid dictionary or object');
  }
  return value as Record<string, unknown>;
}

function apiKey(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers['x-api-key'];
  return (Array.isArray(header) ? header[0] : header) || url.searchParams.get('api-key') || undefined;
}

function requireKey(
  node: LightningNode,
  req: IncomingMessage,
  url: URL,
): { wallet: Wallet; keyType: 'admin' | 'invoice' } {
  const key = apiKey(req, url);
  if (!key) throw detail(401, 'No Api Key provided.');
  const found = node.walletForKey(key);
  if (!found) throw detail(404, 'Wallet not found.');
  return found;
}

// ---- field readers: each throws a 400 like LNbits' validation handler ----

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw detail(400, `${key}: Input should be a valid string`);
  return value;
}

function optionalInteger(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw detail(400, `${key}: Input should be a valid integer`);
  return value;
}

function optionalBoolean(body: Record<string, unknown>, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw detail(400, `${key}: Input should be a valid boolean`);
  return value;
}

function msatFrom(value: unknown, key: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return BigInt(value);
  throw detail(400, `${key}: Input should be an integer number of millisatoshis`);
}

function json(n: bigint): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error('amount does not fit a JSON number');
  }
  return Number(n);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** LNbits' Payment model. */
function paymentJson(p: Payment): JsonObject {
  return {
    checking_id: p.checkingId,
    payment_hash: p.paymentHash,
    wallet_id: p.walletId,
    amount: json(p.amountMsat),
    fee: json(p.feeMsat),
    bolt11: p.bolt11,
    payment_request: p.bolt11,
    fiat_provider: null,
    status: p.status,
    memo: p.memo,
    expiry: p.expiry === null ? null : iso(p.expiry * 1000),
    webhook: null,
    webhook_status: null,
    preimage: p.preimage,
    tag: null,
    extension: null,
    time: iso(p.time),
    created_at: iso(p.time),
    updated_at: iso(p.time),
    labels: [],
    extra: {},
  };
}

// ---- LNbits endpoints ----

async function getWallet({ node, req, url }: Parameters<Handler>[0]): Promise<[number, Json]> {
  const { wallet, keyType } = requireKey(node, req, url);
  const body: JsonObject = { name: wallet.name, balance: json(wallet.balanceMsat) };
  if (keyType === 'admin') body.id = wallet.id;
  return [200, body];
}

async function listPayments({ node, req, url }: Parameters<Handler>[0]): Promise<[number, Json]> {
  const { wallet } = requireKey(node, req, url);
  const page: { limit?: number; offset?: number } = {};
  for (const key of ['limit', 'offset'] as const) {
    const raw = url.searchParams.get(key);
    if (raw === null) continue;
    if (!/^\d{1,9}$/.test(raw)) throw detail(400, `${key}: Input should be a valid integer`);
    page[key] = Number(raw);
  }
  return [200, node.payments(wallet.id, page).map(paymentJson)];
}

async function createPayment({ node, req, url }: Parameters<Handler>[0]): Promise<[number, Json]> {
  const raw = await readJson(req);
  const { wallet, keyType } = requireKey(node, req, url);
  const body = asObject(raw);
  // LNbits' CreateInvoice defaults `out` to true.
  const out = optionalBoolean(body, 'out') ?? true;
  if (out) {
    if (keyType !== 'admin') throw detail(403, 'Invoice (or Admin) key required.');
    const bolt11 = optionalString(body, 'bolt11');
    if (!bolt11) throw detail(400, 'Missing BOLT11 invoice');
    try {
      return [201, paymentJson(await node.payInvoice(wallet.id, bolt11.trim()))];
    } catch (err) {
      if (err instanceof PaymentError) throw new HttpError(520, { detail: err.message, status: 'failed' });
      throw err;
    }
  }

  const unit = optionalString(body, 'unit') ?? 'sat';
  // LNbits also takes fiat units (converted at its own rate); the stand-in has no rate source.
  if (unit !== 'sat') throw detail(400, 'unit: The provided unit is not supported');
  const amount = body.amount;
  if (amount === undefined || amount === null) throw detail(400, 'amount: Field required');
  if (typeof amount !== 'number' || !Number.isFinite(amount))
    throw detail(400, 'amount: Input should be a valid number');
  if (amount < 0) throw detail(400, 'amount: Input should be greater than or equal to 0');
  // Money is whole sats here; LNbits would silently truncate a fraction.
  if (!Number.isSafeInteger(amount)) throw detail(400, 'amount: Input should be a whole number of sats');
  if (amount === 0)
    throw new HttpError(520, { detail: 'Amountless invoices not supported.', status: 'failed' });
  let memo = optionalString(body, 'memo') ?? '';
  if (memo.length > 640) throw detail(400, 'memo: String should have at most 640 characters');
  const expiry = optionalInteger(body, 'expiry');
  if (expiry !== undefined && expiry <= 0) throw detail(400, 'expiry: Input should be greater than 0');

  let descriptionHash = optionalString(body, 'description_hash');
  const unhashed = optionalString(body, 'unhashed_description');
  if (descriptionHash !== undefined) {
    descriptionHash = descriptionHash.toLowerCase();
    if (!HEX32.test(descriptionHash)) throw detail(400, "'description_hash' must be a valid hex string");
  } else if (unhashed !== undefined) {
    if (!HEX.test(unhashed)) throw detail(400, "'unhashed_description' must be a valid hex string");
    descriptionHash = createHash('sha256').update(Buffer.from(unhashed, 'hex')).digest('hex');
  }
  if (descriptionHash !== undefined)
    memo = ''; // LNbits keeps no memo for hashed descriptions
  else if (memo === '') memo = DEFAULT_MEMO;

  let invoice: ReturnType<LightningNode['createInvoice']>;
  try {
    invoice = node.createInvoice(wallet.id, {
      amountMsat: BigInt(amount) * 1000n,
      memo,
      ...(descriptionHash !== undefined ? { descriptionHash } : {}),
      ...(expiry !== undefined ? { expirySeconds: expiry } : {}),
    });
  } catch (err) {
    throw detail(400, err instanceof Error ? err.message : 'invalid invoice request');
  }
  const payment = node.payment(invoice.paymentHash, wallet.id);
  if (!payment) throw new Error('the new invoice has no payment record');
  return [201, paymentJson(payment)];
}

async function getPayment({ node, req, url, params }: Parameters<Handler>[0]): Promise<[number, Json]> {
  const hash = (params[0] ?? '').toLowerCase();
  // The key is optional here: with a valid key, only that wallet's payment is found, with details.
  const key = apiKey(req, url);
  const wallet = key ? node.walletForKey(key)?.wallet : undefined;
  const payment = node.payment(hash, wallet?.id);
  if (!payment) throw detail(404, 'Payment does not exist.');
  const body: JsonObject = {
    paid: payment.status === 'success',
    status: payment.status,
    preimage: payment.status === 'success' ? payment.preimage : null,
  };
  if (wallet) body.details = paymentJson(payment);
  return [200, body];
}

// ---- stand-in control ----

function standinWallet(node: LightningNode, body: Record<string, unknown>): Wallet {
  const ref = optionalString(body, 'wallet');
  if (!ref) throw detail(400, 'wallet: Field required');
  const wallet = node.wallet(ref);
  if (!wallet) throw detail(404, `unknown wallet "${ref}"`);
  return wallet;
}

async function standinFail({ node, req }: Parameters<Handler>[0]): Promise<[number, Json]> {
  const body = asObject(await readJson(req));
  const wallet = standinWallet(node, body);
  const mode = optionalString(body, 'mode');
  if (!mode || !(FAILURE_MODES as readonly string[]).includes(mode)) {
    throw detail(400, `mode: must be one of ${FAILURE_MODES.join(', ')}`);
  }
  const count = optionalInteger(body, 'count');
  const delayMs = optionalInteger(body, 'delayMs');
  try {
    node.injectFailure(wallet.id, {
      mode: mode as FailureMode,
      ...(count !== undefined ? { count } : {}),
      ...(delayMs !== undefined ? { delayMs } : {}),
    });
  } catch (err) {
    throw detail(400, err instanceof Error ? err.message : 'invalid failure');
  }
  return [200, { wallet: wallet.id, failures: failuresJson(node, wallet) }];
}

function failuresJson(node: LightningNode, wallet: Wallet): Json {
  return node
    .pendingFailures(wallet.id)
    .map((f) => ({ mode: f.mode, count: f.count ?? 1, delayMs: f.delayMs ?? 0 }));
}

async function standinRelease({ node }: Parameters<Handler>[0]): Promise<[number, Json]> {
  return [200, { released: node.releaseHeld() }];
}

async function standinClear({ node, req }: Parameters<Handler>[0]): Promise<[number, Json]> {
  const body = asObject(await readJson(req, true));
  if (body.wallet === undefined) {
    node.clearFailures();
    return [200, { cleared: 'all' }];
  }
  const wallet = standinWallet(node, body);
  node.clearFailures(wallet.id);
  return [200, { cleared: wallet.id }];
}

async function standinFund({ node, req }: Parameters<Handler>[0]): Promise<[number, Json]> {
  const body = asObject(await readJson(req));
  const wallet = standinWallet(node, body);
  const amount = msatFrom(body.amountMsat, 'amountMsat');
  try {
    node.fund(wallet.id, amount);
  } catch (err) {
    throw detail(400, err instanceof Error ? err.message : 'cannot fund');
  }
  return [200, { id: wallet.id, name: wallet.name, balance: json(wallet.balanceMsat) }];
}

function invoiceJson(node: LightningNode, hash: string): JsonObject {
  const invoice = node.invoice(hash.toLowerCase());
  if (!invoice) throw detail(404, 'Invoice does not exist.');
  const state = node.invoiceState(invoice);
  return {
    payment_hash: invoice.paymentHash,
    state,
    wallet_id: invoice.walletId,
    amount_msat: invoice.amountMsat === null ? null : json(invoice.amountMsat),
    paid_msat: invoice.paidMsat === undefined ? null : json(invoice.paidMsat),
    memo: invoice.memo,
    description_hash: invoice.descriptionHash ?? null,
    bolt11: invoice.bolt11,
    created_at: invoice.createdAt,
    expires_at: invoice.expiresAt,
    settled_at: invoice.settledAt ?? null,
    preimage: state === 'settled' ? invoice.preimage : null,
  };
}

async function standinInvoice({ node, params }: Parameters<Handler>[0]): Promise<[number, Json]> {
  return [200, invoiceJson(node, params[0] ?? '')];
}

async function standinCancel({ node, req, params }: Parameters<Handler>[0]): Promise<[number, Json]> {
  await readJson(req, true);
  const hash = (params[0] ?? '').toLowerCase();
  if (!node.invoice(hash)) throw detail(404, 'Invoice does not exist.');
  try {
    node.cancelInvoice(hash);
  } catch (err) {
    throw detail(400, err instanceof Error ? err.message : 'cannot cancel');
  }
  return [200, invoiceJson(node, hash)];
}
