/**
 * Unlocked vaults lock themselves after `autoLockMinutes` without the user doing something in
 * Paybound's own pages. Payments do not count: a site that triggers payments must not keep the
 * vault open. The timer is an alarm, so it runs out also while the worker is stopped.
 */
import type { PayboundDb } from '../../db/schema';
import { getSetting } from '../../db/settings';
import type { MessageType } from '../../messages/map';
import type { Vault } from './vault';

/** Messages that are the user doing something in Paybound's own pages: they keep the vault open. */
const USER_ACTIONS: ReadonlySet<MessageType> = new Set<MessageType>([
  'approval.decide',
  'approval.blockSite',
  'approval.switchRail',
  'payment.accept',
  'payment.reject',
  'payment.refund',
  'rules.set',
  'settings.set',
  'pause.set',
  'rails.add',
  'rails.remove',
  'rails.setDefault',
  'card.linkStart',
]);

export interface AutoLockDeps {
  db: PayboundDb;
  vault: Pick<Vault, 'status'>;
  /** (Re)starts the lock timer: the vault locks when it runs out. */
  restartTimer: (minutes: number) => Promise<void>;
}

export class AutoLock {
  constructor(private readonly deps: AutoLockDeps) {}

  /** The user did something (or just unlocked): the timer starts over. */
  async touch(): Promise<void> {
    await this.deps.restartTimer(await getSetting(this.deps.db, 'autoLockMinutes'));
  }

  /** After a message was answered: a user action that succeeded keeps an unlocked vault open. */
  async answered(type: unknown, ok: boolean): Promise<void> {
    if (!ok || typeof type !== 'string' || !USER_ACTIONS.has(type as MessageType)) return;
    if ((await this.deps.vault.status()) === 'unlocked') await this.touch();
  }
}
