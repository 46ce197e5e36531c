/** Cards: linking one through the card service's page, and its own limits there. */
import { limitCard } from '../services/wallets';
import type { HandlerGroup, Services } from './services';

export function cardHandlers({
  db,
  vault,
  cardLinks,
}: Pick<Services, 'db' | 'vault' | 'cardLinks'>): HandlerGroup<
  'card.linkStart' | 'card.linkPoll' | 'rails.cardLimits'
> {
  return {
    'card.linkStart': ({ serviceUrl }) => cardLinks.start(serviceUrl),
    'card.linkPoll': () => cardLinks.poll(),
    'rails.cardLimits': ({ railId, perChargeMinor, perDayMinor }) =>
      limitCard(db, vault, railId, { perChargeMinor, perDayMinor }),
  };
}
