/**
 * The demo's x402 route, behind the real x402 v2 middleware from npm (@x402/express), pointed at a
 * facilitator (the stand-in in the dev stack):
 *
 *   POST /x402/generate {prompt}
 *     402 with PAYMENT-REQUIRED (USDC on Base Sepolia, `exact`, a fixed price), or, with a valid
 *     PAYMENT-SIGNATURE, 200 {text, words, paid: {amount, token, asset, network}} and PAYMENT-RESPONSE.
 *   POST /x402/upto/generate {prompt}
 *     402 `upto` (a Permit2 permit for at most 0.05 USDC); paid, it settles what the text cost
 *     (0.005 USDC a word of the prompt, at most the maximum) through the middleware's settlement
 *     override, and says so in PAYMENT-RESPONSE.
 *   POST /x402/v1/generate {prompt}   the same in x402 v1, by hand (x402-v1.ts)
 *
 * Only these paths go through Express; the rest of the demo stays on plain node:http. The
 * middleware asks the facilitator what it supports when it is built, so the facilitator must be
 * up first; `startX402Route` also waits for that answer, so a stack with a broken facilitator
 * fails to start instead of answering its first paid request with a 502.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPFacilitatorClient, x402HTTPResourceServer } from '@x402/core/server';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { UptoEvmScheme } from '@x402/evm/upto/server';
import { paymentMiddleware, setSettlementOverrides, x402ResourceServer } from '@x402/express';
import express, { type Request, type Response } from 'express';
import { generateText } from './generator';
import { countWords } from './pricing';
import { X402_V1_PATH, x402V1Route } from './x402-v1';

export const X402_PATH = '/x402/generate';
export const X402_UPTO_PATH = '/x402/upto/generate';
/** The upto route's maximum (0.05 USDC) and what it settles per word of the prompt (0.005 USDC). */
export const X402_UPTO_MAX = '50000';
export const X402_UPTO_PER_WORD = 5000n;
/** USDC on Base Sepolia; the demo app takes test money only. */
export const X402_NETWORK = 'eip155:84532';
const USDC_BASE_SEPOLIA = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
/** 0.01 USDC (6 decimals) per request. */
export const X402_DEFAULT_PRICE = '10000';

export interface DemoX402Options {
  facilitatorUrl: string;
  /** Who is paid: the app's address. */
  payTo: `0x${string}`;
  /** Base units of USDC per request; default 10000 (one cent). */
  priceBaseUnits?: string;
  maxTimeoutSeconds?: number;
}

export interface DemoX402Route {
  /** Whether the request is for the x402 route (then `handle` answers it). */
  owns(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** CORS for the x402 route: the payment headers must be sendable and readable cross-origin. */
const CORS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  // @x402/fetch adds Access-Control-Expose-Headers to its retry, which makes it preflighted.
  'Access-Control-Allow-Headers': 'Content-Type, PAYMENT-SIGNATURE, X-PAYMENT, Access-Control-Expose-Headers',
  'Access-Control-Expose-Headers': 'PAYMENT-REQUIRED, PAYMENT-RESPONSE',
  'Access-Control-Max-Age': '600',
};

export async function startX402Route(opts: DemoX402Options): Promise<DemoX402Route> {
  const resourceServer = new x402ResourceServer(new HTTPFacilitatorClient({ url: opts.facilitatorUrl }))
    .register(X402_NETWORK, new ExactEvmScheme())
    .register(X402_NETWORK, new UptoEvmScheme());
  const routes = {
    [`POST ${X402_PATH}`]: {
      accepts: {
        scheme: 'exact',
        network: X402_NETWORK,
        payTo: opts.payTo,
        price: {
          amount: opts.priceBaseUnits ?? X402_DEFAULT_PRICE,
          asset: USDC_BASE_SEPOLIA,
          extra: { name: 'USDC', version: '2' },
        },
        maxTimeoutSeconds: opts.maxTimeoutSeconds ?? 120,
      },
      description: 'Quill: generate text for a prompt',
      mimeType: 'application/json',
    },
    [`POST ${X402_UPTO_PATH}`]: {
      accepts: {
        scheme: 'upto',
        network: X402_NETWORK,
        payTo: opts.payTo,
        price: { amount: X402_UPTO_MAX, asset: USDC_BASE_SEPOLIA, extra: { name: 'USDC', version: '2' } },
        maxTimeoutSeconds: opts.maxTimeoutSeconds ?? 120,
      },
      description: 'Quill: generate text, priced by the word (at most 0.05 USDC)',
      mimeType: 'application/json',
    },
  } as const;
  // The same check the middleware makes on its own, awaited: the facilitator answers /supported.
  await new x402HTTPResourceServer(resourceServer, routes).initialize();

  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value);
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  });
  app.use(express.json({ limit: '16kb' }));
  app.use(paymentMiddleware(routes, resourceServer));
  app.post(X402_PATH, (req: Request, res: Response) => {
    const prompt: unknown = (req.body as Record<string, unknown> | undefined)?.prompt;
    if (typeof prompt !== 'string' || prompt.trim() === '' || [...prompt].length > 2000) {
      res.status(422).json({ error: 'prompt must be a non-empty string of at most 2000 characters' });
      return;
    }
    res.json({
      text: generateText(prompt),
      words: countWords(prompt),
      paid: {
        amount: opts.priceBaseUnits ?? X402_DEFAULT_PRICE,
        token: 'USDC',
        asset: USDC_BASE_SEPOLIA,
        network: X402_NETWORK,
      },
    });
  });
  app.post(X402_UPTO_PATH, (req: Request, res: Response) => {
    const prompt: unknown = (req.body as Record<string, unknown> | undefined)?.prompt;
    if (typeof prompt !== 'string' || prompt.trim() === '' || [...prompt].length > 2000) {
      res.status(422).json({ error: 'prompt must be a non-empty string of at most 2000 characters' });
      return;
    }
    // What the work cost, at most the maximum the payer permitted: the middleware settles this.
    const words = countWords(prompt);
    const cost = BigInt(words) * X402_UPTO_PER_WORD;
    const amount = (cost < BigInt(X402_UPTO_MAX) ? cost : BigInt(X402_UPTO_MAX)).toString();
    setSettlementOverrides(res, { amount });
    res.json({
      text: generateText(prompt),
      words,
      paid: { amount, token: 'USDC', asset: USDC_BASE_SEPOLIA, network: X402_NETWORK },
    });
  });
  app.use((_req: Request, res: Response) => {
    res.status(405).json({ error: 'method not allowed', allow: 'POST, OPTIONS' });
  });

  const v1 = x402V1Route(opts);
  return {
    owns: (path) => path === X402_PATH || path === X402_UPTO_PATH || path === X402_V1_PATH,
    handle: (req, res) => {
      if (v1.owns((req.url ?? '').split('?', 1)[0] ?? '')) v1.handle(req, res);
      else app(req, res);
    },
  };
}
