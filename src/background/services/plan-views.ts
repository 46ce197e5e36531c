/**
 * Plans as the pages show them: offers beside a quote, compared with this site's own ledger,
 * and the subscriptions with their usage, renewals and history. Amounts go to the pages in the
 * user's currency (minor units), converted with the quote's rate for Lightning plans.
 */

import { msatToMinor } from '../../core/money/rates';
import {
  COMPARISON_WINDOW_MS,
  comparePlan,
  type PlanInUserMinor,
  planInUserMinor,
  type UsageEntry,
} from '../../core/plans/compare';
import { planWouldHaveBeenCheaper } from '../../core/plans/forecast';
import type {
  PayboundDb,
  PaymentRecord,
  PlanOfferRecord,
  RateSnapshot,
  SubscriptionRecord,
} from '../../db/schema';
import type { PlanHintView, PlanView, QuoteView, SubscriptionView } from '../../messages/map';

const DAY_MS = 24 * 3600 * 1000;

/** States whose amount was spent (what the comparison and the history count). */
const SPENT = new Set([
  'paid',
  'accepted',
  'rejected',
  'refund_requested',
  'partially_refunded',
  'refund_denied',
]);

/**
 * A plan amount in the user's minor units, rounded up as every quote is: msat and sat through
 * the rate, a card plan in the user's own currency as it is. Undefined without a rate.
 */
export function planMinor(
  amount: bigint,
  unit: PlanOfferRecord['unit']['unit'],
  rate: Pick<RateSnapshot, 'minorPerBtc'> | undefined,
): bigint | undefined {
  if (unit === 'minor') return amount;
  if (!rate) return undefined;
  return msatToMinor(unit === 'sat' ? amount * 1000n : amount, rate);
}

/** This site's spent per-use charges of the last 30 days. */
export async function siteHistory(db: PayboundDb, site: string, now: number): Promise<UsageEntry[]> {
  const rows = await db.payments
    .where('[site+createdAt]')
    .between([site, now - COMPARISON_WINDOW_MS], [site, now])
    .toArray();
  return rows
    .filter((p) => !p.plan && SPENT.has(p.state) && p.amountMinor !== undefined)
    .map((p) => ({ amountMinor: p.amountMinor!, createdAt: p.createdAt }));
}

export function planViews(
  p: PaymentRecord,
  history: readonly UsageEntry[],
  currency: string,
  now: number,
): QuoteView['plans'] {
  if (!p.plans?.length) return undefined;
  return p.plans.flatMap((offer): PlanView[] => {
    let plan: PlanInUserMinor;
    try {
      plan = planInUserMinor(offer, currency, p.rate);
    } catch {
      // A Lightning plan without a rate, or a card plan in another currency: nothing to compare.
      return [];
    }
    const c = comparePlan(history, now, plan);
    return [
      {
        id: offer.id,
        name: offer.name,
        rail: offer.rail,
        interval: offer.interval,
        intervalCount: offer.intervalCount,
        priceMinor: plan.priceMinor.toString(),
        includes:
          'calls' in plan.includes
            ? { calls: plan.includes.calls }
            : { creditMinor: plan.includes.creditMinor.toString() },
        ...(plan.overage
          ? {
              overage: {
                priceMinor: plan.overage.priceMinor.toString(),
                capMinor: plan.overage.capMinor.toString(),
              },
            }
          : {}),
        comparison: {
          days: Math.round((c.windowEndMs - c.windowStartMs) / DAY_MS),
          spentMinor: c.spentMinor.toString(),
          calls: c.calls,
          planCostMinor: c.planCostMinor.toString(),
          savingMinor: c.savingMinor.toString(),
        },
      },
    ];
  });
}

/** The plan a charge pays for, as the quote window names it. */
export function planOfCharge(p: PaymentRecord): QuoteView['plan'] {
  return p.plan
    ? {
        kind: p.plan.kind,
        name: p.plan.planName,
        interval: p.plan.interval,
        intervalCount: p.plan.intervalCount,
      }
    : undefined;
}

