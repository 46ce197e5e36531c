/**
 * Upgrades of stored data between schema versions, and the record shapes older versions wrote
 * (also what version-1 backups hold). Released shapes are frozen here: a new version adds its
 * own, it never edits one.
 */
import type { Transaction } from 'dexie';
import type { MppChallenge } from '../core/challenge/mpp';
import { decodeInvoice } from '../core/lightning/bolt11';
import { siteOf } from '../core/site/site';
import type { Payee, PaymentRecord, SiteRecord, TokenRecord } from './schema';

/** The MPP method of card charges through the card service (as recorded by versions 1–2). */
const LEGACY_CARD_METHOD = 'paybound-card';

/**
 * A payment as schema versions 1 and 2 stored it: one shape for every method, with placeholder
 * fields (a card had `amountMsat` 0 and empty invoice, hash and macaroon).
 */
export type LegacyPayment = Omit<PaymentRecord, 'kind' | 'amount' | 'challenge' | 'expiresAt'> & {
  protocol: 'l402' | 'mpp';
  mpp?: MppChallenge;
  amountMsat: bigint;
  invoice: string;
  paymentHash: string;
  invoiceExpiresAt: number;
  macaroon: string;
  scheme: 'L402' | 'LSAT';
  preimage?: string;
  receipt?: string;
  paymentIntent?: string;
  lightning?: never;
  card?: never;
};

/** A legacy record of a card charge: MPP's card method (the only payment without sats). */
const wasCard = (p: Pick<LegacyPayment, 'mpp'>): boolean =>
  p.mpp?.method.toLowerCase() === LEGACY_CARD_METHOD;

/** The payee of a payment recorded before payees were kept: from its invoice or card challenge. */
function legacyPayee(p: Pick<LegacyPayment, 'invoice' | 'mpp'>): Payee | undefined {
  if (p.mpp?.request.recipient && !p.invoice) return { kind: 'card', id: p.mpp.request.recipient };
  try {
    return p.invoice ? { kind: 'node', id: decodeInvoice(p.invoice).payee } : undefined;
  } catch {
    return undefined;
  }
}

/** A legacy record as the record of its method. Pure: the Dexie upgrade and backup import share it. */
export function fromLegacy(old: LegacyPayment): PaymentRecord {
  const {
    protocol,
    mpp,
    amountMsat,
    invoice,
    paymentHash,
    invoiceExpiresAt,
    macaroon,
    scheme,
    preimage,
    receipt,
    paymentIntent,
    lightning: _l,
    card: _c,
    ...shared
  } = old;
  if (wasCard(old) && mpp) {
    return {
      ...shared,
      kind: 'card',
      amount: { unit: 'minor', currency: mpp.request.currency.toUpperCase(), value: old.amountMinor ?? 0n },
      challenge: { protocol: 'mpp', mpp },
      expiresAt: invoiceExpiresAt,
      card: {
        ...(receipt !== undefined ? { receipt } : {}),
        ...(paymentIntent !== undefined ? { paymentIntent } : {}),
      },
    };
  }
  return {
    ...shared,
    kind: 'lightning',
    amount: { unit: 'msat', value: amountMsat },
    challenge: protocol === 'mpp' && mpp ? { protocol: 'mpp', mpp } : { protocol: 'l402', macaroon, scheme },
    expiresAt: invoiceExpiresAt,
    lightning: { invoice, paymentHash, ...(preimage !== undefined ? { preimage } : {}) },
  };
}

/**
 * Version 1 → 2: every payment gets its site and payee; the sites the user approved payments to
 * (by a click) become consented, with their payees; tokens belong to the site that paid for them.
 */
export async function upgradeToSites(tx: Transaction): Promise<void> {
  const payments = tx.table<LegacyPayment, string>('payments');
  const consents = new Map<string, SiteRecord>();
  await payments.toCollection().modify((p) => {
    p.site = siteOf(p.origin) ?? p.origin;
    const payee = legacyPayee(p);
    if (payee) p.payee = payee;
    if (p.approval !== 'approved') return;
    const at = p.createdAt;
    const known = consents.get(p.site) ?? { site: p.site, firstApprovedAt: at, payees: [] };
    if (at < known.firstApprovedAt) known.firstApprovedAt = at;
    if (payee && !known.payees.some((x) => x.id === payee.id)) known.payees.push({ ...payee, firstAt: at });
    consents.set(p.site, known);
  });
  await tx.table<SiteRecord, string>('sites').bulkPut([...consents.values()]);
  const bySite = new Map((await payments.toArray()).map((p) => [p.id, p]));
  await tx
    .table<TokenRecord, number>('tokens')
    .toCollection()
    .modify((t) => {
      const paid = bySite.get(t.paymentId);
      t.site = paid?.site ?? siteOf(t.origin) ?? t.origin;
      t.resource = paid?.via === 'navigation' ? 'navigation' : 'fetch';
      if (paid?.via === 'navigation' && paid.tabId !== undefined) t.tabId = paid.tabId;
    });
}

/** Version 2 → 3: each payment becomes the record of its method (see `fromLegacy`). */
export async function upgradeToMethods(tx: Transaction): Promise<void> {
  const payments = tx.table('payments');
  const rows = (await payments.toArray()) as LegacyPayment[];
  await payments.bulkPut(rows.map(fromLegacy));
}

/** v5: each unused credential's payment gets its entry in the sparse `unusedAt` index. */
export async function upgradeToUnusedIndex(tx: Transaction): Promise<void> {
  await tx
    .table('payments')
    .filter((p: { credentialUnused?: true }) => p.credentialUnused === true)
    .modify((p: { site: string; createdAt: number; unusedAt?: [string, number] }) => {
      p.unusedAt = [p.site, p.createdAt];
    });
}
