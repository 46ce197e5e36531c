import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { RailError } from '../../../src/background/services/rails/types';
import { Vault } from '../../../src/background/services/vault';
import { PayboundDb, type RailRecord } from '../../../src/db/schema';

let db: PayboundDb;
const ADMIN_KEY = '0123456789abcdef0123456789abcdef';
const NWC = `nostr+walletconnect://${'ab'.repeat(32)}?relay=ws%3A%2F%2F127.0.0.1%3A1&secret=${'cd'.repeat(32)}`;
const rails: RailRecord[] = [
  {
    id: 'l',
    kind: 'lnbits',
    label: 'L',
    network: 'regtest',
    createdAt: 0,
    config: { url: 'http://w.example', adminKey: ADMIN_KEY },
  },
  { id: 'n', kind: 'nwc', label: 'N', network: 'regtest', createdAt: 0, config: { uri: NWC } },
];

function setup() {
  db = new PayboundDb(`v-${Math.random()}`);
  let key: string | undefined;
  const vault = new Vault(db, {
    get: async () => key,
    set: async (k) => {
      key = k;
    },
  });
  return { vault };
}

afterEach(async () => {
  await db.delete();
});

describe('Vault', () => {
  it('seals every wallet secret under the password: the stored rows hold no secret', async () => {
    const { vault } = setup();
    await db.rails.bulkAdd(rails);
    expect(await vault.status()).toBe('none');
    await vault.rekey('correct horse');
    const dump = JSON.stringify(await db.rails.toArray()) + JSON.stringify(await db.settings.toArray());
    expect(dump).not.toContain(ADMIN_KEY);
    expect(dump).not.toContain('cd'.repeat(32));
    expect(await vault.status()).toBe('unlocked');
    const opened = await vault.open((await db.rails.get('l'))!);
    expect(opened.kind === 'lnbits' && opened.config.adminKey).toBe(ADMIN_KEY);
  });

  it('locked: wallets cannot be opened; a wrong password does not unlock; the right one does', async () => {
    const { vault } = setup();
    await db.rails.bulkAdd(rails);
    await vault.rekey('correct horse');
    await vault.lock();
    await expect(vault.open((await db.rails.get('n'))!)).rejects.toThrow(RailError);
    expect(await vault.unlock('wrong')).toBe(false);
    expect(await vault.status()).toBe('locked');
    expect(await vault.unlock('correct horse')).toBe(true);
    const opened = await vault.open((await db.rails.get('n'))!);
    expect(opened.kind === 'nwc' && opened.config.uri).toBe(NWC);
  });

  it('a password change re-seals under the new password, from a locked vault too', async () => {
    const { vault } = setup();
    await db.rails.bulkAdd(rails);
    await vault.rekey('first password');
    await vault.lock();
    await vault.rekey('second password', 'first password');
    await vault.lock();
    expect(await vault.unlock('first password')).toBe(false);
    expect(await vault.unlock('second password')).toBe(true);
    const opened = await vault.open((await db.rails.get('l'))!);
    expect(opened.kind === 'lnbits' && opened.config.adminKey).toBe(ADMIN_KEY);
    // A wallet linked later is sealed too.
    const added = await vault.sealRail({ ...rails[0]!, id: 'l2' });
    expect(JSON.stringify(added)).not.toContain(ADMIN_KEY);
  });
});
