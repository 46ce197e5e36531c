/**
 * Export and import of the ledger. A backup is JSON with amounts as decimal strings (JSON has no
 * integers that large). Version 2 holds each payment as the record of its method (Lightning, card,
 * x402); version 1 (made
 * before schema version 3) holds the older one-shape rows, converted on import as the database
 * upgrade converts them. Import validates every row, keeps only settled history (a reservation from
 * another profile means nothing here), and merges by payment id and challenge key: nothing is
 * duplicated, and what was skipped is counted.
 */
import * as v from 'valibot';
import { isSaidKey } from '../core/text/said';
import { fromLegacy, type LegacyPayment } from './migrations';
import type { PayboundDb, PaymentRecord } from './schema';

const Digits = v.pipe(v.string(), v.regex(/^-?\d{1,30}$/));
const Big = v.pipe(
  Digits,
  v.transform((s) => BigInt(s)),
);
/** An amount charged: a whole number of its unit, never negative. */
const Amount = v.pipe(
  v.string(),
  v.regex(/^\d{1,30}$/),
  v.transform((s) => BigInt(s)),
);
const FINAL = [
  'paid',
  'failed',
  'proof_failed',
  'accepted',
  'rejected',
  'refund_requested',
  'refunded',
  'partially_refunded',
  'refund_denied',
] as const;

/** A sentence the pages render: only a key Paybound knows, with short plain-text arguments. */
const SaidRow = v.strictObject({
  key: v.pipe(v.string(), v.check(isSaidKey, 'unknown message key')),
  args: v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(500))), v.maxLength(4))),
});

/** What every payment row holds, in both versions of the format. */
const shared = {
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(80)),
  key: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  origin: v.pipe(v.string(), v.regex(/^https?:\/\/[^/\s]+$/)),
  url: v.pipe(v.string(), v.maxLength(8192)),
  method: v.string(),
  via: v.picklist(['fetch', 'navigation']),
  railId: v.string(),
  state: v.picklist(FINAL),
  approval: v.picklist(['waiting', 'approved', 'denied', 'auto']),
  amountMinor: v.optional(Big),
  rate: v.optional(
    v.looseObject({ currency: v.string(), minorPerBtc: Big, source: v.string(), asOf: v.number() }),
  ),
  tier: v.picklist(['auto', 'confirm', 'strong', 'overage', 'deny']),
  reasons: v.array(v.string()),
  reasonsSaid: v.optional(v.array(SaidRow)),
  failure: v.optional(v.looseObject({ code: v.string(), reason: v.string(), said: v.optional(SaidRow) })),
  budgetEffects: v.array(
    v.looseObject({
      budgetId: v.string(),
      label: v.string(),
      limitMinor: Big,
      afterMinor: Big,
      overMinor: Big,
    }),
  ),
  estimate: v.optional(v.looseObject({ min: Big, max: Big })),
  settlement: v.optional(
    v.looseObject({
      actual: v.optional(Big),
      overReported: v.optional(Big),
      refunded: Big,
      countedMinor: v.optional(Big),
    }),
  ),
  createdAt: v.number(),
  updatedAt: v.number(),
};

/** Version 1 of the format: rows as schema versions 1–2 stored them (one shape for every method). */
const LegacyRow = v.looseObject({
  ...shared,
  protocol: v.picklist(['l402', 'mpp']),
  amountMsat: Big,
  invoice: v.string(),
  paymentHash: v.string(),
  invoiceExpiresAt: v.number(),
  macaroon: v.string(),
  scheme: v.picklist(['L402', 'LSAT']),
});

const MppRow = v.looseObject({
  protocol: v.literal('mpp'),
  mpp: v.looseObject({
    id: v.string(),
    method: v.string(),
    request: v.looseObject({ currency: v.string() }),
  }),
});

