/**
 * Receives the 402s the page saw. It re-parses the raw headers itself (the page's own reading of
 * them counts for nothing) and records what it found with the origin the browser reported.
 */
import { detectChallenges } from '../../core/challenge/detect';
import { ChallengeSyntaxError } from '../../core/challenge/www-authenticate';
import { recentChallenges, recordChallenge } from '../../db/queries';
import type { PayboundDb } from '../../db/schema';
import type { ChallengeRecordView, ChallengeVerdict, MessageInput } from '../../messages/map';
import type { SenderContext } from '../sender';

export class ChallengeService {
  constructor(
    private readonly db: PayboundDb,
    private readonly now: () => number = Date.now,
  ) {}

  async seen(input: MessageInput<'challenge.seen'>, sender: SenderContext): Promise<ChallengeVerdict> {
    let protocols: string[] = [];
    let error: string | undefined;
    try {
      protocols = detectChallenges(input.headers).map((c) => c.protocol);
      if (protocols.length === 0) error = 'no payment challenge Paybound knows';
    } catch (e) {
      if (!(e instanceof ChallengeSyntaxError)) throw e;
      error = `malformed WWW-Authenticate header: ${e.message}`;
    }
    await recordChallenge(this.db, {
      origin: sender.origin,
      url: input.url,
      method: input.method.toUpperCase(),
      protocols,
      seenAt: this.now(),
      ...(error ? { error } : {}),
    });
    // Paying comes with the payment flow; until then the page gets its 402 back untouched.
    return { action: 'pass', reason: error ?? 'payments are not enabled yet' };
  }

  async recent(limit: number): Promise<ChallengeRecordView[]> {
    const rows = await recentChallenges(this.db, limit);
    return rows.map((r) => ({ ...r, id: r.id ?? 0 }));
  }
}
