/**
 * Plans an app offers beside its per-call price: the `plans` array of the `paybound` terms
 * (docs/plans.md §1). Amounts are in the unit of the challenge the terms ride on, and each plan is
 * checked against that challenge's price: a plan must never be a worse deal for the calls it
 * includes than paying per use, and its `subscribe` URL must be one the paying page could call.
 */

import { cleanMerchantText } from '../text/sanitize';
import { appUrlProblem, decodeTermsParam, isObject } from './terms-param';

export type PlanRail = 'lightning' | 'card';
/** How the challenge writes amounts: msat (L402), sats (MPP Lightning), a currency's minor unit (MPP card). */
export type PlanUnit = { unit: 'msat' } | { unit: 'sat' } | { unit: 'minor'; currency: string };
/** As MPP's `subscription` intent writes a period. */
export type PlanInterval = 'day' | 'week' | 'month' | 'year';
export type PlanIncludes = { calls: number } | { credit: bigint };

export interface PlanOffer {
  id: string;
  /** The app's words, cleaned for display (core/text/sanitize), at most 60 characters. */
  name: string;
  /** The name had invisible or control characters taken out. */
  nameAltered: boolean;
  rail: PlanRail;
  unit: PlanUnit;
  /** Per period, in `unit`. */
  price: bigint;
  interval: PlanInterval;
  /** 1–12. */
  intervalCount: number;
  includes: PlanIncludes;
  /** Per call beyond what is included, and the most overage may cost in one period. */
  overage?: { price: bigint; cap: bigint };
  /** Normalized (URL.href). */
  subscribeUrl: string;
  /** The per-use price of the challenge the plan was checked against, in `unit`. */
  perUse: bigint;
}

export const MAX_PLANS = 4;
export const MAX_INCLUDED_CALLS = 1_000_000;
export const MAX_INTERVAL_COUNT = 12;
export const PLAN_INTERVALS: readonly PlanInterval[] = ['day', 'week', 'month', 'year'];

export class PlanOfferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanOfferError';
  }
}

export const PLAN_ID = /^[a-z0-9-]{1,40}$/;
const AMOUNT = /^\d{1,18}$/;
const NAME_MAX = 60;

const fail = (why: string): never => {
  throw new PlanOfferError(`the app's plans are unusable: ${why}`);
};

type Fail = (why: string) => never;

/** A positive integer amount, written as a decimal string (JSON numbers lose precision). */
function amount(v: unknown, what: string, f: Fail): bigint {
  if (typeof v !== 'string' || !AMOUNT.test(v) || BigInt(v) <= 0n)
    return f(`${what} must be a whole number above zero, as a string`);
  return BigInt(v);
}

function wholeNumber(v: unknown, min: number, max: number, what: string, f: Fail): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    return f(`${what} must be a whole number from ${min} to ${max}`);
  return v;
}

function checkRailUnit(rail: PlanRail, unit: PlanUnit): void {
  // The caller's mistake, not the app's: a card challenge has a currency, a Lightning one sats.
  if ((rail === 'card') !== (unit.unit === 'minor'))
    throw new Error(`a ${rail} plan cannot be in ${unit.unit}`);
}

