/** How the pages say a plan's period and price ("20.00 a month", "every 3 months"). */
import { formatMinor } from '../../core/money/rates';
import type { PlanView } from '../../messages/map';
import { t } from './i18n';

type Interval = PlanView['interval'];

export function periodText(interval: Interval, count: number): string {
  return count === 1 ? t(`planPer_${interval}`) : t(`planEvery_${interval}`, String(count));
}

export function planPriceText(
  priceMinor: string,
  currency: string,
  interval: Interval,
  count: number,
): string {
  return t('planPrice', formatMinor(BigInt(priceMinor), currency), periodText(interval, count));
}

export function includesText(plan: Pick<PlanView, 'includes'>, currency: string): string {
  return 'calls' in plan.includes
    ? t('planIncludesCalls', plan.includes.calls.toLocaleString())
    : t('planIncludesCredit', formatMinor(BigInt(plan.includes.creditMinor), currency));
}
