/**
 * Runs in every page's main world at document_start: wraps `fetch` so that a 402 carrying a known
 * payment challenge is handed to Paybound, and the page's promise resolves with the paid retry or,
 * when Paybound does not pay, with the original 402. Everything else passes through at once.
 * Kept tiny on purpose: it runs in every frame of every page. Untrusted by design.
 */
import { type BridgeAck, type BridgeAnswer, CHANNEL, type ChallengeQuery } from './channel';

(() => {
  const w = window as Window & { __paybound?: true };
  if (w.__paybound) return;
  w.__paybound = true;

  const KNOWN = /(?:^|[\s,])(?:l402|lsat|payment)(?:\s|$)/i;
  // The bridge acks at once; without an ack the extension is gone and the page keeps its 402.
  const ACK_MS = 2000;
  // Approval waits for a person; the worker closes its own window long before this.
  const ANSWER_MS = 10 * 60 * 1000;
  const nativeFetch = window.fetch;
  const waiting = new Map<number, { ack(): void; done(a?: string): void }>();
  let seq = 0;

  window.addEventListener('message', (ev: MessageEvent<BridgeAck | BridgeAnswer>) => {
    const d = ev.data;
    if (ev.source !== window || d?.channel !== CHANNEL) return;
    const entry = waiting.get(d.id);
    if (!entry) return;
    if (d.kind === 'ack') entry.ack();
    else if (d.kind === 'answer')
      entry.done(typeof d.authorization === 'string' ? d.authorization : undefined);
  });

  const isChallenge = (h: Headers) =>
    KNOWN.test(h.get('www-authenticate') ?? '') || h.has('payment-required');

  function ask(url: string, method: string, res: Response): Promise<string | undefined> {
    return new Promise((resolve) => {
      const id = ++seq;
      const finish = (auth?: string) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(auth);
      };
      let timer = setTimeout(finish, ACK_MS);
      waiting.set(id, {
        ack() {
          clearTimeout(timer);
          timer = setTimeout(finish, ANSWER_MS);
        },
        done: finish,
      });
      const query: ChallengeQuery = {
        channel: CHANNEL,
        kind: 'query',
        id,
        payload: { url, method, status: 402, headers: [...res.headers] },
      };
      window.postMessage(query, '*');
    });
  }

  window.fetch = async function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    // A Request's body can be read once: keep a copy for the paid retry.
    const spare = input instanceof Request && input.body ? input.clone() : input;
    const res = await nativeFetch(input, init);
    if (res.status !== 402 || !isChallenge(res.headers)) return res;
    const req = new Request(spare, init);
    const auth = await ask(req.url, req.method, res);
    if (!auth) return res;
    req.headers.set('Authorization', auth);
    return nativeFetch(req);
  };
})();
