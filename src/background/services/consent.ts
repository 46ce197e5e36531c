/**
 * Consent per site and payee (DESIGN §9): what the user agreed to with their own clicks in the
 * quote window. The first payment to a site, and the first to a new payee for it, always ask;
 * "let this site pay automatically" and "block this site" change the site's rule.
 */
import { DEFAULT_SITE_DAY_LIMIT_MINOR } from '../../core/policy/decide';
import { isInternationalName } from '../../core/site/site';
import type { PayboundDb, PaymentRecord, SiteRecord } from '../../db/schema';
import { setSetting } from '../../db/settings';
import type { QuoteView } from '../../messages/map';
import { loadRules } from './rules';

/** The user approved this payment with a click: its site and payee are known from now on. */
export async function recordApproval(
  db: PayboundDb,
  p: PaymentRecord,
  now: number,
  /** The site's row (none: undefined), when the caller's transaction has just read it (not read again). */
  read?: { row: SiteRecord | undefined },
): Promise<void> {
  await db.transaction('rw', db.sites, async () => {
    const row =
      read && (read.row === undefined || read.row.site === p.site) ? read.row : await db.sites.get(p.site);
    const known: SiteRecord = row ?? {
      site: p.site,
      firstApprovedAt: now,
      payees: [],
    };
    if (p.payee && !known.payees.some((x) => x.id === p.payee?.id)) {
      known.payees = [...known.payees, { ...p.payee, firstAt: now }];
    }
    await db.sites.put(known);
  });
}

/** A payment went out: remember who was paid, to flag a different payee next time. */
export async function notePaid(db: PayboundDb, p: PaymentRecord, now: number): Promise<void> {
  if (!p.payee) return;
  await db.transaction('rw', db.sites, async () => {
    const known = await db.sites.get(p.site);
    if (known && p.payee)
      await db.sites.put({
        ...known,
        lastPayee: { ...known.lastPayee, [p.payee.kind]: p.payee.id },
        lastPaidAt: now,
      });
  });
}

/** Lets a site pay automatically up to these limits (the site's rule becomes `trusted`). */
export async function allowAutomatic(
  db: PayboundDb,
  site: string,
  perChargeMinor: bigint,
  perDayMinor: bigint,
): Promise<void> {
  const rules = await loadRules(db);
  if (perChargeMinor > rules.confirmMaxMinor) {
    throw new RangeError('the automatic limit cannot be above the confirmation limit');
  }
  const others = rules.sites.filter((s) => s.site !== site);
  await setSetting(db, 'rules', {
    ...rules,
    sites: [...others, { site, mode: 'trusted', autoLimitMinor: perChargeMinor, dayLimitMinor: perDayMinor }],
  });
}

/** Blocks a site: its charges are refused from now on. */
export async function blockSite(db: PayboundDb, site: string): Promise<void> {
  const rules = await loadRules(db);
  await setSetting(db, 'rules', {
    ...rules,
    sites: [...rules.sites.filter((s) => s.site !== site), { site, mode: 'block' }],
  });
}

/** Shortens a node id or account id for display: its start and end. */
export function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}

/** What the quote window shows about the site and the payee, from what the user agreed to. */
export async function consentView(
  db: PayboundDb,
  p: PaymentRecord,
): Promise<Pick<QuoteView, 'site' | 'topSite' | 'lookalike' | 'firstPayment' | 'payee' | 'autoOffer'>> {
  const [known, rules] = await Promise.all([db.sites.get(p.site), loadRules(db)]);
  const rule = rules.sites.find((s) => s.site === p.site);
  return {
    site: p.site,
    ...(p.topSite ? { topSite: p.topSite } : {}),
    lookalike: isInternationalName(p.site),
    firstPayment: known === undefined,
    ...(p.payee
      ? {
          payee: {
            kind: p.payee.kind,
            id: p.payee.id,
            short: shortId(p.payee.id),
            isNew: !(known?.payees.some((x) => x.id === p.payee?.id) ?? false),
            // Only against the last payee of the same kind: a card merchant is not a Lightning node.
            changed: (() => {
              const last = known?.lastPayee?.[p.payee.kind];
              return last !== undefined && last !== p.payee.id;
            })(),
          },
        }
      : {}),
    ...(rule?.mode === 'trusted' || rule?.mode === 'ask'
      ? {}
      : {
          autoOffer: {
            perChargeMinor: rules.autoMaxMinor.toString(),
            perDayMinor: DEFAULT_SITE_DAY_LIMIT_MINOR.toString(),
          },
        }),
  };
}
