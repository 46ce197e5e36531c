/**
 * Isolated-world bridge: relays the main-world script's 402 queries to the service worker and the
 * answers back. It forwards only the one page-callable message; the worker validates everything.
 */
import browser from 'webextension-polyfill';
import type { ChallengeVerdict, Reply } from '../messages/map';
import { type BridgeAck, type BridgeAnswer, CHANNEL, type ChallengeQuery } from './channel';

window.addEventListener('message', (ev: MessageEvent<ChallengeQuery>) => {
  const d = ev.data;
  if (ev.source !== window || d?.channel !== CHANNEL || d.kind !== 'query' || typeof d.id !== 'number')
    return;
  const id = d.id;
  const ack: BridgeAck = { channel: CHANNEL, kind: 'ack', id };
  window.postMessage(ack, '*');
  const answer = (authorization?: string) => {
    const msg: BridgeAnswer = {
      channel: CHANNEL,
      kind: 'answer',
      id,
      ...(authorization ? { authorization } : {}),
    };
    window.postMessage(msg, '*');
  };
  browser.runtime
    .sendMessage({ type: 'challenge.seen', payload: d.payload })
    .then((raw: unknown) => {
      const reply = raw as Reply<ChallengeVerdict> | undefined;
      answer(reply?.ok && reply.data.action === 'retry' ? reply.data.authorization : undefined);
    })
    .catch(() => answer());
});
