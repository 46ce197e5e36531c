/**
 * The password that strong approvals need: PBKDF2-SHA256 (600 000 iterations, 16-byte salt) through
 * WebCrypto, compared in constant time. Five wrong answers lock strong approvals for five minutes;
 * the count lives in the database, so a restarted worker does not forget it.
 */
import { base64 } from '@scure/base';
import { getSetting, setSetting } from '../../db/queries';
import type { PayboundDb } from '../../db/schema';

const ITERATIONS = 600_000;
const MAX_FAILURES = 5;
const LOCK_MS = 5 * 60 * 1000;

interface StoredPassword {
  salt: string;
  hash: string;
  iterations: number;
}

interface Failures {
  count: number;
  lockedUntil: number;
}

export class AuthError extends Error {}

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export class AuthService {
  constructor(
    private readonly db: PayboundDb,
    private readonly now: () => number = Date.now,
  ) {}

  async status(): Promise<{ hasPassword: boolean; lockedUntil?: number }> {
    const [stored, failures] = await Promise.all([
      getSetting<StoredPassword | null>(this.db, 'password', null),
      getSetting<Failures | null>(this.db, 'authFailures', null),
    ]);
    const locked = failures && failures.lockedUntil > this.now() ? { lockedUntil: failures.lockedUntil } : {};
    return { hasPassword: stored !== null, ...locked };
  }

  async setPassword(password: string, current?: string): Promise<void> {
    if (password.length < 8) throw new AuthError('a password needs at least 8 characters');
    if ((await this.status()).hasPassword) await this.verify(current ?? '');
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const hash = await derive(password, salt, ITERATIONS);
    await setSetting(this.db, 'password', {
      salt: base64.encode(salt),
      hash: base64.encode(hash),
      iterations: ITERATIONS,
    });
  }

  /** Resolves when the password is right; throws AuthError (wrong, locked, none set) otherwise. */
  async verify(password: string): Promise<void> {
    const stored = await getSetting<StoredPassword | null>(this.db, 'password', null);
    if (!stored) throw new AuthError('set a password on the settings page to approve large charges');
    const failures = (await getSetting<Failures | null>(this.db, 'authFailures', null)) ?? {
      count: 0,
      lockedUntil: 0,
    };
    if (failures.lockedUntil > this.now()) {
      throw new AuthError(
        `too many wrong passwords: locked until ${new Date(failures.lockedUntil).toLocaleTimeString()}`,
      );
    }
    const hash = await derive(password, new Uint8Array(base64.decode(stored.salt)), stored.iterations);
    if (sameBytes(hash, base64.decode(stored.hash))) {
      await setSetting(this.db, 'authFailures', { count: 0, lockedUntil: 0 });
      return;
    }
    const count = failures.lockedUntil > 0 ? 1 : failures.count + 1; // a lock that ran out starts a new count
    const lockedUntil = count >= MAX_FAILURES ? this.now() + LOCK_MS : 0;
    await setSetting(this.db, 'authFailures', { count: lockedUntil ? 0 : count, lockedUntil });
    throw new AuthError(
      lockedUntil ? 'wrong password: strong approvals are locked for 5 minutes' : 'wrong password',
    );
  }
}