function readPlan(
  p: unknown,
  charged: bigint,
  unit: PlanUnit,
  requestUrl: string,
  pageOrigin: string,
  rail: PlanRail,
): PlanOffer {
  if (!isObject(p)) return fail('each plan must be an object');
  if (typeof p.id !== 'string' || !PLAN_ID.test(p.id))
    return fail('a plan id must be 1 to 40 lower-case letters, digits or dashes');
  const id = p.id;
  const planFail: Fail = (why) => fail(`plan "${id}": ${why}`);
  if (typeof p.name !== 'string') return planFail('it has no name');
  const cleaned = cleanMerchantText(p.name, NAME_MAX);
  if (cleaned.text.length === 0 || Array.from(p.name).length > NAME_MAX)
    return planFail(`its name must be 1 to ${NAME_MAX} characters`);

  const price = amount(p.price, 'the price', planFail);
  const intervalCount =
    p.intervalCount === undefined
      ? 1
      : wholeNumber(p.intervalCount, 1, MAX_INTERVAL_COUNT, 'intervalCount', planFail);
  if (typeof p.interval !== 'string' || !(PLAN_INTERVALS as readonly string[]).includes(p.interval))
    return planFail('the interval must be day, week, month or year');
  const interval = p.interval as PlanInterval;

  const inc = p.includes;
  if (!isObject(inc)) return planFail('it must say what it includes');
  const hasCalls = inc.calls !== undefined;
  const hasCredit = inc.credit !== undefined;
  if (hasCalls === hasCredit) return planFail('it must include either calls or a credit, not both');
  let includes: PlanIncludes;
  if (hasCalls) {
    const calls = wholeNumber(inc.calls, 1, MAX_INCLUDED_CALLS, 'included calls', planFail);
    // The plan is only an offer if its included calls cost no more than paying for them one by one.
    if (price > BigInt(calls) * charged)
      return planFail(
        `it costs ${price} for ${calls} calls, more than paying ${charged} per call would (${BigInt(calls) * charged})`,
      );
    includes = { calls };
  } else {
    const credit = amount(inc.credit, 'the included credit', planFail);
    if (price > credit) return planFail(`it costs ${price} for a credit of only ${credit}`);
    includes = { credit };
  }

  let overage: PlanOffer['overage'];
  if (p.overage !== undefined) {
    const o = p.overage;
    if (!isObject(o)) return planFail('overage must be an object');
    if (o.cap === undefined) return planFail('overage without a cap could cost without limit');
    if (o.price === undefined) return planFail('overage needs a price per call');
    const oPrice = amount(o.price, 'the overage price', planFail);
    const cap = amount(o.cap, 'the overage cap', planFail);
    if (oPrice > charged)
      return planFail(`overage at ${oPrice} a call costs more than paying per use (${charged})`);
    overage = { price: oPrice, cap };
  }

  if (typeof p.subscribe !== 'string') return planFail('it has no subscribe URL');
  if (p.subscribe.length > 2048) return planFail('the subscribe URL is too long');
  const problem = appUrlProblem(p.subscribe, requestUrl, pageOrigin, 'the subscribe URL');
  if (problem) return planFail(problem);

  return {
    id,
    name: cleaned.text,
    nameAltered: cleaned.altered,
    rail,
    unit,
    price,
    interval,
    intervalCount,
    includes,
    ...(overage ? { overage } : {}),
    subscribeUrl: new URL(p.subscribe).href,
    perUse: charged,
  };
}

/**
 * Reads the plans of `paybound` terms: the param as sent, or the terms object it decodes to.
 * `charged` is what the challenge charges, in `unit`; `requestUrl` the URL answered with the 402;
 * `pageOrigin` the origin the browser reported for the page. No `plans`: an empty list. Throws
 * PlanOfferError with the reason when any plan is unusable: the offer is all or nothing, so an
 * app cannot slip a bad plan beside good ones.
 */
export function readPlanOffers(
  terms: string | Record<string, unknown>,
  charged: bigint,
  unit: PlanUnit,
  requestUrl: string,
  pageOrigin: string,
  rail: PlanRail,
): PlanOffer[] {
  checkRailUnit(rail, unit);
  let object: Record<string, unknown>;
  if (typeof terms === 'string') {
    const decoded = decodeTermsParam(terms);
    if (!decoded.ok) return fail(decoded.why);
    object = decoded.value;
  } else object = terms;
  if (object.v !== 1) return fail('unknown version');
  const plans = object.plans;
  if (plans === undefined) return [];
  if (!Array.isArray(plans)) return fail('plans must be a list');
  if (plans.length > MAX_PLANS) return fail(`more than ${MAX_PLANS} plans`);
  const offers = plans.map((p) => readPlan(p, charged, unit, requestUrl, pageOrigin, rail));
  const ids = new Set(offers.map((o) => o.id));
  if (ids.size !== offers.length) return fail('two plans have the same id');
  return offers;
}
