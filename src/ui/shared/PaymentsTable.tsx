import type { ReactNode } from 'react';
import { formatMinor, formatMsatAsSats } from '../../core/money/rates';
import type { PaymentView } from '../../messages/map';
import { dateTime, hostOf, moneyInNote, relativeTime, shortDateTime, stateLabel, stateTone } from './format';
import { say, t } from './i18n';

/** Under review until when; what the app settled and what came back. The popup keeps the first two. */
function ReviewLine({ p, compact }: { p: PaymentView; compact: boolean }) {
  const money = (minor: string) => (p.currency ? formatMinor(BigInt(minor), p.currency) : minor);
  return (
    <>
      {p.provisional && p.reviewEndsAt !== undefined && (
        <div className={compact ? 'small nowrap' : 'small'} data-testid="under-review">
          {t('reviewUnderReview', compact ? shortDateTime(p.reviewEndsAt) : dateTime(p.reviewEndsAt))}
        </div>
      )}
      {!compact && p.actualMinor !== undefined && p.amountMinor !== undefined && (
        <div className="muted small" data-testid="actual">
          {t('reviewActual', money(p.actualMinor), money(p.amountMinor))}
        </div>
      )}
      {p.refundedMinor !== undefined && (
        <div className={compact ? 'small nowrap' : 'small'} data-testid="refunded">
          {t('reviewRefunded', money(p.refundedMinor))}
        </div>
      )}
      {p.refundPending && <div className="muted small">{t('reviewRefundPending')}</div>}
      {p.deliveredNothing && (
        <div className="small" data-testid="delivered-nothing">
          {t(
            p.deliveredNothing.by === 'browser' ? 'deliveredNothingBrowser' : 'deliveredNothingPage',
            String(p.deliveredNothing.status),
          )}
        </div>
      )}
      {!compact && p.settlementNote && (
        <div className="muted small">
          {moneyInNote(say(p.settlementNoteSaid, p.settlementNote), p.rate, p.currency)}
        </div>
      )}
    </>
  );
}

/** The state as a word in a coloured badge, so it reads at a glance and never as a code. */
export function StateBadge({ state }: { state: string }) {
  return <span className={`badge ${stateTone(state)}`}>{stateLabel(state)}</span>;
}

/**
 * `actions`: extra controls for a row (the history page offers Reject on paid charges).
 * `compact`: the popup's narrow form: relative times under the site, one amount, actions on their own line.
 */
export function PaymentsTable({
  rows,
  actions,
  compact = false,
}: {
  rows: PaymentView[];
  actions?: (p: PaymentView) => ReactNode;
  compact?: boolean;
}) {
  if (rows.length === 0) return <p className="muted">{t('noPaymentsYet')}</p>;
  const columns = compact ? 3 : actions ? 5 : 4;
  return (
    <table data-testid="payments" className={compact ? 'payments compact' : 'payments'}>
      <thead>
        <tr>
          {!compact && <th scope="col">{t('columnWhen')}</th>}
          <th scope="col">{t('columnSite')}</th>
          <th scope="col" className="num">
            {t('columnAmount')}
          </th>
          <th scope="col">{t('columnStatus')}</th>
          {actions && !compact && (
            <th scope="col">
              <span className="visually-hidden">{t('columnActions')}</span>
            </th>
          )}
        </tr>
      </thead>
      {rows.map((p) => {
        const sats = p.kind === 'lightning' ? formatMsatAsSats(BigInt(p.amountMsat)) : undefined;
        const fiat =
          p.amountMinor !== undefined && p.currency
            ? formatMinor(BigInt(p.amountMinor), p.currency)
            : undefined;
        const when = (
          <time dateTime={new Date(p.createdAt).toISOString()} title={dateTime(p.createdAt)}>
            {compact ? relativeTime(p.createdAt) : dateTime(p.createdAt)}
          </time>
        );
        const extra = actions?.(p);
        return (
          // One tbody per payment keeps its action line with it.
          <tbody key={p.id}>
            <tr data-state={p.state}>
              {!compact && <td className="nowrap">{when}</td>}
              <td className="site">
                <span className="ellipsis" title={p.origin}>
                  {hostOf(p.origin)}
                </span>
                {compact && <div className="muted small nowrap">{when}</div>}
              </td>
              <td className="num">
                {/* A card charge moves no sats. */}
                <span className="nowrap" title={compact && fiat && sats ? sats : undefined}>
                  {fiat ?? sats ?? ''}
                </span>
                {!compact && fiat && sats && <div className="muted small nowrap">{sats}</div>}
              </td>
              <td title={p.failure?.reason}>
                <StateBadge state={p.state} />
                {!compact && p.failure && p.state !== 'paid' ? (
                  <div className="muted small">{say(p.failure.said, p.failure.reason)}</div>
                ) : null}
                <ReviewLine p={p} compact={compact} />
              </td>
              {actions && !compact && <td>{extra}</td>}
            </tr>
            {actions && compact && extra && (
              <tr className="actions-row">
                <td colSpan={columns}>{extra}</td>
              </tr>
            )}
          </tbody>
        );
      })}
    </table>
  );
}
