import 'fake-indexeddb/auto';
import { Secret, TOTP } from 'otpauth';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, AuthService } from '../../../src/background/services/auth';
import { PayboundDb } from '../../../src/db/schema';

let db: PayboundDb;
let now = Date.parse('2026-11-25T12:00:00Z');
const make = () => {
  db = new PayboundDb(`a-${Math.random()}`);
  return new AuthService(db, () => now);
};
const codeAt = (secret: string, t: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: t,
  });

afterEach(async () => {
  await db.delete();
});

describe('AuthService', () => {
  it('refuses strong approvals until a password or 2FA is set, and short passwords', async () => {
    const auth = make();
    await expect(auth.verify('anything')).rejects.toThrow(/set a password or 2FA/);
    await expect(auth.setPassword('short')).rejects.toThrow(AuthError);
  });

  it('checks the password, locks after five wrong answers, and unlocks after five minutes', async () => {
    const auth = make();
    await auth.setPassword('correct horse');
    await auth.verify('correct horse');
    for (let i = 0; i < 4; i++) await expect(auth.verify('nope')).rejects.toThrow('wrong password or code');
    await expect(auth.verify('nope')).rejects.toThrow(/locked for 5 minutes/);
    await expect(auth.verify('correct horse')).rejects.toThrow(/locked until/);
    expect((await auth.status()).lockedUntil).toBe(now + 5 * 60 * 1000);
    now += 5 * 60 * 1000 + 1;
    await auth.verify('correct horse');
    expect((await auth.status()).lockedUntil).toBeUndefined();
  });

  it('changing the password needs the current one', async () => {
    const auth = make();
    await auth.setPassword('first password');
    await expect(auth.setPassword('second password', 'wrong')).rejects.toThrow(/wrong/);
    await auth.setPassword('second password', 'first password');
    await auth.verify('second password');
  });

  it('accepts a TOTP code once 2FA is confirmed, each code only once', async () => {
    const auth = make();
    const { secret, uri } = await auth.totpSetup();
    expect(uri).toMatch(/^otpauth:\/\/totp\/Paybound/);
    await expect(auth.verify(codeAt(secret, now))).rejects.toThrow(/set a password or 2FA/);
    await expect(auth.totpConfirm('000000')).rejects.toThrow(/does not match/);
    await auth.totpConfirm(codeAt(secret, now));
    expect((await auth.status()).hasTotp).toBe(true);
    // The confirming code was used up: the next time step's code works, once.
    now += 30_000;
    await auth.verify(codeAt(secret, now));
    await expect(auth.verify(codeAt(secret, now))).rejects.toThrow('wrong password or code');
  });
});

describe('AuthService.authorizeApproval', () => {
  it('passes auto and confirm quotes; strong ones need the answer; an overage also "exceed"', async () => {
    const auth = make();
    await auth.authorizeApproval('confirm', {});
    await expect(auth.authorizeApproval('strong', {})).rejects.toThrow(/set a password or 2FA/);
    await auth.setPassword('correct horse');
    await expect(auth.authorizeApproval('strong', { password: 'nope' })).rejects.toThrow(AuthError);
    await auth.authorizeApproval('strong', { password: 'correct horse' });
    await expect(auth.authorizeApproval('overage', { password: 'correct horse' })).rejects.toThrow(/exceed/);
    await auth.authorizeApproval('overage', { password: 'correct horse', exceed: true });
  });
});
