/**
 * Isolated-world bridge: relays the main-world script's queries to the service worker and the
 * answers back. It forwards only the page-callable messages, keeping of each only what the
 * worker reads (reports.ts); the worker validates everything.
 */
import browser from 'webextension-polyfill';
import type { ChallengeVerdict, Reply } from '../messages/map';
import { answerFor } from './bridge-answer';
import { type BridgeAck, type BridgeQuery, CHANNEL } from './channel';
import { pageLoadAnswered402, pageMessage, payPageLoad } from './page-load';
import { challengeInput, deliveredInput } from './reports';

const FORWARD = {
  query: 'challenge.seen',
  'pay-result': 'page.payResult',
  delivered: 'payment.delivered',
} as const;

function relay(ev: MessageEvent<BridgeQuery>): void {
  const d = ev.data;
  if (ev.source !== window || d?.channel !== CHANNEL || typeof d.id !== 'number') return;
  const type = Object.hasOwn(FORWARD, d.kind) ? FORWARD[d.kind] : undefined;
  if (!type) return;
  const id = d.id;
  const ack: BridgeAck = { channel: CHANNEL, kind: 'ack', id };
  window.postMessage(ack, '*');
  const answer = (verdict?: ChallengeVerdict) => window.postMessage(answerFor(id, verdict), '*');
  const payload =
    d.kind === 'query'
      ? challengeInput(d.payload)
      : d.kind === 'delivered'
        ? deliveredInput(d.payload)
        : Promise.resolve(d.payload);
  payload
    // A 402 that asks for no payment Paybound knows goes no further: the page keeps it.
    .then((p) => (p ? browser.runtime.sendMessage({ type, payload: p }) : undefined))
    .then((raw: unknown) => {
      const reply = raw as Reply<ChallengeVerdict | { recorded: boolean }> | undefined;
      answer(reply?.ok && 'action' in reply.data ? reply.data : undefined);
    })
    .catch(() => answer());
}
window.addEventListener('message', relay);

// Firefox reads page loads through webRequest (docs/permissions.md).
if (__PAYBOUND_TARGET__ === 'chrome' && pageLoadAnswered402()) {
  void payPageLoad(
    (message) => browser.runtime.sendMessage(message),
    (html) => {
      // Showing the page opens the document again, which drops the window's listeners: this
      // frame's relay comes back once the old page is gone.
      const back = new MutationObserver(() => {
        back.disconnect();
        window.addEventListener('message', relay);
      });
      back.observe(document, { childList: true });
      window.postMessage(pageMessage(html), '*');
    },
  ).catch(() => {});
}
