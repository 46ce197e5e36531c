/**
 * Isolated-world bridge: relays the main-world script's queries to the service worker and the
 * answers back. It forwards only the page-callable messages; the worker validates everything.
 */
import browser from 'webextension-polyfill';
import type { ChallengeVerdict, Reply } from '../messages/map';
import { type BridgeAck, type BridgeAnswer, type BridgeQuery, CHANNEL } from './channel';

const FORWARD = {
  query: 'challenge.seen',
  'webln-result': 'webln.result',
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
  const answer = (verdict?: ChallengeVerdict) => {
    const msg: BridgeAnswer = { channel: CHANNEL, kind: 'answer', id };
    if (verdict?.action === 'retry') {
      msg.authorization = verdict.authorization;
      if (verdict.paymentId) msg.paymentId = verdict.paymentId;
    }
    if (verdict?.action === 'webln') msg.webln = { paymentId: verdict.paymentId, invoice: verdict.invoice };
    window.postMessage(msg, '*');
  };
  browser.runtime
    .sendMessage({ type, payload: d.payload })
    .then((raw: unknown) => {
      const reply = raw as Reply<ChallengeVerdict | { recorded: boolean }> | undefined;
      answer(reply?.ok && 'action' in reply.data ? reply.data : undefined);
    })
    .catch(() => answer());
});
