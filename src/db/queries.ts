import type { ChallengeRecord, PayboundDb, RailRecord } from './schema';

export async function recordChallenge(db: PayboundDb, record: Omit<ChallengeRecord, 'id'>): Promise<number> {
  return db.challenges.add(record);
}

export async function recentChallenges(db: PayboundDb, limit: number): Promise<ChallengeRecord[]> {
  return db.challenges.orderBy('seenAt').reverse().limit(limit).toArray();
}

export async function listRails(db: PayboundDb): Promise<RailRecord[]> {
  return db.rails.toArray();
}

export async function getSetting<T>(db: PayboundDb, key: string, fallback: T): Promise<T> {
  const row = await db.settings.get(key);
  return row === undefined ? fallback : (row.value as T);
}

export async function setSetting(db: PayboundDb, key: string, value: unknown): Promise<void> {
  await db.settings.put({ key, value });
}
