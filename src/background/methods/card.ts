/**
 * A card linked through the card service: the challenge is MPP's `card` method, priced
 * in the user's currency (no rate); paying authorizes the approved maximum, and the app captures
 * the actual amount later.
 */
import { MppChallengeError, mppCredential, readMppChallenge } from '../../core/challenge/mpp';
import { ReviewTermsError, readReviewTerms } from '../../core/challenge/review';
import { said } from '../../core/text/said';
import type { CardPayment, PaymentRecord, RailRecord } from '../../db/schema';
import { authorizeCard, subscribeCard } from '../services/rails/card';
import { RailError } from '../services/rails/types';
import { EXPIRY_MARGIN_SECONDS, failure, scaleTerms } from './shared';
import type { Detected, MethodDeps, Outcome, PaymentMethod, Quote, QuoteRefusal } from './types';

/**
 * Our MPP method for cards paid through the card service (server/card). Method ids are
 * `1*LOWERALPHA`; card services before the rename issued `paybound-card`, still read.
 */
export const CARD_METHOD = 'card';
const CARD_METHODS = new Set([CARD_METHOD, 'paybound-card']);

type CardRecord = Extract<RailRecord, { kind: 'card' }>;

const cardChallenges = (detected: Detected) =>
  detected.filter(
    (d) => d.protocol === 'mpp' && CARD_METHODS.has(d.challenge?.params.get('method')?.toLowerCase() ?? ''),
  );

function cardRecord(p: PaymentRecord): CardPayment {
  if (p.kind === 'card') return p;
  throw new Error(`not a card charge: ${p.kind}`);
}

function cardRail(rail: RailRecord): CardRecord {
  if (rail.kind === 'card') return rail;
  throw new Error(`not a card: ${rail.kind}`);
}

export const card: PaymentMethod = {
  kind: 'card',
  rails: ['card'],
  challenge: 'card',
  unit: 'minor',
  sealed: true,
  offered: (detected) => cardChallenges(detected).length > 0,

  async quote(ctx): Promise<Quote | QuoteRefusal> {
    try {
      const first = cardChallenges(ctx.detected)[0]?.challenge;
      if (!first)
        throw new MppChallengeError('this app takes no card payment; choose a Lightning wallet to pay it');
      const currency = await ctx.currency();
      // A plan's period is only ever paid through MPP's `subscription` intent, never as a charge.
      const mpp = readMppChallenge(
        first,
        ctx.nowMs,
        ctx.bodySha256,
        ctx.subscription ? { intents: ['subscription'] } : {},
      );
      if (mpp.request.currency !== currency) {
        throw new MppChallengeError(
          `the app charges in ${mpp.request.currency.toUpperCase()}, your card budget is in ${currency.toUpperCase()}`,
        );
      }
      const recipient = mpp.request.recipient;
      if (!recipient) throw new MppChallengeError('the card charge names no recipient');
      if (mpp.expiresAt !== undefined && mpp.expiresAt <= ctx.nowMs + EXPIRY_MARGIN_SECONDS * 1000) {
        throw new MppChallengeError('the payment request expires too soon to approve and pay');
      }
      const amountMinor = BigInt(mpp.request.amount);
      const read = readReviewTerms(mpp.paybound, amountMinor, ctx.url, ctx.origin, {
        rail: 'card',
        unit: { unit: 'minor', currency },
      });
      const terms = scaleTerms(read, 1n, mpp.id, 'minor');
      return {
        key: `card:${mpp.id}`,
        payee: { kind: 'card', id: recipient },
        ...(terms ? { terms } : {}),
        ...(read?.plans?.length && !ctx.subscription ? { plans: read.plans } : {}),
        ...(read?.overage ? { overage: read.overage } : {}),
        ...(read?.plansRefused && !ctx.subscription ? { plansRefused: read.plansRefused } : {}),
        // A card charge has no sats: its amount is the authorized maximum in the user's currency.
        part: (_rate, nowMs) => ({
          kind: 'card',
          amount: { unit: 'minor', currency: currency.toUpperCase(), value: amountMinor },
          challenge: { protocol: 'mpp', mpp },
          amountMinor,
          ...(mpp.request.description !== undefined ? { description: mpp.request.description } : {}),
          expiresAt: Math.floor((mpp.expiresAt ?? nowMs + 10 * 60_000) / 1000),
          card: {},
        }),
      };
    } catch (e) {
      if (!(e instanceof MppChallengeError) && !(e instanceof ReviewTermsError)) throw e;
      return { error: e.message, reason: e.message };
    }
  },

  async pay(record, rail, deps: MethodDeps): Promise<Outcome> {
    const p = cardRecord(record);
    const mpp = p.challenge.mpp;
    if (!mpp.request.recipient) {
      return { kind: 'failed', code: 'bad_challenge', said: said('failureCardIncomplete') };
    }
    if (mpp.intent === 'subscription') return subscribe(p, rail, deps);
    let receipt: string;
    let paymentIntent: string;
    try {
      const opened = await deps.openRail(cardRail(rail));
      ({ receipt, paymentIntent } = await authorizeCard(opened, {
        challengeId: mpp.id,
        amount: p.amount.value,
        currency: mpp.request.currency,
        destination: mpp.request.recipient,
        ...(mpp.request.description !== undefined ? { description: mpp.request.description } : {}),
        // The review terms travel with the authorization: the card service holds both sides to them.
        ...(p.review ? { reviewWindowSeconds: Math.round(p.review.windowMs / 1000) } : {}),
      }));
    } catch (e) {
      if (!(e instanceof RailError)) throw e;
      if (e.code === 'timeout' || e.code === 'unreachable') {
        // The authorization may exist: asking again with the same challenge id is safe (idempotent).
        return {
          kind: 'unknown',
          failure: failure(e.code, e.said),
          reason: 'the card service did not confirm in time; Paybound will ask it again',
        };
      }
      return { kind: 'failed', code: e.code, said: e.said };
    }
    return {
      kind: 'paid',
      patch: { card: { receipt, paymentIntent }, paidAt: deps.now() },
      // MPP answers in Authorization, whatever its method.
      credential: { header: 'Authorization', value: mppCredential(mpp, { receipt }) },
      reason: 'authorized',
    };
  },

  credential: (p) =>
    p.kind === 'card' && p.card.receipt
      ? {
          credential: {
            header: 'Authorization',
            value: mppCredential(
              p.challenge.mpp,
              p.card.subscription
                ? { subscription: p.card.subscription, receipt: p.card.receipt }
                : { receipt: p.card.receipt },
            ),
          },
          reason: 'already authorized',
        }
      : undefined,

  // Asking again is safe: the card service answers a repeated challenge id with the same authorization.
  reconcile(p, rail, deps) {
    return card.pay(p, rail, deps);
  },
};

