import type { ChallengeRecord, PayboundDb, PaymentRecord, RailRecord } from './schema';

/**
 * The request log is bounded: at most this many rows, each with its URL and reason cut to a few
 * KB, so a page that floods it cannot fill the browser's storage quota and starve the ledger.
 */
export const CHALLENGE_LOG_LIMITS = { rows: 500, url: 2048, error: 500 } as const;

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export async function recordChallenge(db: PayboundDb, record: Omit<ChallengeRecord, 'id'>): Promise<number> {
  const row: Omit<ChallengeRecord, 'id'> = {
    ...record,
    url: cut(record.url, CHALLENGE_LOG_LIMITS.url),
    protocols: record.protocols.slice(0, 8),
    ...(record.error !== undefined ? { error: cut(record.error, CHALLENGE_LOG_LIMITS.error) } : {}),
  };
  return db.transaction('rw', db.challenges, async () => {
    const id = await db.challenges.add(row);
    // Ids grow with time: everything more than `rows` behind the newest goes.
    await db.challenges
      .where('id')
      .belowOrEqual(id - CHALLENGE_LOG_LIMITS.rows)
      .delete();
    return id;
  });
}

export async function recentChallenges(db: PayboundDb, limit: number): Promise<ChallengeRecord[]> {
  return db.challenges.orderBy('seenAt').reverse().limit(limit).toArray();
}

/** The ledger, newest first. */
export async function recentPayments(db: PayboundDb, limit: number): Promise<PaymentRecord[]> {
  return db.payments.orderBy('createdAt').reverse().limit(limit).toArray();
}

export async function listRails(db: PayboundDb): Promise<RailRecord[]> {
  return db.rails.toArray();
}
