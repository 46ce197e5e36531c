/**
 * What the user is told without asking: quiet notices for automatic payments (can be muted),
 * plan renewals, a budget's pace turning to run out before its period ends, budget milestones (once per budget, period and milestone — recorded in the database, so a
 * restarted worker does not repeat them), "approval needed", and the badge counting waiting quotes.
 */
import { formatMinor, formatMsatAsSats } from '../../core/money/rates';
import { forecastBudget } from '../../core/plans/forecast';
import { appliesTo } from '../../core/policy/decide';
import { crossedMilestones } from '../../core/policy/milestones';
import { type Period, periodKey } from '../../core/policy/periods';
import { autoTotalKeys, type Rules, totalKey } from '../../core/policy/rules';
import { type Said, type SaidKey, said } from '../../core/text/said';
import { cleanMerchantText } from '../../core/text/sanitize';
import type { PayboundDb, PaymentRecord, SubscriptionRecord } from '../../db/schema';
import { getSetting } from '../../db/settings';

const SPENT_THIS: Record<Period, SaidKey> = {
  day: 'noticeBudgetSpentDay',
  week: 'noticeBudgetSpentWeek',
  month: 'noticeBudgetSpentMonth',
};

export interface NoticeApi {
  /** Title and message are Saids: the worker renders them in the browser's language. */
  notify(id: string, title: Said, message: Said): Promise<void>;
  badge(text: string): Promise<void>;
}

/** A charge's amount as a notification says it: in the user's currency, or in sats without a rate. */
function amountText(p: PaymentRecord): string {
  if (p.kind === 'card') return formatMinor(p.amount.value, p.amount.currency);
  return p.amountMinor !== undefined && p.rate
    ? formatMinor(p.amountMinor, p.rate.currency)
    : formatMsatAsSats(p.amount.value);
}

export class NoticeService {
  constructor(
    private readonly db: PayboundDb,
    private readonly api: NoticeApi,
    private readonly rules: () => Promise<Rules>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * One notice per site, replaced by each automatic payment: this charge, and what the site took
   * without a click today. An agent paying a hundred times an hour leaves one line in the tray,
   * not a hundred (and the browser does not slow down under them).
   */
  async paidAutomatically(p: PaymentRecord): Promise<void> {
    const [muted, rules] = await Promise.all([getSetting(this.db, 'muteAutoNotices'), this.rules()]);
    if (muted) return;
    const day = periodKey('day', p.createdAt, rules.timeZone);
    const today = (await this.db.spend.get(autoTotalKeys(p.site, day).site))?.committedMinor;
    await this.api.notify(
      `paid-${p.site}`,
      said('noticePaidAuto', amountText(p)),
      today !== undefined && p.rate
        ? said('noticeAutoToday', p.site, formatMinor(today, p.rate.currency))
        : said('noticeSite', p.site),
    );
  }

  /** A plan renewed within its standing approval: told even when automatic payments are muted. */
  async renewed(sub: SubscriptionRecord): Promise<void> {
    await this.api.notify(
      `renewed-${sub.id}-${sub.periodEnd}`,
      said('noticeRenewed', cleanMerchantText(sub.planName, 60).text),
      said('noticeRenewedUntil', sub.site, new Date(sub.periodEnd).toISOString().slice(0, 10)),
    );
  }

  /** After a payment's amount became spent: tell each milestone it crossed, once. */
  async afterCommit(p: PaymentRecord): Promise<void> {
    if (p.amountMinor === undefined) return;
    const rules = await this.rules();
    const currency = p.rate?.currency ?? 'USD';
    for (const b of rules.budgets) {
      if (!appliesTo(b, p.site)) continue;
      const period = periodKey(b.period, p.createdAt, rules.timeZone);
      const total = await this.db.spend.get(totalKey(b, period));
      const after = total?.committedMinor ?? 0n;
      for (const m of crossedMilestones(b.milestones, b.limitMinor, after - p.amountMinor, after)) {
        const key = `milestone|${b.id}|${period}|${m}`;
        // `add` fails on a key already there: the notice was given (by this or an earlier worker).
        const first = await this.db.notices.add({ key, at: Date.now() }).then(
          () => true,
          () => false,
        );
        if (!first) continue;
        await this.api.notify(
          key,
          m >= 100 ? said('noticeBudgetUsedUp', b.label) : said('noticeBudgetPercent', b.label, String(m)),
          said(SPENT_THIS[b.period], formatMinor(after, currency), formatMinor(b.limitMinor, currency)),
        );
      }
      await this.forecastNotice(b, period, after, rules.timeZone, currency);
    }
  }

  /**
   * The first time in a period the pace says the budget runs out before the period ends: told
   * once, like a milestone (a budget already used up has had its notice).
   */
  private async forecastNotice(
    b: Rules['budgets'][number],
    period: string,
    spentMinor: bigint,
    timeZone: string,
    currency: string,
  ): Promise<void> {
    const now = this.now();
    const f = forecastBudget({ budget: b, spentMinor, nowMs: now, timeZone });
    if (f.kind !== 'runsOut') return;
    const key = `forecast|${b.id}|${period}`;
    const first = await this.db.notices.add({ key, at: now }).then(
      () => true,
      () => false,
    );
    if (!first) return;
    await this.api.notify(
      key,
      said('noticeForecast', b.label, new Date(f.atMs).toISOString().slice(0, 10)),
      said(SPENT_THIS[b.period], formatMinor(spentMinor, currency), formatMinor(b.limitMinor, currency)),
    );
  }

  /** The app refused the paid proof: never muted, since the user paid and got nothing. */
  async refused(p: PaymentRecord): Promise<void> {
    await this.api.notify(
      `refused-${p.id}`,
      said('noticeRefused'),
      said('noticeRefusedSite', p.site, String(p.delivery?.status ?? '')),
    );
  }

  async approvalNeeded(tabId: number, p: PaymentRecord): Promise<void> {
    const amount = amountText(p);
    await this.api.notify(
      `approve-${tabId}`,
      said('noticeApprovalNeeded'),
      said('noticeAsksFor', p.site, amount),
    );
  }

  async refreshBadge(): Promise<void> {
    const waiting = await this.db.payments
      .where('state')
      .equals('reserved')
      .filter((p) => p.approval === 'waiting')
      .count();
    await this.api.badge(waiting > 0 ? String(waiting) : '');
  }
}
