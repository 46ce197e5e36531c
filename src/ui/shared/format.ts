/** Words and short forms for what the worker reports in codes: states, protocols, wallet kinds, times. */
import { formatMinor, formatMsatAsSats, formatToken, msatToMinor } from '../../core/money/rates';
import type { PaymentView } from '../../messages/map';
import { locale, type MessageKey, t } from './i18n';

const STATE_LABEL: Record<string, MessageKey> = {
  reserved: 'stateReserved',
  paying: 'statePaying',
  paid: 'statePaid',
  failed: 'stateFailed',
  unknown: 'stateUnknown',
  proof_failed: 'stateProofFailed',
  accepted: 'stateAccepted',
  rejected: 'stateRejected',
  refund_requested: 'stateRefundRequested',
  refunded: 'stateRefunded',
  partially_refunded: 'statePartiallyRefunded',
  refund_denied: 'stateRefundDenied',
  open: 'stateOpen',
  denied: 'stateRefundDenied',
  escalated: 'stateEscalated',
  refund_queued: 'stateRefundQueued',
};

/** A payment's or dispute's state in the user's words; an unknown code is shown with its underscores as spaces. */
export function stateLabel(state: string): string {
  const key = Object.hasOwn(STATE_LABEL, state) ? STATE_LABEL[state] : undefined;
  return key ? t(key) : state.replace(/_/g, ' ');
}

/** How a state reads at a glance: a colour family for its badge. */
export function stateTone(state: string): 'ok' | 'wait' | 'bad' | 'neutral' {
  if (state === 'paid' || state === 'accepted' || state === 'refunded') return 'ok';
  if (['failed', 'proof_failed', 'rejected', 'refund_denied', 'denied'].includes(state)) return 'bad';
  if (['reserved', 'paying', 'unknown', 'open', 'escalated'].includes(state) || state.startsWith('refund'))
    return 'wait';
  return 'neutral';
}

const PROTOCOL_LABEL: Record<string, MessageKey> = {
  l402: 'protocolL402',
  mpp: 'protocolMpp',
  x402: 'protocolX402',
};

export function protocolsLabel(protocols: string[]): string {
  if (protocols.length === 0) return '—';
  return protocols
    .map((p) => {
      const key = Object.hasOwn(PROTOCOL_LABEL, p) ? PROTOCOL_LABEL[p] : undefined;
      return key ? t(key) : p.toUpperCase();
    })
    .join(t('listJoin'));
}

const KIND_LABEL: Record<string, MessageKey> = {
  lnbits: 'railKindLnbits',
  nwc: 'railKindNwc',
  webln: 'railKindWebln',
  card: 'railKindCard',
  ethereum: 'railKindEthereum',
};

/** A wallet kind as a person names it: "Card", "LNbits", "Nostr Wallet Connect". */
export function railKindLabel(kind: string): string {
  const key = Object.hasOwn(KIND_LABEL, kind) ? KIND_LABEL[kind] : undefined;
  return key ? t(key) : kind;
}

/** "2 min ago", "yesterday", then a short date: never a clock time that wraps in a narrow column. */
export function relativeTime(ms: number, now = Date.now()): string {
  const seconds = Math.round((ms - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto', style: 'short' });
  const abs = Math.abs(seconds);
  if (abs < 45) return t('timeJustNow');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return rtf.format(Math.round(seconds / 3600), 'hour');
  if (abs < 7 * 86_400) return rtf.format(Math.round(seconds / 86_400), 'day');
  return new Date(ms).toLocaleDateString(locale(), { month: 'short', day: 'numeric' });
}

/** A full timestamp, short enough for one table cell. */
export function dateTime(ms: number): string {
  return new Date(ms).toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'short' });
}

/** A moment close by, short: the time alone when it is today, else the day and the time. */
export function shortDateTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const today = d.toDateString() === new Date(now).toDateString();
  return d.toLocaleString(
    locale(),
    today ? { timeStyle: 'short' } : { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' },
  );
}

/** A payment's amount in the user's currency when known, otherwise in sats. */
export function paymentAmount(p: PaymentView): string {
  if (p.amountMinor !== undefined && p.currency) return formatMinor(BigInt(p.amountMinor), p.currency);
  if (p.x402) return formatToken(BigInt(p.x402.amount), p.x402.decimals, p.x402.symbol);
  return formatMsatAsSats(BigInt(p.amountMsat));
}

export function hostOf(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return origin;
  }
}

/**
 * The worker's notes speak of sats as bare numbers ("the refund of 4080 sat reached your wallet"):
 * each "N sat(s)" becomes grouped sats, with the user's currency at the payment's rate when known.
 */
export function moneyInNote(note: string, rate?: { minorPerBtc: string }, currency?: string): string {
  return note.replace(/\b(\d+) sats?\b/g, (_all, digits: string) => {
    const msat = BigInt(digits) * 1000n;
    const sats = formatMsatAsSats(msat);
    if (!rate || !currency) return sats;
    return `${sats} · ${formatMinor(msatToMinor(msat, { minorPerBtc: BigInt(rate.minorPerBtc) }), currency)}`;
  });
}
