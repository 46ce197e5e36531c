/**
 * What the user can do about a paid charge: Accept or Reject while it is under review; after the
 * window (or once accepted) ask for a refund; a charge without review can be rejected (a refund
 * request) at any time. The form asks for a reason and, optionally, part of the amount.
 */
import { type FormEvent, useState } from 'react';
import { parseMoneyInput } from '../../core/money/rates';
import { send } from '../../messages/client';
import type { PaymentView } from '../../messages/map';
import { errorText, say, t } from './i18n';

type Mode = 'reject' | 'refund';

function modeFor(p: PaymentView): Mode | undefined {
  if (p.provisional) return 'reject';
  if (p.reviewEndsAt === undefined)
    return p.state === 'paid' || p.state === 'accepted' ? 'reject' : undefined;
  return p.state === 'paid' || p.state === 'accepted' ? 'refund' : undefined;
}

function RefundForm({
  payment,
  mode,
  currency,
  onDone,
}: {
  payment: PaymentView;
  mode: Mode;
  currency: string;
  onDone(message?: string): Promise<void>;
}) {
  const [reason, setReason] = useState('');
  const [amount, setAmount] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const card = payment.kind === 'card';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const amountMinor = amount.trim()
        ? parseMoneyInput(amount, payment.currency ?? currency).toString()
        : undefined;
      const d = await send(mode === 'reject' ? 'payment.reject' : 'payment.refund', {
        paymentId: payment.id,
        reason,
        ...(amountMinor ? { amountMinor } : {}),
      });
      const last = d.timeline.at(-1);
      await onDone(last ? say(last.said, last.note) : undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card warn refund-form" data-testid="reject-form" onSubmit={(e) => void submit(e)}>
      <p>{t('historyRejectTitle', new URL(payment.origin).host)}</p>
      {mode === 'refund' && (
        <p className="muted small" data-testid="refund-note">
          {t(card ? 'reviewLateCard' : 'reviewLateLightning')}
        </p>
      )}
      <label>
        {t('historyRejectReason')}{' '}
        <input required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>{' '}
      <label>
        {t('historyRejectAmount')}{' '}
        <input className="narrow" value={amount} onChange={(e) => setAmount(e.target.value)} />
      </label>{' '}
      <button type="submit" className="primary" disabled={busy}>
        {t(mode === 'reject' ? 'historyRejectConfirm' : 'reviewAskRefund')}
      </button>{' '}
      <button type="button" onClick={() => void onDone()}>
        {t('historyRejectCancel')}
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

export function ReviewActions({
  payment,
  currency,
  onChanged,
}: {
  payment: PaymentView;
  currency: string;
  onChanged(message?: string): Promise<void>;
}) {
  const [open, setOpen] = useState<Mode>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const mode = modeFor(payment);
  if (!mode) return null;
  const accept = async () => {
    setBusy(true);
    try {
      const p = await send('payment.accept', { paymentId: payment.id });
      await onChanged(p.settlementNote ? say(p.settlementNoteSaid, p.settlementNote) : undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="review-actions">
      {payment.provisional && (
        <button
          type="button"
          className="primary"
          data-testid={`accept-${payment.id}`}
          disabled={busy}
          onClick={() => void accept()}
        >
          {t('reviewAccept')}
        </button>
      )}{' '}
      <button
        type="button"
        data-testid={`${mode}-${payment.id}`}
        disabled={busy}
        onClick={() => setOpen(mode)}
      >
        {t(mode === 'reject' ? 'reviewReject' : 'reviewAskRefund')}
      </button>
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
      {open && (
        <RefundForm
          payment={payment}
          mode={open}
          currency={currency}
          onDone={async (message) => {
            setOpen(undefined);
            await onChanged(message);
          }}
        />
      )}
    </div>
  );
}
