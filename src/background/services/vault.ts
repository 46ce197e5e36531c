/**
 * Wallet secrets at rest (LNbits admin keys, NWC connection strings): sealed with AES-GCM under a
 * key derived from the user's password (PBKDF2-SHA256, 600 000 iterations, its own salt, distinct
 * from the password check). The unlocked key lives only in `storage.session` (memory, cleared when
 * the browser closes) and is dropped by `lock()`, on request or after idle. Without a password
 * nothing can be sealed, and the settings page says so plainly.
 */
import { base64 } from '@scure/base';
import { said } from '../../core/text/said';
import type { PayboundDb, RailRecord } from '../../db/schema';
import { getSetting, setSetting } from '../../db/settings';
import { RailError } from './rails/types';

const ITERATIONS = 600_000;

export interface KeyStore {
  get(): Promise<string | undefined>;
  set(rawKeyBase64: string | undefined): Promise<void>;
}

export interface Sealed {
  iv: string;
  ct: string;
}

const CHECK_TEXT = 'paybound-vault-v1';

async function deriveRaw(password: string, salt: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: ITERATIONS },
    material,
    256,
  );
  return new Uint8Array(bits);
}

const aesKey = (raw: Uint8Array<ArrayBuffer>) =>
  crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);

async function seal(raw: Uint8Array<ArrayBuffer>, text: string): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv },
    await aesKey(raw),
    new TextEncoder().encode(text),
  );
  return { iv: base64.encode(iv), ct: base64.encode(new Uint8Array(ct)) };
}

async function unseal(raw: Uint8Array<ArrayBuffer>, s: Sealed): Promise<string> {
  const pt = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: new Uint8Array(base64.decode(s.iv)) },
    await aesKey(raw),
    new Uint8Array(base64.decode(s.ct)),
  );
  return new TextDecoder().decode(pt);
}

/** The secret part of a rail's configuration, and the record with it blanked. */
function split(r: RailRecord): { secret: string | undefined; open: RailRecord } {
  switch (r.kind) {
    case 'lnbits':
      return {
        secret: JSON.stringify({ adminKey: r.config.adminKey }),
        open: { ...r, config: { ...r.config, adminKey: '' } },
      };
    case 'nwc':
      return { secret: JSON.stringify({ uri: r.config.uri }), open: { ...r, config: { uri: '' } } };
    case 'card':
      return {
        secret: JSON.stringify({ token: r.config.token }),
        open: { ...r, config: { ...r.config, token: '' } },
      };
    case 'webln':
    case 'ethereum':
      return { secret: undefined, open: r };
  }
}

function join(r: RailRecord, secret: string): RailRecord {
  const parsed = JSON.parse(secret) as { adminKey?: string; uri?: string; token?: string };
  if (r.kind === 'card') return { ...r, config: { ...r.config, token: parsed.token ?? '' } };
  if (r.kind === 'lnbits') return { ...r, config: { ...r.config, adminKey: parsed.adminKey ?? '' } };
  if (r.kind === 'nwc') return { ...r, config: { uri: parsed.uri ?? '' } };
  return r;
}

export class Vault {
  constructor(
    private readonly db: PayboundDb,
    private readonly keys: KeyStore,
  ) {}

  async status(): Promise<'none' | 'locked' | 'unlocked'> {
    const meta = await getSetting(this.db, 'vault');
    if (!meta) return 'none';
    return (await this.keys.get()) ? 'unlocked' : 'locked';
  }

  private async key(): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const k = await this.keys.get();
    return k ? new Uint8Array(base64.decode(k)) : undefined;
  }

  /** Opens the vault with the password; false when it is not the right one. */
  async unlock(password: string): Promise<boolean> {
    const meta = await getSetting(this.db, 'vault');
    if (!meta) return false;
    const raw = await deriveRaw(password, new Uint8Array(base64.decode(meta.salt)));
    const ok = await unseal(raw, meta.check).then(
      (t) => t === CHECK_TEXT,
      () => false,
    );
    if (ok) await this.keys.set(base64.encode(raw));
    return ok;
  }

  async lock(): Promise<void> {
    await this.keys.set(undefined);
  }

  /**
   * After the password was set or changed (and verified): a new salt and key; every rail's secret
   * is sealed again under it. The old key is the unlocked one, or derived from the old password.
   */
  async rekey(password: string, oldPassword?: string): Promise<void> {
    const meta = await getSetting(this.db, 'vault');
    let oldRaw = await this.key();
    if (meta && !oldRaw && oldPassword !== undefined) {
      oldRaw = await deriveRaw(oldPassword, new Uint8Array(base64.decode(meta.salt)));
    }
    const rails = await this.db.rails.toArray();
    const plain: RailRecord[] = [];
    for (const r of rails) {
      if (!r.sealed) plain.push(r);
      else if (oldRaw) plain.push(join({ ...r, sealed: undefined }, await unseal(oldRaw, r.sealed)));
      else throw new Error('unlock Paybound before changing the password');
    }
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const raw = await deriveRaw(password, salt);
    const sealedRails: RailRecord[] = [];
    for (const r of plain) {
      const { secret, open } = split(r);
      sealedRails.push(
        secret === undefined ? { ...open, sealed: undefined } : { ...open, sealed: await seal(raw, secret) },
      );
    }
    const check = await seal(raw, CHECK_TEXT);
    await this.db.transaction('rw', this.db.rails, this.db.settings, async () => {
      await this.db.rails.bulkPut(sealedRails);
      await setSetting(this.db, 'vault', { salt: base64.encode(salt), check });
    });
    await this.keys.set(base64.encode(raw));
  }

  /** A rail about to be stored: sealed when a vault exists (it must be unlocked). */
  async sealRail(r: RailRecord): Promise<RailRecord> {
    const status = await this.status();
    if (status === 'none') return r;
    const raw = await this.key();
    if (!raw) throw new RailError('locked', said('lockedToLink'));
    const { secret, open } = split(r);
    return secret === undefined ? open : { ...open, sealed: await seal(raw, secret) };
  }

  /** A rail with its secret, ready to pay. Throws RailError('locked') while locked. */
  async open<T extends RailRecord>(r: T): Promise<T> {
    if (!r.sealed) return r;
    const raw = await this.key();
    if (!raw) throw new RailError('locked', said('lockedToPay'));
    return join({ ...r, sealed: undefined }, await unseal(raw, r.sealed)) as T;
  }
}
