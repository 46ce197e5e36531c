// A paywall that offers L402 and MPP ("Payment" scheme) methods side by side.
//
//   const paywall = paymentPaywall<Body>({ ...l402PaywallOptions, mpp: { realm, secret, methods } });
//   await paywall(req, res, body, (req, res, body, paid) => { ...serve... });
//
// A 402 carries the L402 challenge(s) first, then one Payment challenge per MPP method that offers
// itself for this request. An `Authorization: Payment …` credential is checked here: the echoed
// challenge must be one this paywall issued (HMAC-bound id), unexpired and unused; then the method
// verifies the payload. The handler runs, and afterwards the payment is settled: the actual amount
// (the quoted price unless the handler reports less) is captured, or the hold released when the
// handler failed. Anything else goes to the L402 paywall unchanged.
//
// With a `review` option (review.ts) every challenge of a method that supports review carries the
// `paybound` terms in its own unit, each paid charge is recorded at the desk, and a card payment's
// actual amount is reported to the card service instead of captured: the payer captures on accept.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CardServiceError } from './card';
import { applyCors } from './http';
import type { L402Gate } from './l402';
import { LnbitsError } from './lnbits-client';
import { l402Paywall, type PaidContext, type PaymentRequiredInfo, type PaywallOptions } from './middleware';
import { toMsat } from './money';
import {
  base64urlJson,
  ChallengeBinder,
  decodeBase64urlJson,
  formatPaymentChallenge,
  formatPaymentReceipt,
  type PaymentProblem,
  PROBLEM_TITLES,
  parsePaymentAuthorization,
  rfc3339,
} from './mpp';
import type { MppMethod } from './mpp-method';
import {
  type PayboundTerms,
  payboundAuthParam,
  type ReviewedCharge,
  reviewMinimumMsat,
  reviewRefundUrl,
  reviewWindow,
} from './review';

/** Remembers used challenge ids until they expire. Replace it with a shared store when several processes serve the app. */
export interface ChallengeStore {
  /** True the first time an id is consumed; false when it was consumed before. */
  consume(id: string, untilMs: number): boolean;
}

export function memoryChallengeStore(now: () => number = Date.now): ChallengeStore {
  const used = new Map<string, number>();
  return {
    consume(id, untilMs) {
      const t = now();
      if (used.size > 1000) for (const [k, until] of used) if (until < t) used.delete(k);
      if (used.has(id)) return false;
      used.set(id, untilMs);
      return true;
    },
  };
}

export interface MppPaidContext {
  method: string;
  challengeId: string;
  /** What the credential paid or authorized, in the method's unit (sat, or minor units). */
  amount: bigint;
  /** What this request was quoted. */
  due: bigint;
  currency: string;
  reference: string;
  /** On routes with a `review` option: the charge the payer may accept or reject. */
  review?: ReviewedCharge;
  /** Reports a lower actual amount to settle (an estimate that came in under); default: `due`. */
  reportActual(amount: bigint): void;
}

export type PaidRequest = { kind: 'l402'; l402: PaidContext } | { kind: 'mpp'; mpp: MppPaidContext };

export type PaymentHandler<B> = (
  req: IncomingMessage,
  res: ServerResponse,
  body: B,
  paid: PaidRequest | null,
) => void | Promise<void>;

export interface SettlementEvent {
  method: string;
  challengeId: string;
  /** `reported`: on a reviewed route, the actual amount was told to the card service, uncaptured. */
  outcome: 'captured' | 'reported' | 'released' | 'final' | 'failed';
  amount: bigint;
  error?: string;
}

export interface MppOptions<B> {
  /** The protection space, usually the app's host. */
  realm: string;
  /** 32+ bytes (or hex) that bind challenge ids; keep it stable across restarts to honour live challenges. */
  secret: Uint8Array | string;
  methods: readonly MppMethod<B>[];
  /** Default 300 s. */
  challengeLifetimeSeconds?: number;
  store?: ChallengeStore;
  onSettled?(event: SettlementEvent): void;
}

export interface PaymentPaywallOptions<B> extends PaywallOptions<B> {
  mpp: MppOptions<B>;
}

export type PaymentPaywall<B> = ((
  req: IncomingMessage,
  res: ServerResponse,
  body: B,
  next: PaymentHandler<B>,
) => Promise<void>) & {
  readonly gate: L402Gate;
  /** Resolves once every settlement started so far has finished. */
  settled(): Promise<void>;
};

interface Refusal {
  code: PaymentProblem;
  reason: string;
}

