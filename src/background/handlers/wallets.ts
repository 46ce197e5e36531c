/** The wallets that pay: linking, testing, unlinking, choosing the default. */
import { addRail, LinkError, removeRail, setDefaultRail, testRail } from '../services/wallets';
import { refusal } from './refusal';
import type { HandlerGroup, Services } from './services';

export function walletHandlers({
  db,
  vault,
}: Pick<Services, 'db' | 'vault'>): HandlerGroup<
  'rails.setDefault' | 'rails.add' | 'rails.test' | 'rails.remove'
> {
  return {
    'rails.setDefault': ({ railId }) => setDefaultRail(db, railId),
    'rails.add': async (input) => {
      try {
        return { id: (await addRail(db, vault, input)).id };
      } catch (e) {
        if (e instanceof LinkError) throw refusal(e, 'errorInvalid');
        throw e;
      }
    },
    'rails.test': ({ railId }) => testRail(db, vault, railId),
    'rails.remove': ({ railId }) => removeRail(db, vault, railId),
  };
}
