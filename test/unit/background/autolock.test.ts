import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AutoLock } from '../../../src/background/services/autolock';
import { PayboundDb } from '../../../src/db/schema';
import { setSetting } from '../../../src/db/settings';

let db: PayboundDb;
afterEach(async () => {
  await db.delete();
});

function setup(status: 'none' | 'locked' | 'unlocked') {
  db = new PayboundDb(`l-${Math.random()}`);
  const restartTimer = vi.fn(async (_minutes: number) => {});
  return { restartTimer, lock: new AutoLock({ db, vault: { status: async () => status }, restartTimer }) };
}

describe('AutoLock', () => {
  it("restarts the timer, at the user's minutes, after a user action that succeeded", async () => {
    const { restartTimer, lock } = setup('unlocked');
    await lock.answered('settings.set', true);
    expect(restartTimer).toHaveBeenLastCalledWith(30);
    await setSetting(db, 'autoLockMinutes', 5);
    await lock.answered('approval.decide', true);
    expect(restartTimer).toHaveBeenLastCalledWith(5);
    expect(restartTimer).toHaveBeenCalledTimes(2);
  });

  it('reads, failures, pages and a locked vault do not keep it open', async () => {
    const { restartTimer, lock } = setup('unlocked');
    await lock.answered('status.get', true);
    await lock.answered('settings.set', false);
    await lock.answered(undefined, true);
    expect(restartTimer).not.toHaveBeenCalled();
    const locked = setup('locked');
    await locked.lock.answered('settings.set', true);
    expect(locked.restartTimer).not.toHaveBeenCalled();
  });
});
