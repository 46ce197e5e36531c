// Where a plan desk keeps its subscriptions: in memory (gone with the process) or in SQL
// (../../lib/sql.ts: PGlite in the app's process, or the app's PostgreSQL; its own tables and
// schema version). Counting a call is one conditional update, so two instances serving the same
// subscriber never count past what the plan includes.
import { type Database, type Migration, migrate, type Row } from '../../lib/sql';
import type { PlanRail } from './plans';

export type SubscriptionStatus = 'active' | 'canceled' | 'past_due';

export interface SubscriptionRecord {
  /** The desk's own id (never shown to the wallet as a credential). */
  id: string;
  /** sha256 hex of the subscriber credential: the credential itself is not kept. */
  credentialHash: string;
  plan: string;
  rail: PlanRail;
  /** Card plans: the card service's subscription id. */
  cardSubscription?: string;
  /** Card plans: as the card service last said. Lightning plans: `active` (the period says the rest). */
  status: SubscriptionStatus;
  /** Unix s. */
  periodStart: number;
  periodEnd: number;
  cancelAtPeriodEnd: boolean;
  /** Included calls used this period. */
  used: number;
  overageCalls: number;
  /** This period's overage, in the plan's unit (sat, or card minor units). */
  overageAmount: bigint;
  /** Unix s. */
  createdAt: number;
}

export interface PeriodUpdate {
  periodStart: number;
  periodEnd: number;
  status: SubscriptionStatus;
  cancelAtPeriodEnd: boolean;
}

export interface SubscriptionStore {
  /** False (nothing changes) when the id, the credential or the card subscription is already there. */
  add(record: SubscriptionRecord): Promise<boolean>;
  get(id: string): Promise<SubscriptionRecord | undefined>;
  byCredential(credentialHash: string): Promise<SubscriptionRecord | undefined>;
  /** Counts one included call if the period still starts at `periodStart` and fewer than `included` were used. */
  drawIncluded(id: string, periodStart: number, included: number): Promise<SubscriptionRecord | undefined>;
  /** Gives back an included call the app could not serve. */
  giveBack(id: string, periodStart: number): Promise<void>;
  /** Counts one overage call of `amount` in the current period. */
  addOverage(id: string, amount: bigint): Promise<SubscriptionRecord | undefined>;
  /**
   * Sets the period and status; a new `periodStart` starts the counters from zero. Only if the
   * period still starts at `fromPeriodStart` (two renewals never both move it).
   */
  setPeriod(
    id: string,
    fromPeriodStart: number,
    update: PeriodUpdate,
  ): Promise<SubscriptionRecord | undefined>;
  setCancelAtPeriodEnd(id: string): Promise<SubscriptionRecord | undefined>;
  /** True the first time `key` (a challenge id) is consumed; remembered until `untilSeconds`. */
  consume(key: string, untilSeconds: number): Promise<boolean>;
  /** Remembers which subscription an overage invoice (by payment hash) was made for. */
  issueOverage(paymentHash: string, subscription: string, untilSeconds: number): Promise<void>;
  /** The subscription an overage invoice was made for, the first time only; undefined after. */
  takeOverage(paymentHash: string): Promise<string | undefined>;
  /** The subscription an overage invoice was made for, taken or not. */
  overageOwner(paymentHash: string): Promise<string | undefined>;
}

