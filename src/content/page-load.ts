/**
 * Chromium: the tab's own page load answered 402 (docs/permissions.md). The browser hides a page
 * load's headers from the page, but not its status: the bridge asks for the same URL again to
 * read the challenge, hands it to the worker like a fetch's, and once paid (or already paid in
 * this tab) fetches the page with the credential and has the main world show it in place of the
 * 402 page. The worker checks the URL and frame against the browser's own; nothing here is
 * trusted by it.
 */
import type { ChallengeVerdict, MessageInput, Reply, RetryCredential } from '../messages/map';
import { type BridgePage, CHANNEL } from './channel';
import { deliveredInput, paymentHeaders } from './reports';

type Send = (message: unknown) => Promise<unknown>;

/** Whether this frame's page load is one to pay for: the top frame's, answered 402. */
export function pageLoadAnswered402(): boolean {
  if (window !== window.top) return false;
  const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
  return nav?.responseStatus === 402;
}

async function verdictFor(send: Send, payload: MessageInput<'challenge.seen'>) {
  const reply = (await send({ type: 'challenge.seen', payload })) as Reply<ChallengeVerdict> | undefined;
  return reply?.ok ? reply.data : undefined;
}

/**
 * Pays for (or reuses the tab's token for) this page load, and shows the paid page. Resolves
 * when done; leaves the 402 page as it is when nothing is paid.
 */
export async function payPageLoad(send: Send, show: (html: string) => void): Promise<void> {
  const url = location.href.replace(/#.*$/, '');
  const get = (credential?: RetryCredential) =>
    fetch(url, {
      credentials: 'include',
      cache: 'no-store',
      ...(credential ? { headers: { [credential.header]: credential.value } } : {}),
    });
  let res = await get();
  let carried: true | undefined;
  // Twice at most: a token paid before may be refused, and then the new challenge is paid.
  for (let again = true; ; again = false) {
    const headers = paymentHeaders(res.headers);
    if (res.status !== 402 || headers.length === 0) return;
    const verdict = await verdictFor(send, {
      url,
      method: 'GET',
      status: 402,
      headers,
      navigation: true,
      carried,
    });
    if (verdict?.action !== 'retry') return;
    res = await get(verdict.credential);
    if (again && verdict.held && res.status === 402) {
      carried = true;
      continue;
    }
    const body = await res.arrayBuffer();
    if (verdict.paymentId) {
      const report = {
        paymentId: verdict.paymentId,
        status: res.status,
        headers: [...res.headers],
        bytes: body,
      };
      void deliveredInput(report)
        .then((payload) => send({ type: 'payment.delivered', payload }))
        .catch(() => {});
    }
    if (document.readyState === 'loading')
      await new Promise((done) => document.addEventListener('DOMContentLoaded', done, { once: true }));
    show(new TextDecoder().decode(body));
    return;
  }
}

/** The message that has the main world show the paid page. */
export const pageMessage = (html: string): BridgePage => ({ channel: CHANNEL, kind: 'page', id: 0, html });
