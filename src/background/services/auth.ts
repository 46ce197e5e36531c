/**
 * What strong approvals need: a password or a TOTP code (RFC 6238, 30 s, 6 digits, one step of
 * clock drift either way, each code usable once). The password: PBKDF2-SHA256 (600 000 iterations, 16-byte salt) through
 * WebCrypto, compared in constant time. Five wrong answers lock strong approvals for five minutes;
 * the count lives in the database, so a restarted worker does not forget it.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { base64 } from '@scure/base';
// The bare build carries no hash functions of its own: HMAC-SHA1 comes from the @noble/hashes the
// worker already ships, instead of a second bundled copy with SHA-2 and SHA-3 it never uses.
import { Secret, TOTP } from 'otpauth/bare';
import { type Said, SaidError, said } from '../../core/text/said';
import type { PayboundDb, Tier } from '../../db/schema';
import { getSetting, setSetting } from '../../db/settings';

const ITERATIONS = 600_000;
const MAX_FAILURES = 5;
const LOCK_MS = 5 * 60 * 1000;

function hmacSha1(algorithm: string, key: Uint8Array, message: Uint8Array): Uint8Array {
  if (algorithm !== 'SHA1') throw new Error(`TOTP algorithm ${algorithm} is not offered`);
  return hmac(sha1, key, message);
}

function totpFor(secretBase32: string): TOTP {
  return new TOTP({
    hmac: hmacSha1,
    issuer: 'Paybound',
    label: 'strong approvals',
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** A wrong, missing or locked answer; what it says is a Said for the pages. */
export class AuthError extends SaidError {
  constructor(reason: Said) {
    super(reason, 'auth');
  }
}

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

  async status(): Promise<{ hasPassword: boolean; hasTotp: boolean; lockedUntil?: number }> {
    const [stored, totp, failures] = await Promise.all([
      getSetting(this.db, 'password'),
      getSetting(this.db, 'totp'),
      getSetting(this.db, 'authFailures'),
    ]);
    const locked = failures.lockedUntil > this.now() ? { lockedUntil: failures.lockedUntil } : {};
    return { hasPassword: stored !== null, hasTotp: totp !== null, ...locked };
  }

  /** Starts 2FA setup: a new secret, active only once a code from it is confirmed. */
  async totpSetup(): Promise<{ uri: string; secret: string }> {
    const totp = totpFor(new Secret({ size: 20 }).base32);
    await setSetting(this.db, 'totpPending', { secret: totp.secret.base32 });
    return { uri: totp.toString(), secret: totp.secret.base32 };
  }

  async totpConfirm(code: string): Promise<void> {
    const pending = await getSetting(this.db, 'totpPending');
    if (!pending) throw new AuthError(said('errorTotpNotStarted'));
    const delta = totpFor(pending.secret).validate({ token: code, timestamp: this.now(), window: 1 });
    if (delta === null) throw new AuthError(said('errorTotpMismatch'));
    await setSetting(this.db, 'totp', {
      secret: pending.secret,
      lastCounter: TOTP.counter({ timestamp: this.now() }) + delta,
    });
    await setSetting(this.db, 'totpPending', null);
  }

  /** A 6-digit answer is tried as a TOTP code first (when 2FA is on), then as the password. */
  private async checkTotp(answer: string): Promise<boolean> {
    if (!/^\d{6}$/.test(answer)) return false;
    const totp = await getSetting(this.db, 'totp');
    if (!totp) return false;
    const delta = totpFor(totp.secret).validate({ token: answer, timestamp: this.now(), window: 1 });
    if (delta === null) return false;
    const counter = TOTP.counter({ timestamp: this.now() }) + delta;
    if (counter <= (totp.lastCounter ?? -1)) return false; // a code is good once
    await setSetting(this.db, 'totp', { ...totp, lastCounter: counter });
    return true;
  }

  async setPassword(password: string, current?: string): Promise<void> {
    if (password.length < 8) throw new AuthError(said('errorPasswordShort'));
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
  async verify(answer: string): Promise<void> {
    const { hasPassword, hasTotp } = await this.status();
    if (!hasPassword && !hasTotp) {
      throw new AuthError(said('errorNeedsSecret'));
    }
    const failures = await getSetting(this.db, 'authFailures');
    if (failures.lockedUntil > this.now()) {
      throw new AuthError(said('errorLockedUntil', new Date(failures.lockedUntil).toLocaleTimeString()));
    }
    if ((await this.checkTotp(answer)) || (await this.checkPassword(answer))) {
      await setSetting(this.db, 'authFailures', { count: 0, lockedUntil: 0 });
      return;
    }
    const count = failures.lockedUntil > 0 ? 1 : failures.count + 1; // a lock that ran out starts a new count
    const lockedUntil = count >= MAX_FAILURES ? this.now() + LOCK_MS : 0;
    await setSetting(this.db, 'authFailures', { count: lockedUntil ? 0 : count, lockedUntil });
    throw new AuthError(said(lockedUntil ? 'errorLockedOut' : 'errorWrongAnswer'));
  }

  /**
   * An approval of a quote in `tier`: strong and overage quotes need the password or a code, an
   * overage also the separate "exceed my budget" confirmation. Throws AuthError when refused.
   */
  async authorizeApproval(tier: Tier, answer: { password?: string; exceed?: boolean }): Promise<void> {
    if (tier !== 'strong' && tier !== 'overage') return;
    if (tier === 'overage' && answer.exceed !== true) throw new AuthError(said('errorConfirmExceed'));
    await this.verify(answer.password ?? '');
  }

  private async checkPassword(answer: string): Promise<boolean> {
    const stored = await getSetting(this.db, 'password');
    if (!stored) return false;
    const hash = await derive(answer, new Uint8Array(base64.decode(stored.salt)), stored.iterations);
    return sameBytes(hash, base64.decode(stored.hash));
  }
}
