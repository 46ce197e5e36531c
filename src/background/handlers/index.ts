/** Every message's handler, from the groups of each domain. */
import type { Handlers } from '../router';
import { approvalHandlers } from './approvals';
import { authHandlers } from './auth';
import { cardHandlers } from './cards';
import { disputeHandlers } from './disputes';
import { pageHandlers } from './pages';
import { paymentHandlers } from './payments';
import { planHandlers } from './plans';
import type { Services } from './services';
import { settingsHandlers } from './settings';
import { walletHandlers } from './wallets';

export type { Services } from './services';

/** The groups, each handling its own messages: no message is in two (a unit test holds them to it). */
export function handlerGroups(s: Services) {
  return [
    pageHandlers(s),
    approvalHandlers(s),
    paymentHandlers(s),
    disputeHandlers(s),
    walletHandlers(s),
    cardHandlers(s),
    authHandlers(s),
    settingsHandlers(s),
    planHandlers(s),
  ] as const;
}

export function createHandlers(s: Services): Handlers {
  const [pages, approvals, payments, disputes, wallets, cards, auth, settings, plans] = handlerGroups(s);
  // The spread is checked against Handlers: a message without a handler does not compile.
  return {
    ...pages,
    ...approvals,
    ...payments,
    ...disputes,
    ...wallets,
    ...cards,
    ...auth,
    ...settings,
    ...plans,
  };
}
