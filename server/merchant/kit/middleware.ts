// An L402 paywall for node:http handlers.
//
//   const paywall = l402Paywall<Body>({ wallet, rootKey, location, service, capability, priceMsat, description });
//   await paywall(req, res, body, (req, res, body, paid) => { ...serve the paid response... });
//
// Without a valid credential the paywall answers 402 itself (fresh invoice + macaroon, CORS headers
// that expose WWW-Authenticate) and never calls the handler. With one, it calls the handler. A paid
// token is reusable for whatever its caveats allow (same service and capability, before it expires,
// and equal values for any request-bound caveats) without paying again.
//
// With a `review` option (estimates and the review window, see review.ts) each token pays for one
// request: the challenge carries the `paybound` terms, the macaroon the amount paid
// (`<service>_max_msat`), the charge is recorded at the desk, and a reused token gets a fresh 402.
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
import {
  type PayboundTerms,
  type PlanOffering,
  payboundAuthParam,
  type ReviewedCharge,
  type ReviewOptions,
  reviewMinimumMsat,
  reviewRefundUrl,
  reviewWindow,
} from './review';

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
  /** On routes with a `review` option: the charge the payer may accept or reject. */
  review?: ReviewedCharge;
  /**
   * Reports what serving this request actually cost, in msat (0 ≤ amount ≤ what was paid), before
   * the response is sent; default: `priceMsat`, or 0 when the handler fails. Recorded for review on
   * routes with a `review` option; elsewhere an L402 payment is final and this only checks the range.
   */
  reportActual(amountMsat: bigint): void;
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
  /** Charge the maximum and let the payer review what was delivered (estimates and the review window). */
  review?: ReviewOptions<B>;
  /** Plans offered beside the per-call price, in each challenge's `paybound` terms (plans.ts). */
  plans?: PlanOffering;
}

export type Paywall<B> = ((
  req: IncomingMessage,
  res: ServerResponse,
  body: B,
  next: PaidHandler<B>,
) => Promise<void>) & { readonly gate: L402Gate };

const MEMO_MAX = 200;

export function l402Paywall<B>(options: PaywallOptions<B>): Paywall<B> {
  const service = options.service ?? 'app';
  const gate = new L402Gate({ ...options, service });
  const requestCaveats = options.caveats ?? [];
  const { review } = options;
  // Reviewed tokens carry what was paid: a token bought for a cheap request never pays for a dearer one.
  const maxCondition = `${service}_max_msat`;

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
    let paidMsat: bigint | undefined;
    if (review) {
      caveatChecks[maxCondition] = (minted) => {
        if (!/^\d{1,20}$/.test(minted)) return `malformed ${maxCondition} caveat`;
        const paid = BigInt(minted);
        if (paid < priceMsat) return `token paid ${paid} msat; this request costs ${priceMsat} msat`;
        paidMsat = paidMsat === undefined || paid < paidMsat ? paid : paidMsat;
        return null;
      };
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
    let refusal: { code: string; reason: string } | null = verdict.ok ? null : verdict;
    if (verdict.ok) {
      const { scheme, paymentHash, tokenId } = verdict;
      let charge: ReviewedCharge | null | undefined;
      if (review) {
        charge =
          paidMsat === undefined
            ? null
            : await review.desk.open({
                charge: paymentHash,
                method: 'l402',
                proof: 'lightning',
                unit: 'msat',
                max: paidMsat,
                windowSeconds: reviewWindow(review, req, body),
              });
        if (charge === null) {
          refusal =
            paidMsat === undefined
              ? { code: 'caveat_not_satisfied', reason: `token has no ${maxCondition} caveat` }
              : {
                  code: 'token_already_used',
                  reason: 'this token paid for one request under review and cannot be used again',
                };
        }
      }
      if (!refusal) {
        await serve(req, res, body, next, { scheme, paymentHash, tokenId, priceMsat }, charge ?? undefined);
        return;
      }
    }

    let challenge: L402Challenge;
    let extra: readonly string[] = [];
    try {
      const minted: Caveat[] = requestCaveats.map((c) => ({
        condition: c.condition,
        value: c.value(req, body),
      }));
      const terms: PayboundTerms = {};
      if (review) {
        minted.push({ condition: maxCondition, value: priceMsat.toString() });
        const min = reviewMinimumMsat(review, req, body, priceMsat);
        if (min !== undefined) terms.estimate = { min, max: priceMsat };
        terms.review = {
          window: reviewWindow(review, req, body),
          refund: reviewRefundUrl(review, req, body),
        };
      }
      const plans = options.plans?.offers('msat', priceMsat, req) ?? [];
      if (plans.length > 0) terms.plans = plans;
      const extraParams = review || plans.length > 0 ? [payboundAuthParam(terms)] : [];
      challenge = await gate.issue({
        priceMsat,
        memo: description.slice(0, MEMO_MAX),
        capabilities: [options.capability],
        caveats: minted,
        extraParams,
      });
      if (options.extraChallenges) extra = await options.extraChallenges(req, body);
    } catch (err) {
      answerWalletError(res, err);
      return;
    }
    const refused = refusal && refusal.code !== 'missing_credential' ? refusal : null;
    const info: PaymentRequiredInfo = {
      error: refused ? refused.reason : 'payment_required',
      code: refused ? refused.code : 'payment_required',
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

  /** Calls the handler with a paid context; on a reviewed route records the actual amount. */
  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: B,
    next: PaidHandler<B>,
    paid: Omit<PaidContext, 'reportActual' | 'review'>,
    charge: ReviewedCharge | undefined,
  ): Promise<void> {
    const limit = charge?.max ?? paid.priceMsat;
    const writes: Promise<void>[] = [];
    const context: PaidContext = {
      ...paid,
      ...(charge ? { review: charge } : {}),
      reportActual(amount) {
        if (amount < 0n || amount > limit)
          throw new RangeError(`actual amount must be within 0..${limit} msat`);
        if (charge && review) writes.push(review.desk.reportActual(charge.charge, amount));
      },
    };
    let served = false;
    try {
      await next(req, res, body, context);
      served = res.statusCode < 400;
    } finally {
      if (charge && review) {
        await Promise.all(writes);
        await review.desk.settleDefault(charge.charge, served ? paid.priceMsat : 0n);
      }
    }
  }

  return Object.assign(paywall, { gate });
}

function answerWalletError(res: ServerResponse, err: unknown): void {
  if (!(err instanceof LnbitsError)) {
    throw err; // a bug, not an outage: let the app's error handler answer 500
  }
  // Not a 402: the client did nothing wrong, and no fresh invoice could be made or checked.
  sendJson(res, 503, { error: 'payment backend unavailable', detail: err.message });
}