export async function subscriptionView(
  db: PayboundDb,
  sub: SubscriptionRecord,
  rate: RateSnapshot | undefined,
): Promise<SubscriptionView> {
  const m = sub.mandate;
  const toMinor = (amount: bigint) => planMinor(amount, m.unit, rate);
  const price = toMinor(m.amountPerPeriod);
  const ofSite = (await db.payments.where('site').equals(sub.site).toArray()).sort(
    (a, b) => b.createdAt - a.createdAt,
  );
  const charges = ofSite.filter((p) => p.plan?.subscriptionId === sub.id);
  // The per-use price: the latest charge the plan was offered beside.
  const perUse = ofSite.find((p) => p.plans?.some((o) => o.id === sub.planId))?.amountMinor;
  const history = charges.map((p) => ({
    at: p.createdAt,
    kind: p.plan!.kind,
    ...(p.amountMinor !== undefined ? { amountMinor: p.amountMinor.toString() } : {}),
    state: p.state,
  }));
  const overageMinor = sub.usage ? toMinor(sub.usage.overageAmount) : undefined;
  const cap = m.overage ? toMinor(m.overage.cap) : undefined;
  return {
    id: sub.id,
    site: sub.site,
    planName: sub.planName,
    rail: sub.rail,
    state: sub.state,
    interval: m.interval,
    intervalCount: m.intervalCount,
    price: {
      unit: m.unit,
      value: m.amountPerPeriod.toString(),
      ...(m.currency ? { currency: m.currency } : {}),
    },
    ...(price !== undefined ? { priceMinor: price.toString() } : {}),
    periodStart: sub.periodStart,
    periodEnd: sub.periodEnd,
    ...(sub.state === 'active' ? { renewsAt: sub.periodEnd } : {}),
    ...(sub.usage
      ? {
          usage: {
            used: sub.usage.used,
            included: sub.usage.included,
            overageCalls: sub.usage.overageCalls,
            ...(overageMinor !== undefined ? { overageMinor: overageMinor.toString() } : {}),
            at: sub.usage.at,
          },
        }
      : {}),
    ...(cap !== undefined ? { overageCapMinor: cap.toString() } : {}),
    history,
    ...underused(sub, price, perUse),
  };
}

/**
 * A plan used for less than it cost: its price against what this period's calls would have cost
 * per use (the site's last per-use price), from the app's word on usage.
 */
function underused(
  sub: SubscriptionRecord,
  price: bigint | undefined,
  perUse: bigint | undefined,
): Pick<SubscriptionView, 'underused'> {
  if (price === undefined || !sub.usage || perUse === undefined) return {};
  const wouldCost = perUse * BigInt(sub.usage.used);
  return wouldCost < price
    ? { underused: { periodCostMinor: price.toString(), perUseMinor: wouldCost.toString() } }
    : {};
}

/**
 * Sites whose last 30 days per use cost more than a plan they offered (the newest offer of each
 * site, in the user's currency), not counting sites already subscribed to that plan.
 */
export async function planHints(db: PayboundDb, currency: string, now: number): Promise<PlanHintView[]> {
  const recent = await db.payments
    .where('createdAt')
    .between(now - COMPARISON_WINDOW_MS, now)
    .toArray();
  const offered = new Map<string, PaymentRecord>();
  for (const p of recent.sort((a, b) => b.createdAt - a.createdAt)) {
    if (p.plans?.length && !offered.has(p.site)) offered.set(p.site, p);
  }
  const subscribed = new Set(
    (await db.subscriptions.toArray()).filter((s) => s.state !== 'ended').map((s) => `${s.site} ${s.planId}`),
  );
  const hints: PlanHintView[] = [];
  for (const [site, p] of offered) {
    const plans = (p.plans ?? []).filter((o) => !subscribed.has(`${site} ${o.id}`));
    const priced = plans.flatMap((o) => {
      try {
        return [planInUserMinor(o, currency, p.rate)];
      } catch {
        return [];
      }
    });
    const best = planWouldHaveBeenCheaper(await siteHistory(db, site, now), now, priced);
    const plan = best && priced.find((o) => o.id === best.planId);
    if (!best || !plan) continue;
    hints.push({
      site,
      planId: plan.id,
      planName: plan.name,
      currency,
      spentMinor: best.spentMinor.toString(),
      calls: best.calls,
      planCostMinor: best.planCostMinor.toString(),
      savingMinor: best.savingMinor.toString(),
    });
  }
  return hints;
}
