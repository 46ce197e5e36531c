/**
 * Plans as the pages show them: offers beside a quote, compared with this site's own ledger,
 * and the subscriptions with their usage, renewals and history. Amounts go to the pages in the
 * user's currency (minor units), converted with the quote's rate for Lightning plans.
 */
import { msatToMinor } from '../../core/money/rates';
import type {
  PayboundDb,
  PaymentRecord,
  PlanOfferRecord,
  RateSnapshot,
  SubscriptionRecord,
} from '../../db/schema';
import type { PlanView, QuoteView, SubscriptionView } from '../../messages/map';

/** How far back the quote window looks at this site's spending. */
export const COMPARE_DAYS = 30;
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

/** What the site's calls of the last days cost per use, and what they would have cost on the plan. */
export function comparePlan(
  offer: PlanOfferRecord,
  history: readonly { amountMinor: bigint }[],
  toMinor: (amount: bigint) => bigint | undefined,
): PlanView['comparison'] | undefined {
  const price = toMinor(offer.price);
  if (price === undefined) return undefined;
  const spent = history.reduce((n, h) => n + h.amountMinor, 0n);
  const calls = history.length;
  let cost = price;
  if ('calls' in offer.includes && calls > offer.includes.calls) {
    const beyond = history.slice(offer.includes.calls);
    if (offer.overage) {
      const per = toMinor(offer.overage.price) ?? 0n;
      const cap = toMinor(offer.overage.cap) ?? 0n;
      const over = per * BigInt(beyond.length);
      cost += over < cap ? over : cap;
      // Past the cap the calls are pay-per-use again.
      if (per > 0n && over > cap) {
        const underCap = Number(cap / per);
        cost += beyond.slice(underCap).reduce((n, h) => n + h.amountMinor, 0n);
      }
    } else cost += beyond.reduce((n, h) => n + h.amountMinor, 0n);
  } else if ('credit' in offer.includes) {
    const credit = toMinor(offer.includes.credit) ?? 0n;
    if (spent > credit) cost += spent - credit;
  }
  return {
    days: COMPARE_DAYS,
    spentMinor: spent.toString(),
    calls,
    planCostMinor: cost.toString(),
    savingMinor: (spent - cost).toString(),
  };
}

/** This site's spent per-use charges of the last COMPARE_DAYS days, oldest first. */
export async function siteHistory(
  db: PayboundDb,
  site: string,
  now: number,
): Promise<{ amountMinor: bigint; createdAt: number }[]> {
  const rows = await db.payments
    .where('[site+createdAt]')
    .between([site, now - COMPARE_DAYS * DAY_MS], [site, now])
    .toArray();
  return rows
    .filter((p) => !p.plan && SPENT.has(p.state) && p.amountMinor !== undefined)
    .map((p) => ({ amountMinor: p.amountMinor!, createdAt: p.createdAt }));
}

export function planViews(p: PaymentRecord, history: readonly { amountMinor: bigint }[]): QuoteView['plans'] {
  if (!p.plans?.length) return undefined;
  return p.plans.flatMap((offer): PlanView[] => {
    const toMinor = (amount: bigint) => planMinor(amount, offer.unit.unit, p.rate);
    const price = toMinor(offer.price);
    const comparison = comparePlan(offer, history, toMinor);
    if (price === undefined || !comparison) return [];
    return [
      {
        id: offer.id,
        name: offer.name,
        rail: offer.rail,
        interval: offer.interval,
        intervalCount: offer.intervalCount,
        priceMinor: price.toString(),
        includes:
          'calls' in offer.includes
            ? { calls: offer.includes.calls }
            : { creditMinor: (toMinor(offer.includes.credit) ?? 0n).toString() },
        ...(offer.overage
          ? {
              overage: {
                priceMinor: (toMinor(offer.overage.price) ?? 0n).toString(),
                capMinor: (toMinor(offer.overage.cap) ?? 0n).toString(),
              },
            }
          : {}),
        comparison,
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
