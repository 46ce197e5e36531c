// Quill Pro, the demo's plan beside pay-per-use drafts: 20.00 USD a month by card, or 20 000 sats
// a month on Lightning (the same at the demo's 100 000 USD/BTC), 200 drafts included, then 500 sats
// or 0.50 USD a draft, at most 10 000 sats or 10.00 USD of overage a month. A draft paid per use
// costs at least 4 010 sats, so the plan is offered on every drafts challenge.
import type { PlanDefinition } from '../kit/plans';
import { satsText, usdText } from './price-text';

export const PLAN_SUBSCRIBE_PATH = '/plans/subscribe';
/** Demo-only: moves the plan desk's clock (only when the demo runs with `testRoutes`). */
export const PLAN_ADVANCE_PATH = '/__test/plans/advance';
/** Demo-only: sets Quill Pro's Lightning price (only with `testRoutes`). */
export const PLAN_PRICE_PATH = '/__test/plans/price';

export const QUILL_PRO = {
  id: 'quill-pro',
  name: 'Quill Pro',
  interval: 'month',
  includes: { calls: 200 },
  lightning: { price: 20_000n, overage: { price: 500n, cap: 10_000n } },
  card: { price: 2000n, overage: { price: 50n, cap: 1000n } },
} as const satisfies PlanDefinition;

/** The plan on the rails this demo takes. */
export function quillPro(card: boolean): PlanDefinition {
  const { card: cardPrice, ...rest } = QUILL_PRO;
  return card ? { ...rest, card: cardPrice } : rest;
}

/** The page's one line about the plan. */
export function planNote(card: boolean): string {
  const l = QUILL_PRO.lightning;
  const c = QUILL_PRO.card;
  const price = card ? `${satsText(l.price)} or ${usdText(c.price)}` : satsText(l.price);
  const overage = card
    ? `${satsText(l.overage.price)} (${usdText(c.overage.price)})`
    : satsText(l.overage.price);
  return (
    `Or ${QUILL_PRO.name}: ${price} a month, ${QUILL_PRO.includes.calls} drafts included, ` +
    `then ${overage} a draft, at most ${satsText(l.overage.cap)}${card ? ` (${usdText(c.overage.cap)})` : ''} a month more.`
  );
}