export function memorySubscriptionStore(now: () => number = Date.now): SubscriptionStore {
  const records = new Map<string, SubscriptionRecord>();
  const used = new Map<string, number>();
  const overage = new Map<string, { subscription: string; until: number; taken: boolean }>();
  const copy = (r: SubscriptionRecord | undefined) => (r ? structuredClone(r) : undefined);
  const prune = () => {
    const t = Math.floor(now() / 1000);
    if (used.size > 1000) for (const [k, until] of used) if (until < t) used.delete(k);
    if (overage.size > 1000) for (const [k, o] of overage) if (o.until < t) overage.delete(k);
  };
  return {
    async add(record) {
      for (const r of records.values()) {
        if (r.credentialHash === record.credentialHash) return false;
        if (record.cardSubscription && r.cardSubscription === record.cardSubscription) return false;
      }
      if (records.has(record.id)) return false;
      records.set(record.id, structuredClone(record));
      return true;
    },
    async get(id) {
      return copy(records.get(id));
    },
    async byCredential(hash) {
      for (const r of records.values()) if (r.credentialHash === hash) return copy(r);
      return undefined;
    },
    async drawIncluded(id, periodStart, included) {
      const r = records.get(id);
      if (!r || r.periodStart !== periodStart || r.used >= included) return undefined;
      r.used += 1;
      return copy(r);
    },
    async giveBack(id, periodStart) {
      const r = records.get(id);
      if (r && r.periodStart === periodStart && r.used > 0) r.used -= 1;
    },
    async addOverage(id, amount) {
      const r = records.get(id);
      if (!r) return undefined;
      r.overageCalls += 1;
      r.overageAmount += amount;
      return copy(r);
    },
    async setPeriod(id, from, update) {
      const r = records.get(id);
      if (!r || r.periodStart !== from) return undefined;
      if (update.periodStart !== r.periodStart) {
        r.used = 0;
        r.overageCalls = 0;
        r.overageAmount = 0n;
      }
      Object.assign(r, update);
      return copy(r);
    },
    async setCancelAtPeriodEnd(id) {
      const r = records.get(id);
      if (!r) return undefined;
      r.cancelAtPeriodEnd = true;
      return copy(r);
    },
    async consume(key, until) {
      prune();
      if (used.has(key)) return false;
      used.set(key, until);
      return true;
    },
    async issueOverage(hash, subscription, until) {
      prune();
      if (!overage.has(hash)) overage.set(hash, { subscription, until, taken: false });
    },
    async takeOverage(hash) {
      const o = overage.get(hash);
      if (!o || o.taken) return undefined;
      o.taken = true;
      return o.subscription;
    },
    async overageOwner(hash) {
      return overage.get(hash)?.subscription;
    },
  };
}

