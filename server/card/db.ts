// The card service's tables, on the shared SQL layer (../lib/sql.ts): PGlite in this process by
// default (a data directory, or memory), or PostgreSQL when a URL is given. Every write is its own
// committed statement or transaction, so an answered request is in the database, and a write
// costs the same however many payments are stored.
import {
  type Database,
  DatabaseError,
  type Migration,
  migrate,
  openDatabase,
  type Queries,
  type Row,
} from '../lib/sql';

export type { Row };

/** The database cannot be used as it is; the service refuses to start rather than start empty. */
export const CardDbError = DatabaseError;

/** Each step takes the tables from `version - 1` to `version`; never edit one once shipped. */
export const CARD_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE card_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE merchants (
  account_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  api_key_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  payer_refund_seconds BIGINT NOT NULL DEFAULT 0  -- refund policy: the payer may refund alone this long
);
CREATE TABLE links (
  id TEXT PRIMARY KEY,
  state_hash TEXT NOT NULL UNIQUE,
  browser_hash TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  session_id TEXT UNIQUE,
  status TEXT NOT NULL,              -- open | completed | canceled
  payment_method_id TEXT,
  card_brand TEXT,
  card_last4 TEXT,
  card_exp_month INTEGER,
  card_exp_year INTEGER,
  browser_confirmed_at BIGINT,
  completed_at BIGINT,
  claimed_at BIGINT,
  device_id TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  customer_id TEXT NOT NULL,
  payment_method_id TEXT NOT NULL,
  card_brand TEXT NOT NULL,
  card_last4 TEXT NOT NULL,
  card_exp_month INTEGER NOT NULL,
  card_exp_year INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  limit_per_charge BIGINT,           -- limits the device set for itself (minor units); NULL: none
  limit_per_day BIGINT,
  limits_raise TEXT                  -- JSON {perCharge, perDay, from}: a raise that applies later
);
CREATE TABLE payments (
  payment_intent_id TEXT PRIMARY KEY,
  seq BIGINT GENERATED ALWAYS AS IDENTITY,  -- insertion order, for listing
  challenge_id TEXT NOT NULL UNIQUE,
  device_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  currency TEXT NOT NULL,
  amount_authorized BIGINT NOT NULL,
  amount_captured BIGINT NOT NULL DEFAULT 0,
  amount_refunded BIGINT NOT NULL DEFAULT 0,
  amount_reported BIGINT,            -- the app's actual amount, not captured yet (review windows)
  over_reported BIGINT,              -- an app's refused report above the authorized amount
  payer_window BIGINT,               -- review window (s) the payer authorized under; 0 none; NULL unsaid
  app_window BIGINT,                 -- review window (s) the app accepted the receipt with; 0 none
  accepted_at BIGINT,                -- when the app accepted the receipt (the window starts)
  payer_settling_at BIGINT,          -- a payer capture or cancel on its way to Stripe (any instance)
  description TEXT NOT NULL,
  status TEXT NOT NULL,              -- requires_capture | succeeded | canceled | declined
  decline_code TEXT,
  error_code TEXT,
  error_message TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX payments_by_device ON payments (device_id, created_at);
CREATE TABLE disputes (
  id TEXT PRIMARY KEY,
  payment_intent_id TEXT,
  charge_id TEXT NOT NULL,
  amount BIGINT NOT NULL,
  currency TEXT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX disputes_by_payment ON disputes (payment_intent_id);
CREATE TABLE webhook_events (id TEXT PRIMARY KEY, type TEXT NOT NULL, received_at BIGINT NOT NULL);
CREATE TABLE idempotent_requests (
  scope TEXT NOT NULL,               -- what the key is for, e.g. 'refund <payment intent> <by>'
  key TEXT NOT NULL,                 -- the client's Idempotency-Key
  request TEXT NOT NULL,             -- its parameters: the same key with others is refused
  status INTEGER NOT NULL,
  response TEXT NOT NULL,            -- the answer given, given again
  created_at BIGINT NOT NULL,
  PRIMARY KEY (scope, key)
);
`,
  },
  {
    // Plans: a Stripe subscription per subscribe challenge, and the overage an app reported on it.
    version: 2,
    sql: `
CREATE TABLE subscriptions (
  id TEXT PRIMARY KEY,               -- Stripe sub_…
  seq BIGINT GENERATED ALWAYS AS IDENTITY,
  challenge_id TEXT NOT NULL UNIQUE,
  device_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  test_clock TEXT,                   -- the customer's Stripe test clock (test mode), else NULL
  plan_id TEXT NOT NULL,
  plan_name TEXT NOT NULL,
  currency TEXT NOT NULL,
  amount BIGINT NOT NULL,            -- per period, minor units
  period_unit TEXT NOT NULL,         -- day | week | month | year
  period_count INTEGER NOT NULL,
  overage_unit_amount BIGINT,        -- per call beyond the plan; NULL: no overage
  overage_cap_amount BIGINT,         -- the most overage may cost in one period
  product_id TEXT NOT NULL,
  price_id TEXT NOT NULL,
  meter_id TEXT,
  meter_event_name TEXT,
  metered_price_id TEXT,
  status TEXT NOT NULL,              -- Stripe's: active | past_due | canceled | incomplete | …
  current_period_start BIGINT NOT NULL,
  current_period_end BIGINT NOT NULL,
  cancel_at_period_end INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX subscriptions_by_device ON subscriptions (device_id, created_at);
CREATE TABLE subscription_usage (
  subscription_id TEXT NOT NULL,
  identifier TEXT NOT NULL,          -- the app's, unique per subscription
  quantity BIGINT NOT NULL,          -- calls beyond the plan
  period_start BIGINT NOT NULL,      -- the period it counts in
  reported_at BIGINT NOT NULL,       -- the meter event's timestamp
  PRIMARY KEY (subscription_id, identifier)
);
CREATE INDEX subscription_usage_by_period ON subscription_usage (subscription_id, period_start);
`,
  },
];

export interface CardDbOptions {
  /** postgres://… : a PostgreSQL server (several instances may share it). */
  databaseUrl?: string;
  /** The embedded engine's data directory (one process); neither: in memory. */
  dataDir?: string;
  /** Migrations to bring the tables to; default CARD_MIGRATIONS (tests give others). */
  migrations?: readonly Migration[];
}

export class CardDb {
  private constructor(readonly sql: Database) {}

  /**
   * Opens the database and brings its tables up to date (once, however many instances start at
   * the same moment). A directory that is not a database, one in use by another process, and a
   * schema newer than this code are refused (CardDbError).
   */
  static async open(opts: CardDbOptions = {}): Promise<CardDb> {
    const sql = await openDatabase({ url: opts.databaseUrl, dataDir: opts.dataDir });
    try {
      await migrate(sql, 'card', opts.migrations ?? CARD_MIGRATIONS, 'card service');
    } catch (err) {
      await sql.close();
      throw err;
    }
    return new CardDb(sql);
  }

  get engine(): Database['engine'] {
    return this.sql.engine;
  }

  all(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return this.sql.all(sql, params);
  }

  get(sql: string, params: readonly unknown[] = []): Promise<Row | undefined> {
    return this.sql.get(sql, params);
  }

  /** Runs one statement (committed on its own); how many rows it changed. */
  run(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.sql.run(sql, params);
  }

  transaction<T>(fn: (tx: Queries) => Promise<T>): Promise<T> {
    return this.sql.transaction(fn);
  }

  /** Runs `work` while no other request of any instance holds `key` (a payment, a link). */
  exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.sql.exclusive(key, work);
  }

  async meta(key: string): Promise<string | undefined> {
    const value = (await this.get('SELECT value FROM card_meta WHERE key = ?', [key]))?.value;
    return typeof value === 'string' ? value : undefined;
  }

  /** The value stored for `key`, or `value` stored now when there is none (the first instance wins). */
  async metaOrInit(key: string, value: string): Promise<string> {
    await this.run('INSERT INTO card_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [
      key,
      value,
    ]);
    return (await this.meta(key)) ?? value;
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}
