// An L402 paywall for node:http handlers.
//
//   const paywall = l402Paywall<Body>({ wallet, rootKey, location, service, capability, priceMsat, description });
//   await paywall(req, res, body, (req, res, body, paid) => { ...serve the paid response... });
//
// Without a valid credential the paywall answers 402 itself (fresh invoice + macaroon, CORS headers
// that expose WWW-Authenticate) and never calls the handler. With one, it calls the handler. A paid
// token is reusable for whatever its caveats allow (same service and capability, before it expires,
// and equal values for any request-bound caveats) without paying again.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { applyCors, sendJson } from './http';
import {
  type Caveat,
  type CaveatCheck,
  type L402Challenge,
  L402Gate,
  type L402GateOptions,
  type L402Scheme,
} from './l402';
import { LnbitsError } from './lnbits-client';
import { toMsat } from './money';

/** A caveat bound to the request: minted with `value(req, body)`, checked on reuse (default: equality). */
export interface RequestCaveat<B> {
  condition: string;
  value(req: IncomingMessage, body: B): string;
  check?(minted: string, req: IncomingMessage, body: B): string | null;
}

export interface PaidContext {
  scheme: L402Scheme;
  paymentHash: string;
  tokenId: string;
  /** The price quoted for this request (the token may have been paid for an earlier one). */
  priceMsat: bigint;
}

export type PaidHandler<B> = (
  req: IncomingMessage,
  res: ServerResponse,
  body: B,
  paid: PaidContext | null,
) => void | Promise<void>;

export interface PaymentRequiredInfo {
  /** 'payment_required' when no credential was sent, otherwise why the credential was refused. */
  error: string;
  code: string;
  priceMsat: bigint;
  description: string;
  challenge: L402Challenge;
}

export interface PaywallOptions<B> extends Omit<L402GateOptions, 'service'> {
  /** Service name in the macaroon caveats; default "app". */
  service?: string;
  /** The capability this paywall sells, e.g. "generate". */
  capability: string;
  /** The quote, in integer msat; the invoice is made for exactly this amount. 0 means free. */
  priceMsat(req: IncomingMessage, body: B): bigint | number;
  description(req: IncomingMessage, body: B): string;
  caveats?: readonly RequestCaveat<B>[];
  /** Body of the 402 answer; default JSON {error, price_msat, description}. */
  render402?(info: PaymentRequiredInfo, req: IncomingMessage, body: B): { contentType: string; body: string };
  /** More WWW-Authenticate values for every 402, sent after the L402 ones (e.g. MPP "Payment" challenges). */
  extraChallenges?(req: IncomingMessage, body: B): Promise<readonly string[]> | readonly string[];
}

export type Paywall<B> = ((
  req: IncomingMessage,
  res: ServerResponse,
  body: B,
  next: PaidHandler<B>,
) => Promise<void>) & { readonly gate: L402Gate };

const MEMO_MAX = 200;

export function l402Paywall<B>(options: PaywallOptions<B>): Paywall<B> {
  const gate = new L402Gate({ ...options, service: options.service ?? 'app' });
  const requestCaveats = options.caveats ?? [];

  const paywall = async (req: IncomingMessage, res: ServerResponse, body: B, next: PaidHandler<B>) => {
    const priceMsat = toMsat(options.priceMsat(req, body), 'price');
    const description = options.description(req, body);
    applyCors(res);
    if (priceMsat === 0n) {
      await next(req, res, body, null);
      return;
    }

    const caveatChecks: Record<string, CaveatCheck> = {};
    for (const caveat of requestCaveats) {
      caveatChecks[caveat.condition] = (minted) =>
        caveat.check
          ? caveat.check(minted, req, body)
          : minted === caveat.value(req, body)
            ? null
            : `token is bound to ${caveat.condition}=${minted}`;
    }

    let verdict: Awaited<ReturnType<L402Gate['verify']>>;
    try {
      verdict = await gate.verify(req.headers.authorization, {
        capability: options.capability,
        caveatChecks,
      });
    } catch (err) {
      answerWalletError(res, err);
      return;
    }
    if (verdict.ok) {
      const { scheme, paymentHash, tokenId } = verdict;
      await next(req, res, body, { scheme, paymentHash, tokenId, priceMsat });
      return;
    }

    let challenge: L402Challenge;
    let extra: readonly string[] = [];
    try {
      const minted: Caveat[] = requestCaveats.map((c) => ({
        condition: c.condition,
        value: c.value(req, body),
      }));
      challenge = await gate.issue({
        priceMsat,
        memo: description.slice(0, MEMO_MAX),
        capabilities: [options.capability],
        caveats: minted,
      });
      if (options.extraChallenges) extra = await options.extraChallenges(req, body);
    } catch (err) {
      answerWalletError(res, err);
      return;
    }
    const info: PaymentRequiredInfo = {
      error: verdict.code === 'missing_credential' ? 'payment_required' : verdict.reason,
      code: verdict.code === 'missing_credential' ? 'payment_required' : verdict.code,
      priceMsat,
      description,
      challenge,
    };
    res.setHeader('WWW-Authenticate', [...challenge.headerValues, ...extra]);
    if (options.render402) {
      const rendered = options.render402(info, req, body);
      res.writeHead(402, {
        'Content-Type': rendered.contentType,
        'Content-Length': Buffer.byteLength(rendered.body),
        'Cache-Control': 'no-store',
      });
      res.end(rendered.body);
      return;
    }
    sendJson(res, 402, {
      error: info.error,
      code: info.code,
      price_msat: priceMsat.toString(),
      description,
    });
  };
  return Object.assign(paywall, { gate });
}

function answerWalletError(res: ServerResponse, err: unknown): void {
  if (!(err instanceof LnbitsError)) {
    throw err; // a bug, not an outage: let the app's error handler answer 500
  }
  // Not a 402: the client did nothing wrong, and no fresh invoice could be made or checked.
  sendJson(res, 503, { error: 'payment backend unavailable', detail: err.message });
}