/** A card plan's first period: the card service subscribes the card (docs/plans.md §4). */
async function subscribe(p: CardPayment, rail: RailRecord, deps: MethodDeps): Promise<Outcome> {
  const mpp = p.challenge.mpp;
  if (!mpp.request.recipient || !mpp.subscription || !p.plan) {
    return { kind: 'failed', code: 'bad_challenge', said: said('failureCardIncomplete') };
  }
  let done: { subscription: string; receipt: string };
  try {
    done = await subscribeCard(await deps.openRail(cardRail(rail)), {
      challengeId: mpp.id,
      destination: mpp.request.recipient,
      amount: p.amount.value,
      currency: mpp.request.currency,
      interval: mpp.subscription.interval,
      intervalCount: mpp.subscription.intervalCount,
      plan: { id: p.plan.planId, name: p.plan.planName },
      ...(p.plan.overage
        ? { overage: { unitAmount: p.plan.overage.price, capAmount: p.plan.overage.cap } }
        : {}),
    });
  } catch (e) {
    if (!(e instanceof RailError)) throw e;
    if (e.code === 'timeout' || e.code === 'unreachable') {
      // The subscription may exist: asking again with the same challenge id is safe (idempotent).
      return {
        kind: 'unknown',
        failure: failure(e.code, e.said),
        reason: 'the card service did not confirm in time; Paybound will ask it again',
      };
    }
    return { kind: 'failed', code: e.code, said: e.said };
  }
  return {
    kind: 'paid',
    patch: { card: { receipt: done.receipt, subscription: done.subscription }, paidAt: deps.now() },
    credential: {
      header: 'Authorization',
      value: mppCredential(mpp, { subscription: done.subscription, receipt: done.receipt }),
    },
    reason: 'subscribed',
  };
}
