/**
 * What the worker does with each browser event. The composition root registers these at the top
 * level; everything but the vault's lock waits for start-up (provisioning, tidying) first.
 */
import type { Runtime, WebRequest } from 'webextension-polyfill';
import type { Reply } from '../messages/map';
import { ALARMS, type AlarmRegistry } from './alarms';
import { originOf } from './sender';
import type { ApprovalService } from './services/approvals';
import type { AutoLock } from './services/autolock';
import type { ObservedResponses } from './services/observed';
import type { PaymentService } from './services/payments';
import type { TokenService } from './services/tokens';

export interface EventDeps {
  ready: Promise<void>;
  route: (message: unknown, sender: Runtime.MessageSender) => Promise<Reply<unknown>>;
  alarms: AlarmRegistry;
  autoLock: AutoLock;
  approvals: ApprovalService;
  payments: PaymentService;
  tokens: TokenService;
  responses: ObservedResponses | undefined;
  clearNotice: (id: string) => Promise<void>;
  /** Opens a page of the options (`budgets`, `history`) in a new tab. */
  openOptions: (page: string) => Promise<void>;
  reloadTab: (tabId: number) => Promise<void>;
}

const headerPairs = (details: WebRequest.OnHeadersReceivedDetailsType) =>
  (details.responseHeaders ?? []).map((h) => [h.name, h.value ?? ''] as const);

export function createEvents(d: EventDeps) {
  async function pageLoad(details: WebRequest.OnHeadersReceivedDetailsType): Promise<void> {
    if (details.tabId < 0) return;
    const origin = originOf(details.url);
    if (!origin) return;
    const headers = headerPairs(details);
    await d.ready;
    const refused = await d.payments.pageLoadAnswered({
      url: details.url,
      origin,
      tabId: details.tabId,
      status: details.statusCode,
      headers,
    });
    if (refused || details.statusCode !== 402) return;
    const verdict = await d.payments.onChallenge({
      url: details.url,
      method: details.method,
      headers,
      origin,
      tabId: details.tabId,
      via: 'navigation',
    });
    // Only a token rule can carry a credential into a page load, and only Authorization ones
    // become tokens: reloading without it would just meet the 402 again.
    if (verdict.action === 'retry' && verdict.credential.header === 'Authorization')
      await d.reloadTab(details.tabId);
  }

  return {
    message(message: unknown, sender: Runtime.MessageSender): Promise<Reply<unknown>> {
      return d.ready.then(async () => {
        const reply = await d.route(message, sender);
        // Only a message our own pages may send gets this far with `ok` (the router checks audiences).
        await d.autoLock.answered((message as { type?: unknown } | null)?.type, reply.ok).catch(() => {});
        return reply;
      });
    },

    /** A notice leads to the place it speaks of. */
    notificationClicked(id: string): void {
      void (async () => {
        await d.ready;
        if (id.startsWith('approve-')) await d.approvals.focus(Number(id.slice('approve-'.length)));
        // Budget milestones lead to the budgets; payments, reviews and refunds to the history.
        else await d.openOptions(id.startsWith('milestone|') ? 'budgets' : 'history');
        await d.clearNotice(id);
      })().catch(() => {});
    },

    alarm({ name }: { name: string }): void {
      // The vault locks at once; everything else waits for start-up first.
      const run =
        name === ALARMS.autoLock ? d.alarms.dispatch(name) : d.ready.then(() => d.alarms.dispatch(name));
      void run.catch((e: unknown) => console.error(`paybound: alarm ${name}`, e));
    },

    /** A page-load token belongs to the tab that paid for it. */
    tabRemoved(tabId: number): void {
      void d.ready.then(() => d.tokens.dropTabTokens(tabId)).catch(() => {});
    },

    windowRemoved(windowId: number): void {
      void d.ready.then(() => d.approvals.windowClosed(windowId));
    },

    /**
     * A 402 on a page load never reaches the page's scripts: the browser shows it to us here.
     * After payment the token's session rule adds the credential, and the tab reloads. Every page
     * load is also checked for a page-load token's first use (what the payment delivered, seen by
     * the browser): a refused token is not answered by paying the refusal's own challenge.
     * Returns nothing: a promise returned to a webRequest listener could hold the load up.
     */
    pageLoadHeaders(details: WebRequest.OnHeadersReceivedDetailsType): void {
      void pageLoad(details).catch((e: unknown) => console.error('paybound: navigation 402', e));
    },

    /** The work of `pageLoadHeaders`, to be awaited. */
    pageLoad,

    /** Firefox: the 402s of pages' fetch and XHR, for the reports whose challenge fetch() hid. */
    requestHeaders(details: WebRequest.OnHeadersReceivedDetailsType): void {
      if (!d.responses || details.statusCode !== 402 || details.tabId < 0) return;
      d.responses.record(
        { tabId: details.tabId, frameId: details.frameId, method: details.method, url: details.url },
        headerPairs(details),
      );
    },
  };
}
