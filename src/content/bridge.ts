/**
 * Isolated-world bridge: relays the main-world script's queries to the service worker and the
 * answers back. It forwards only the page-callable messages; the worker validates everything.
 */
import browser from 'webextension-polyfill';
import type { ChallengeVerdict, Reply } from '../messages/map';
import { answerFor } from './bridge-answer';
import { type BridgeAck, type BridgeQuery, CHANNEL } from './channel';

const FORWARD = {
  query: 'challenge.seen',
  'pay-result': 'page.payResult',
  delivered: 'payment.delivered',
} as const;

window.addEventListener('message', (ev: MessageEvent<BridgeQuery>) => {
  const d = ev.data;
  if (ev.source !== window || d?.channel !== CHANNEL || typeof d.id !== 'number') return;
  const type = Object.hasOwn(FORWARD, d.kind) ? FORWARD[d.kind] : undefined;
  if (!type) return;
  const id = d.id;
  const ack: BridgeAck = { channel: CHANNEL, kind: 'ack', id };
  window.postMessage(ack, '*');
  const answer = (verdict?: ChallengeVerdict) => window.postMessage(answerFor(id, verdict), '*');
  browser.runtime
    .sendMessage({ type, payload: d.payload })
    .then((raw: unknown) => {
      const reply = raw as Reply<ChallengeVerdict | { recorded: boolean }> | undefined;
      answer(reply?.ok && 'action' in reply.data ? reply.data : undefined);
    })
    .catch(() => answer());
});