export function paymentPaywall<B>(options: PaymentPaywallOptions<B>): PaymentPaywall<B> {
  const { mpp } = options;
  const now = options.now ?? Date.now;
  const binder = new ChallengeBinder(mpp.secret);
  const lifetime = mpp.challengeLifetimeSeconds ?? 300;
  const store = mpp.store ?? memoryChallengeStore(now);
  const methods = new Map(mpp.methods.map((m) => [m.name, m]));
  const refusals = new WeakMap<IncomingMessage, Refusal>();
  const pending = new Set<Promise<void>>();

  const { review } = options;

  /**
   * The `paybound` auth-param for a method's challenge (review terms, plans), or '' when the route
   * or method has neither.
   */
  function payboundFor(
    method: MppMethod<B>,
    req: IncomingMessage,
    body: B,
    amount: unknown,
    currency: unknown,
  ): string {
    if (typeof amount !== 'string' || !/^\d+$/.test(amount)) return '';
    const max = BigInt(amount);
    const terms: PayboundTerms = {};
    if (review && method.review) {
      const convert = method.review.minimumFromMsat;
      if (convert) {
        const minMsat = reviewMinimumMsat(review, req, body, toMsat(options.priceMsat(req, body), 'price'));
        if (minMsat !== undefined) {
          const converted = convert(minMsat);
          terms.estimate = { min: converted < max ? converted : max, max };
        }
      }
      terms.review = { window: reviewWindow(review, req, body), refund: reviewRefundUrl(review, req, body) };
    }
    const plans = typeof currency === 'string' ? (options.plans?.offers(currency, max, req) ?? []) : [];
    if (plans.length > 0) terms.plans = plans;
    return terms.review || terms.plans ? `, ${payboundAuthParam(terms)}` : '';
  }

  async function challenges(req: IncomingMessage, body: B): Promise<string[]> {
    const description = options.description(req, body);
    const expires = rfc3339(now() + lifetime * 1000);
    const out: string[] = [];
    for (const method of mpp.methods) {
      const request = await method.offer({ req, body, description, lifetimeSeconds: lifetime });
      if (!request) continue;
      const challenge = formatPaymentChallenge(
        binder.issue({
          realm: mpp.realm,
          method: method.name,
          intent: 'charge',
          expires,
          request: base64urlJson(request),
        }),
      );
      out.push(challenge + payboundFor(method, req, body, request.amount, request.currency));
    }
    return out;
  }

  const inner = l402Paywall<B>({
    ...options,
    extraChallenges: async (req, body) => [
      ...((await options.extraChallenges?.(req, body)) ?? []),
      ...(await challenges(req, body)),
    ],
    render402: (info: PaymentRequiredInfo, req, body) => {
      const refusal = refusals.get(req);
      const merged = refusal ? { ...info, error: refusal.reason, code: refusal.code } : info;
      if (options.render402) return options.render402(merged, req, body);
      const json: Record<string, unknown> = {
        error: merged.error,
        code: merged.code,
        price_msat: merged.priceMsat.toString(),
        description: merged.description,
      };
      if (refusal) {
        // The draft's Problem Details members, next to the kit's usual fields.
        Object.assign(json, {
          type: `https://paymentauth.org/problems/${refusal.code}`,
          title: PROBLEM_TITLES[refusal.code],
          status: 402,
          detail: refusal.reason,
        });
      }
      return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(json) };
    },
  });

  async function verify(req: IncomingMessage, body: B) {
    const parsed = parsePaymentAuthorization(req.headers.authorization);
    if (parsed.kind === 'none') return null;
    if (parsed.kind === 'invalid') return { ok: false as const, code: parsed.code, reason: parsed.reason };
    const { challenge, payload } = parsed;
    if (challenge.realm !== mpp.realm || challenge.intent !== 'charge' || !binder.verify(challenge)) {
      return {
        ok: false as const,
        code: 'invalid-challenge' as const,
        reason: 'the challenge was not issued here, or was altered',
      };
    }
    const expiresMs = Date.parse(challenge.expires);
    if (!Number.isFinite(expiresMs) || expiresMs <= now()) {
      return { ok: false as const, code: 'payment-expired' as const, reason: 'the challenge expired' };
    }
    const method = methods.get(challenge.method);
    if (!method) {
      return {
        ok: false as const,
        code: 'method-unsupported' as const,
        reason: `method ${challenge.method} is not accepted here`,
      };
    }
    const request = decodeBase64urlJson(challenge.request);
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return {
        ok: false as const,
        code: 'invalid-challenge' as const,
        reason: 'the challenge request is not a JSON object',
      };
    }
    const verdict = await method.verify({
      req,
      body,
      challengeId: challenge.id,
      request: request as Record<string, unknown>,
      payload,
      now: now(),
    });
    if (!verdict.ok) return verdict;
    // Single use: the first credential for a challenge wins, a replay is refused.
    if (!store.consume(challenge.id, expiresMs + 60_000)) {
      return {
        ok: false as const,
        code: 'invalid-challenge' as const,
        reason: 'this challenge was already used',
      };
    }
    if (verdict.accept) {
      // The route's terms go to the backend with the acceptance; a hold the payer released since
      // the receipt was signed is refused here, before anything is served.
      const accepted = await verdict.accept({
        reviewWindowSeconds: review && method.review ? reviewWindow(review, req, body) : null,
      });
      if (!accepted.ok) return accepted;
    }
    return { ...verdict, method: method.name, challengeId: challenge.id, review: method.review };
  }

  function track(work: Promise<void>): void {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  }

  const paywall = async (req: IncomingMessage, res: ServerResponse, body: B, next: PaymentHandler<B>) => {
    let verdict: Awaited<ReturnType<typeof verify>>;
    try {
      verdict = await verify(req, body);
    } catch (err) {
      if (!(err instanceof LnbitsError) && !(err instanceof CardServiceError)) throw err;
      applyCors(res);
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error: 'payment backend unavailable', detail: err.message }));
      return;
    }
    let charge: ReviewedCharge | undefined;
    if (verdict?.ok && review && verdict.review) {
      const opened = await review.desk.open({
        charge: verdict.chargeId ?? verdict.challengeId,
        method: verdict.method,
        proof: verdict.review.proof,
        unit: verdict.currency,
        max: verdict.amount,
        windowSeconds: reviewWindow(review, req, body),
      });
      if (opened) charge = opened;
      else verdict = { ok: false, code: 'invalid-challenge', reason: 'this charge was already used' };
    }
    if (verdict?.ok) {
      const paid = verdict;
      let actual = paid.due;
      let reported = false;
      const writes: Promise<void>[] = [];
      const context: MppPaidContext = {
        method: paid.method,
        challengeId: paid.challengeId,
        amount: paid.amount,
        due: paid.due,
        currency: paid.currency,
        reference: paid.reference,
        ...(charge ? { review: charge } : {}),
        reportActual(amount) {
          if (amount < 0n || amount > paid.amount)
            throw new RangeError(`actual amount must be within 0..${paid.amount}`);
          actual = amount;
          reported = true;
          if (charge && review) writes.push(review.desk.reportActual(charge.charge, amount));
        },
      };
      applyCors(res);
      res.setHeader(
        'Payment-Receipt',
        formatPaymentReceipt({
          method: paid.method,
          challengeId: paid.challengeId,
          reference: paid.reference,
          timestamp: now(),
        }),
      );
      const report = (event: Omit<SettlementEvent, 'method' | 'challengeId'>) =>
        mpp.onSettled?.({ method: paid.method, challengeId: paid.challengeId, ...event });
      let served = false;
      try {
        await next(req, res, body, { kind: 'mpp', mpp: context });
        served = res.statusCode < 400;
      } finally {
        // Settle after serving: capture what was delivered, or give the hold back. On a reviewed
        // route the actual is only reported: the payer captures it when it accepts.
        const settle = async () => {
          try {
            if (served && charge && paid.report && actual > 0n) {
              await paid.report(actual);
              report({ outcome: 'reported', amount: actual });
            } else if (served && paid.settle) {
              await paid.settle(actual);
              report({ outcome: actual > 0n ? 'captured' : 'released', amount: actual });
            } else if (!served && paid.release) {
              await paid.release();
              report({ outcome: 'released', amount: 0n });
            } else {
              report({ outcome: 'final', amount: paid.amount });
            }
          } catch (err) {
            report({
              outcome: 'failed',
              amount: actual,
              error: err instanceof Error ? err.message : String(err),
            });
          }
        };
        track(settle());
        if (charge && review) {
          await Promise.all(writes);
          await review.desk.settleDefault(charge.charge, served || reported ? actual : 0n);
        }
      }
      return;
    }
    if (verdict) refusals.set(req, verdict);
    await inner(req, res, body, (req, res, body, paid) =>
      next(req, res, body, paid ? { kind: 'l402', l402: paid } : null),
    );
  };

  return Object.assign(paywall, {
    gate: inner.gate,
    settled: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  });
}
