import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { CHALLENGE_LOG_LIMITS, recentChallenges, recordChallenge } from '../../../src/db/queries';
import { PayboundDb } from '../../../src/db/schema';

describe('the request log', () => {
  it('keeps at most its row limit, newest kept, with URLs and reasons cut short', async () => {
    const db = new PayboundDb(`q-${Math.random()}`);
    const n = CHALLENGE_LOG_LIMITS.rows + 50;
    for (let i = 0; i < n; i++) {
      await recordChallenge(db, {
        origin: 'https://evil.example',
        url: `https://evil.example/${i}/${'x'.repeat(8000)}`,
        method: 'POST',
        protocols: [],
        seenAt: i,
        error: 'e'.repeat(5000),
      });
    }
    expect(await db.challenges.count()).toBe(CHALLENGE_LOG_LIMITS.rows);
    const [newest] = await recentChallenges(db, 1);
    expect(newest?.url.startsWith(`https://evil.example/${n - 1}/`)).toBe(true);
    expect(newest?.url.length).toBe(CHALLENGE_LOG_LIMITS.url);
    expect(newest?.error?.length).toBe(CHALLENGE_LOG_LIMITS.error);
    await db.delete();
  });
});