/** Version 2: the record of its method (schema version 3). */
const MethodRow = v.variant('kind', [
  v.looseObject({
    ...shared,
    kind: v.literal('lightning'),
    amount: v.strictObject({ unit: v.literal('msat'), value: Amount }),
    challenge: v.variant('protocol', [
      v.looseObject({
        protocol: v.literal('l402'),
        macaroon: v.string(),
        scheme: v.picklist(['L402', 'LSAT']),
      }),
      MppRow,
    ]),
    expiresAt: v.number(),
    lightning: v.looseObject({
      invoice: v.string(),
      paymentHash: v.string(),
      preimage: v.optional(v.string()),
    }),
  }),
  v.looseObject({
    ...shared,
    kind: v.literal('card'),
    amount: v.strictObject({
      unit: v.literal('minor'),
      currency: v.pipe(v.string(), v.regex(/^[A-Z]{3}$/)),
      value: Amount,
    }),
    challenge: MppRow,
    expiresAt: v.number(),
    card: v.looseObject({ receipt: v.optional(v.string()), paymentIntent: v.optional(v.string()) }),
  }),
  v.looseObject({
    ...shared,
    kind: v.literal('x402'),
    amount: v.strictObject({
      unit: v.literal('token'),
      symbol: v.literal('USDC'),
      decimals: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(36)),
      value: Amount,
    }),
    challenge: v.looseObject({
      protocol: v.literal('x402'),
      version: v.picklist([1, 2]),
      resource: v.looseObject({ url: v.string() }),
      accepted: v.record(v.string(), v.unknown()),
    }),
    expiresAt: v.number(),
    x402: v.looseObject({
      scheme: v.picklist(['exact', 'upto']),
      network: v.pipe(v.string(), v.regex(/^eip155:\d{1,16}$/)),
      asset: v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{40}$/)),
      payTo: v.pipe(v.string(), v.regex(/^0x[0-9a-fA-F]{40}$/)),
      usdMinor: Amount,
      usdRate: v.optional(
        v.looseObject({ currency: v.string(), minorPerBtc: Big, source: v.string(), asOf: v.number() }),
      ),
      settlement: v.optional(
        v.looseObject({
          transaction: v.string(),
          network: v.string(),
          amount: v.optional(Amount),
          at: v.number(),
        }),
      ),
    }),
  }),
]);

export const BackupSchema = v.object({
  format: v.literal('paybound-backup'),
  version: v.picklist([1, 2]),
  exportedAt: v.number(),
  payments: v.array(v.unknown()),
});

/** A row of either version, validated, as the record of its method. */
function readRow(
  version: 1 | 2,
  item: unknown,
):
  | { ok: true; row: PaymentRecord }
  | { ok: false; issues: [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]] } {
  if (version === 1) {
    const legacy = v.safeParse(LegacyRow, item);
    return legacy.success
      ? { ok: true, row: fromLegacy(legacy.output as unknown as LegacyPayment) }
      : { ok: false, issues: legacy.issues };
  }
  const row = v.safeParse(MethodRow, item);
  return row.success
    ? { ok: true, row: row.output as unknown as PaymentRecord }
    : { ok: false, issues: row.issues };
}

/** JSON-safe copy: bigints become decimal strings. */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)));
}

export async function exportBackup(db: PayboundDb, now = Date.now()) {
  const [payments, disputes] = await Promise.all([
    db.payments.orderBy('createdAt').toArray(),
    db.disputes.toArray(),
  ]);
  return {
    format: 'paybound-backup' as const,
    version: 2 as const,
    exportedAt: now,
    payments: jsonSafe(payments) as unknown[],
    // Disputes travel with the history for the record; an import does not reopen them.
    disputes: jsonSafe(disputes) as unknown[],
  };
}

export interface ImportSummary {
  added: number;
  alreadyThere: number;
  /** Rows that failed validation or were not settled history, with the first reasons. */
  refused: number;
  reasons: string[];
}

export async function importBackup(db: PayboundDb, raw: unknown): Promise<ImportSummary> {
  const backup = v.safeParse(BackupSchema, raw);
  if (!backup.success)
    throw new Error('this is not a Paybound backup (format paybound-backup, version 1 or 2)');
  const summary: ImportSummary = { added: 0, alreadyThere: 0, refused: 0, reasons: [] };
  const rows: PaymentRecord[] = [];
  for (const [i, item] of backup.output.payments.entries()) {
    const row = readRow(backup.output.version, item);
    if (!row.ok) {
      summary.refused += 1;
      if (summary.reasons.length < 5) {
        const issue = row.issues[0];
        summary.reasons.push(
          `payment ${i + 1}: ${issue ? `${v.getDotPath(issue) ?? ''} ${issue.message}` : 'invalid'}`,
        );
      }
      continue;
    }
    // Imported history counts nowhere: its reservations belonged to another profile, and no
    // review or pending refund runs on it here.
    const { review: _review, ...imported } = row.row;
    const { pendingRefund: _pending, ...settlement } = imported.settlement ?? { refunded: 0n };
    rows.push({
      ...imported,
      ...(imported.settlement ? { settlement } : {}),
      reservations: [],
      reservationState: 'released',
    });
  }
  await db.transaction('rw', db.payments, async () => {
    for (const row of rows) {
      const exists =
        (await db.payments.get(row.id)) ?? (await db.payments.where('key').equals(row.key).first());
      if (exists) summary.alreadyThere += 1;
      else {
        await db.payments.add(row);
        summary.added += 1;
      }
    }
  });
  return summary;
}