export const PLAN_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE plan_subscriptions (
  id TEXT PRIMARY KEY,
  credential_hash TEXT NOT NULL UNIQUE,
  plan TEXT NOT NULL,
  rail TEXT NOT NULL,
  card_subscription TEXT UNIQUE,
  status TEXT NOT NULL,
  period_start BIGINT NOT NULL,
  period_end BIGINT NOT NULL,
  cancel_at_period_end BOOLEAN NOT NULL,
  used INTEGER NOT NULL,
  overage_calls INTEGER NOT NULL,
  overage_amount BIGINT NOT NULL,  -- sat or minor units: far below 2^53
  created_at BIGINT NOT NULL
);
CREATE TABLE plan_used_challenges (
  key TEXT PRIMARY KEY,
  until_s BIGINT NOT NULL
);
CREATE INDEX plan_used_challenges_until ON plan_used_challenges (until_s);
CREATE TABLE plan_overage_charges (
  payment_hash TEXT PRIMARY KEY,
  subscription TEXT NOT NULL,
  until_s BIGINT NOT NULL,
  taken BOOLEAN NOT NULL
);
CREATE INDEX plan_overage_charges_until ON plan_overage_charges (until_s);
`,
  },
];

function fromRow(row: Row): SubscriptionRecord {
  const record: SubscriptionRecord = {
    id: String(row.id),
    credentialHash: String(row.credential_hash),
    plan: String(row.plan),
    rail: row.rail === 'card' ? 'card' : 'lightning',
    status: String(row.status) as SubscriptionStatus,
    periodStart: Number(row.period_start),
    periodEnd: Number(row.period_end),
    cancelAtPeriodEnd: row.cancel_at_period_end === true,
    used: Number(row.used),
    overageCalls: Number(row.overage_calls),
    overageAmount: BigInt(row.overage_amount as number),
    createdAt: Number(row.created_at),
  };
  if (typeof row.card_subscription === 'string') record.cardSubscription = row.card_subscription;
  return record;
}

/** A SubscriptionStore on `db`, its tables migrated. */
export async function sqlSubscriptionStore(
  db: Database,
  now: () => number = Date.now,
): Promise<SubscriptionStore> {
  await migrate(db, 'plan-desk', PLAN_MIGRATIONS, 'plan desk');
  const one = async (sql: string, params: readonly unknown[]) => {
    const row = await db.get(sql, params);
    return row ? fromRow(row) : undefined;
  };
  const seconds = () => Math.floor(now() / 1000);
  return {
    async add(r) {
      const added = await db.run(
        `INSERT INTO plan_subscriptions (id, credential_hash, plan, rail, card_subscription, status,
           period_start, period_end, cancel_at_period_end, used, overage_calls, overage_amount, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [
          r.id,
          r.credentialHash,
          r.plan,
          r.rail,
          r.cardSubscription ?? null,
          r.status,
          r.periodStart,
          r.periodEnd,
          r.cancelAtPeriodEnd,
          r.used,
          r.overageCalls,
          r.overageAmount.toString(),
          r.createdAt,
        ],
      );
      return added === 1;
    },
    get: (id) => one('SELECT * FROM plan_subscriptions WHERE id = ?', [id]),
    byCredential: (hash) => one('SELECT * FROM plan_subscriptions WHERE credential_hash = ?', [hash]),
    drawIncluded: (id, periodStart, included) =>
      one(
        `UPDATE plan_subscriptions SET used = used + 1
         WHERE id = ? AND period_start = ? AND used < ? RETURNING *`,
        [id, periodStart, included],
      ),
    async giveBack(id, periodStart) {
      await db.run(
        'UPDATE plan_subscriptions SET used = used - 1 WHERE id = ? AND period_start = ? AND used > 0',
        [id, periodStart],
      );
    },
    addOverage: (id, amount) =>
      one(
        `UPDATE plan_subscriptions SET overage_calls = overage_calls + 1, overage_amount = overage_amount + ?
         WHERE id = ? RETURNING *`,
        [amount.toString(), id],
      ),
    setPeriod: (id, from, u) =>
      one(
        `UPDATE plan_subscriptions SET
           used = CASE WHEN period_start = ? THEN used ELSE 0 END,
           overage_calls = CASE WHEN period_start = ? THEN overage_calls ELSE 0 END,
           overage_amount = CASE WHEN period_start = ? THEN overage_amount ELSE 0 END,
           period_start = ?, period_end = ?, status = ?, cancel_at_period_end = ?
         WHERE id = ? AND period_start = ? RETURNING *`,
        [
          u.periodStart,
          u.periodStart,
          u.periodStart,
          u.periodStart,
          u.periodEnd,
          u.status,
          u.cancelAtPeriodEnd,
          id,
          from,
        ],
      ),
    setCancelAtPeriodEnd: (id) =>
      one('UPDATE plan_subscriptions SET cancel_at_period_end = TRUE WHERE id = ? RETURNING *', [id]),
    async consume(key, until) {
      await db.run('DELETE FROM plan_used_challenges WHERE until_s < ?', [seconds()]);
      const added = await db.run(
        'INSERT INTO plan_used_challenges (key, until_s) VALUES (?, ?) ON CONFLICT DO NOTHING',
        [key, until],
      );
      return added === 1;
    },
    async issueOverage(hash, subscription, until) {
      await db.run('DELETE FROM plan_overage_charges WHERE until_s < ?', [seconds()]);
      await db.run(
        `INSERT INTO plan_overage_charges (payment_hash, subscription, until_s, taken) VALUES (?, ?, ?, FALSE)
         ON CONFLICT DO NOTHING`,
        [hash, subscription, until],
      );
    },
    async takeOverage(hash) {
      const row = await db.get(
        'UPDATE plan_overage_charges SET taken = TRUE WHERE payment_hash = ? AND NOT taken RETURNING subscription',
        [hash],
      );
      return row ? String(row.subscription) : undefined;
    },
    async overageOwner(hash) {
      const row = await db.get('SELECT subscription FROM plan_overage_charges WHERE payment_hash = ?', [
        hash,
      ]);
      return row ? String(row.subscription) : undefined;
    },
  };
}
