/**
 * The demo's x402 v1 route, written by hand from the v1 HTTP transport spec (the npm v1 middleware,
 * `x402-express`, brings a wallet app and hundreds of MB of chain SDKs; this is what it does on the
 * wire), settled by the same facilitator as the v2 route:
 *
 *   POST /x402/v1/generate {prompt}
 *     402 {x402Version: 1, error, accepts: [{scheme: 'exact', network: 'base-sepolia',
 *          maxAmountRequired, resource, description, mimeType, outputSchema, payTo,
 *          maxTimeoutSeconds, asset, extra: {name, version}}]}
 *     with X-PAYMENT: base64 {x402Version: 1, scheme, network, payload} → the facilitator's
 *     /verify, the work, its /settle, then 200 {text, words, paid} with X-PAYMENT-RESPONSE: base64 {success,
 *     transaction, network, payer}. A refused or unsettled payment answers 402 again, with the reason.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonBody, requestOrigin } from '../kit/http';
import { generateText } from './generator';
import { countWords } from './pricing';

export const X402_V1_PATH = '/x402/v1/generate';
const USDC_BASE_SEPOLIA = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';

export interface DemoX402V1Options {
  facilitatorUrl: string;
  payTo: `0x${string}`;
  /** Base units of USDC; default 10000 (one cent). */
  priceBaseUnits?: string;
  maxTimeoutSeconds?: number;
}

const CORS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, X-PAYMENT, Access-Control-Expose-Headers',
  'Access-Control-Expose-Headers': 'X-PAYMENT-RESPONSE',
  'Access-Control-Max-Age': '600',
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function x402V1Route(opts: DemoX402V1Options) {
  const facilitator = opts.facilitatorUrl.replace(/\/+$/, '');

  const requirement = (req: IncomingMessage) => ({
    scheme: 'exact',
    network: 'base-sepolia',
    maxAmountRequired: opts.priceBaseUnits ?? '10000',
    resource: `${requestOrigin(req)}${X402_V1_PATH}`,
    description: 'Quill: generate text for a prompt (x402 v1)',
    mimeType: 'application/json',
    outputSchema: null,
    payTo: opts.payTo,
    maxTimeoutSeconds: opts.maxTimeoutSeconds ?? 120,
    asset: USDC_BASE_SEPOLIA,
    extra: { name: 'USDC', version: '2' },
  });

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res
      .writeHead(status, { ...CORS, ...headers, 'content-type': 'application/json' })
      .end(JSON.stringify(body));
  }
  const askToPay = (res: ServerResponse, req: IncomingMessage, error: string) =>
    send(res, 402, { x402Version: 1, error, accepts: [requirement(req)] });

  async function facilitatorCall(path: 'verify' | 'settle', paymentPayload: Json, paymentRequirements: Json) {
    const r = await fetch(`${facilitator}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x402Version: 1, paymentPayload, paymentRequirements }),
    });
    const body: unknown = await r.json().catch(() => undefined);
    return isObject(body) ? body : {};
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS).end();
      return;
    }
    if (req.method !== 'POST')
      return send(res, 405, { error: 'method not allowed' }, { Allow: 'POST, OPTIONS' });
    const body = await readJsonBody(req, 16 * 1024);
    if (!body.ok) return send(res, body.status, { error: body.error });
    const prompt = isObject(body.value) ? body.value.prompt : undefined;
    if (typeof prompt !== 'string' || prompt.trim() === '' || [...prompt].length > 2000) {
      return send(res, 422, { error: 'prompt must be a non-empty string of at most 2000 characters' });
    }
    const header = req.headers['x-payment'];
    if (typeof header !== 'string' || header === '')
      return askToPay(res, req, 'X-PAYMENT header is required');
    let payment: unknown;
    try {
      payment = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
    } catch {
      return askToPay(res, req, 'the X-PAYMENT header is not base64 JSON');
    }
    const wanted = requirement(req);
    if (
      !isObject(payment) ||
      payment.x402Version !== 1 ||
      payment.scheme !== 'exact' ||
      payment.network !== wanted.network
    ) {
      return askToPay(res, req, 'the payment does not answer this requirement');
    }
    const verified = await facilitatorCall('verify', payment, wanted);
    if (verified.isValid !== true)
      return askToPay(res, req, String(verified.invalidReason ?? 'payment refused'));
    const answer = {
      text: generateText(prompt),
      words: countWords(prompt),
      paid: { amount: wanted.maxAmountRequired, token: 'USDC', asset: wanted.asset, network: wanted.network },
    };
    const settled = await facilitatorCall('settle', payment, wanted);
    if (settled.success !== true)
      return askToPay(res, req, String(settled.errorReason ?? 'settlement failed'));
    const receipt = {
      success: true,
      transaction: settled.transaction,
      network: settled.network,
      payer: settled.payer,
    };
    send(res, 200, answer, { 'X-PAYMENT-RESPONSE': Buffer.from(JSON.stringify(receipt)).toString('base64') });
  }

  return {
    owns: (path: string) => path === X402_V1_PATH,
    handle: (req: IncomingMessage, res: ServerResponse) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 502, { error: 'the facilitator could not be reached' });
        else res.destroy();
      });
    },
  };
}
