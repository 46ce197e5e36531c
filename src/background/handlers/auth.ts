/** The password, 2FA, and the vault that the password opens. */
import { said } from '../../core/text/said';
import { HandlerError } from '../router';
import type { HandlerGroup, Services } from './services';

export function authHandlers({
  auth,
  vault,
  autoLock,
}: Pick<Services, 'auth' | 'vault' | 'autoLock'>): HandlerGroup<
  'auth.status' | 'auth.totpSetup' | 'auth.totpConfirm' | 'auth.setPassword' | 'vault.unlock' | 'vault.lock'
> {
  return {
    'auth.status': () => auth.status(),
    'auth.totpSetup': () => auth.totpSetup(),
    'auth.totpConfirm': async ({ code }) => {
      await auth.totpConfirm(code);
      return { hasTotp: true };
    },
    'auth.setPassword': async ({ password, current }) => {
      await auth.setPassword(password, current);
      // Wallet secrets are sealed under the new password (and unsealed from the old one).
      await vault.rekey(password, current);
      await autoLock.touch();
      return { hasPassword: true };
    },
    'vault.unlock': async ({ password }) => {
      if (!(await vault.unlock(password))) throw new HandlerError('auth', said('errorWrongPassword'));
      await autoLock.touch();
      return { unlocked: true };
    },
    'vault.lock': async () => {
      await vault.lock();
      return { unlocked: false };
    },
  };
}
