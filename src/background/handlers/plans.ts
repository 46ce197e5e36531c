/** Plans: subscribing from a quote, the subscriptions page, cancelling. */

import { getSetting } from '../../db/settings';
import { planHints, subscriptionView } from '../services/plan-views';
import { isRefusal } from '../services/rates';
import type { HandlerGroup, Services } from './services';

export function planHandlers({
  db,
  decisions,
  subscriptions,
  rates,
}: Pick<Services, 'db' | 'decisions' | 'subscriptions' | 'rates'>): HandlerGroup<
  'approval.subscribe' | 'subscriptions.list' | 'subscriptions.cancel' | 'plans.hints'
> {
  const rate = async () => {
    const answer = await rates.current(await getSetting(db, 'currency'));
    return isRefusal(answer) ? undefined : answer.rate;
  };
  return {
    'approval.subscribe': ({ paymentId, planId }) => decisions.subscribe(paymentId, planId),
    'subscriptions.list': async ({ refresh }) => {
      await subscriptions.sweep();
      const subs = await subscriptions.list();
      const fresh = refresh
        ? await Promise.all(subs.map(async (s) => (await subscriptions.refresh(s.id)) ?? s))
        : subs;
      const r = await rate();
      return Promise.all(fresh.map((s) => subscriptionView(db, s, r)));
    },
    'plans.hints': async () => planHints(db, await getSetting(db, 'currency'), Date.now()),
    'subscriptions.cancel': async ({ id }) => {
      const sub = await subscriptions.cancel(id);
      if (!sub) throw new Error('no such subscription');
      return subscriptionView(db, sub, await rate());
    },
  };
}
