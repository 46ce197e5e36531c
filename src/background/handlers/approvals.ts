/** The quote window: its quotes, the user's answers, the window itself. */
import type { HandlerGroup, Services } from './services';

export function approvalHandlers({
  approvals,
  decisions,
}: Pick<Services, 'approvals' | 'decisions'>): HandlerGroup<
  'approvals.pending' | 'approval.decide' | 'approval.blockSite' | 'approval.switchRail' | 'approvals.focus'
> {
  return {
    'approvals.pending': ({ tabId }) => decisions.quotes(tabId),
    // Strong and overage quotes are checked by AuthService, the budgets again with the approval.
    'approval.decide': (input) => decisions.decide(input),
    'approval.blockSite': ({ paymentId }) => decisions.blockSite(paymentId),
    'approval.switchRail': ({ paymentId, railId }) => decisions.switchRail(paymentId, railId),
    'approvals.focus': async ({ tabId }) => ({ focused: await approvals.focus(tabId) }),
  };
}
