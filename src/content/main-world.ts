/**
 * Runs in every page's main world at document_start: wraps `fetch` and asynchronous
 * `XMLHttpRequest` so that a 402 carrying a known payment challenge is handed to Paybound, and the
 * page sees the paid retry or, when Paybound does not pay, the original 402. Everything else
 * passes through at once. Synchronous XHR is left alone: it cannot wait for an approval.
 * Kept tiny on purpose: it runs in every frame of every page. Untrusted by design.
 */
import type { RetryCredential } from '../messages/map';
import {
  type BridgeAck,
  type BridgeAnswer,
  type BridgePage,
  type BridgeQuery,
  CHANNEL,
  type PayResultPayload,
} from './channel';

(() => {
  const w = window as Window & { __paybound?: true };
  if (w.__paybound) return;
  w.__paybound = true;

  // The bridge acks at once; without an ack the extension is gone and the page keeps its 402.
  const ACK_MS = 2000;
  // Approval waits for a person; the worker closes its own window long before this.
  const ANSWER_MS = 10 * 60 * 1000;
  const nativeFetch = window.fetch;
  const waiting = new Map<number, { ack(): void; done(a?: BridgeAnswer): void }>();
  let seq = 0;

  const onMessage = (ev: MessageEvent<BridgeAck | BridgeAnswer | BridgePage>) => {
    const d = ev.data;
    if (ev.source !== window || d?.channel !== CHANNEL) return;
    if (d.kind === 'page') {
      // The paid page load, in place of its 402 page. Opening the document drops every listener
      // of the window, this one too.
      document.open();
      document.write(d.html);
      document.close();
      addEventListener('message', onMessage);
    }
    const entry = waiting.get(d.id);
    if (!entry) return;
    if (d.kind === 'ack') entry.ack();
    else if (d.kind === 'answer') entry.done(d);
  };
  addEventListener('message', onMessage);

  // Reusable credentials the worker handed this document (a paid token, a subscriber
  // credential): URL prefix → [header, value], the longest prefix winning. They go on the document's
  // later requests in their scope; a new document meets the 402 once and is handed them again.
  const kept = new Map<string, [string, string]>();
  const keep = (a: Answer) => a.keep && kept.set(a.keep, [a.retry.header, a.retry.value]);
  const keptFor = (url: string) => {
    let best: [string, string, string] | undefined;
    for (const [p, c] of kept) if (url.startsWith(p) && p.length > (best?.[0].length ?? -1)) best = [p, ...c];
    return best;
  };

  // Whether a 402 may ask to pay in its headers. The bridge tells which do (reports.ts): fetch
  // hands it every 402, with the 402's body when this is false; XHR holds back only these.
  const payHeaders = (h: Headers) => h.has('www-authenticate') || h.has('payment-required');

  function post<K extends BridgeQuery['kind']>(
    kind: K,
    payload: Extract<BridgeQuery, { kind: K }>['payload'],
  ): Promise<BridgeAnswer | undefined> {
    return new Promise((resolve) => {
      const id = ++seq;
      const finish = (answer?: BridgeAnswer) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(answer);
      };
      let timer = setTimeout(finish, ACK_MS);
      waiting.set(id, {
        ack() {
          clearTimeout(timer);
          timer = setTimeout(finish, ANSWER_MS);
        },
        done: finish,
      });
      postMessage({ channel: CHANNEL, kind, id, payload }, '*');
    });
  }

  type Request = { method: string; params: unknown[] };
  type Provider = Record<string, unknown> & { enable?(): unknown; request?(r: Request): Promise<unknown> };
  // EIP-6963: wallets announce themselves when asked; the first one answering is the page's.
  let announced: Provider | undefined;
  addEventListener('eip6963:announceProvider', (e) => {
    announced ??= (e as CustomEvent<{ provider?: Provider }>).detail?.provider;
  });
  const ethereum = () => {
    dispatchEvent(new Event('eip6963:requestProvider'));
    return announced ?? (window as Window & { ethereum?: Provider }).ethereum;
  };
  /** Asks the page's own wallet what the worker handed over; the worker checks its raw answer. */
  async function payInPage({ paymentId, wallet, request }: NonNullable<BridgeAnswer['pay']>) {
    const payload: PayResultPayload = { paymentId, wallet };
    try {
      // Each kind of page wallet, where it is found and how it is asked; any other kind is refused.
      // EIP-1193 takes the request as it is (the worker leads the conversation: account, chain,
      // signature); WebLN is enabled, then called by name.
      const webln = wallet === 'webln';
      const w = webln
        ? (window as Window & { webln?: Provider }).webln
        : wallet === 'eip1193'
          ? ethereum()
          : undefined;
      if (!w) throw new Error(`no ${wallet} wallet`);
      const answer = webln
        ? Promise.resolve(w.enable?.()).then(() =>
            (w[request.method] as (...a: unknown[]) => Promise<unknown>)(...request.params),
          )
        : (w.request as (r: Request) => Promise<unknown>)(request);
      // Throws here, not in postMessage, for an answer that cannot cross to the worker.
      payload.answer = structuredClone(await answer);
    } catch (e) {
      payload.error = String((e as Error)?.message ?? e).slice(0, 300);
    }
    return post('pay-result', payload);
  }

  /**
   * The credential to retry with (and the payment it proves), or nothing: the page keeps its 402.
   * The worker checked its header against its closed list; an answer forged by the page only
   * misleads the page itself. The bridge hands the worker the hash of the body the retry will
   * send (MPP's `digest` binds it; x402 tells one request from another by it), and the 402's
   * headers; a fetch 402 without a payment header sends its own body too (x402 v1 asks there).
   */
  type Answer = BridgeAnswer & { retry: RetryCredential };
  async function ask(
    url: string,
    method: string,
    headers: [string, string][],
    body: () => Promise<ArrayBuffer>,
    reply: Promise<ArrayBuffer> | undefined,
    carried?: boolean,
  ): Promise<Answer | undefined> {
    let answer = await post('query', {
      url,
      method,
      status: 402,
      headers,
      bytes: await body().catch(() => undefined),
      body: await reply?.catch(() => undefined),
      pageWallets: ethereum() && ['eip1193'],
      carried: carried || undefined,
    });
    // A wallet conversation may take several questions: each answer brings the next, or the retry.
    while (answer?.pay) answer = await payInPage(answer.pay);
    if (typeof answer?.retry?.value !== 'string') return undefined;
    keep(answer as Answer);
    return answer as Answer;
  }

  /** What the paid retry delivered (the dispute log's evidence: the bridge reads it). */
  const delivered = async (
    paymentId: string | undefined,
    status: number,
    bytes: Promise<ArrayBuffer>,
    headers: Iterable<[string, string]>,
  ) => paymentId && post('delivered', { paymentId, status, headers: [...headers], bytes: await bytes });

  window.fetch = async function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let carried: boolean | undefined;
    if (kept.size) {
      // Built once (a body moves into it): the request as it goes, with a kept credential.
      const r = new Request(input, init);
      const k = keptFor(r.url);
      carried = k && !r.headers.has(k[1]);
      if (k && carried) r.headers.set(k[1], k[2]);
      input = r;
      init = undefined;
    }
    // A Request's body can be read once: keep a copy for the paid retry.
    const spare = input instanceof Request && input.body ? input.clone() : input;
    let res = await nativeFetch(input, init);
    if (res.status !== 402) return res;
    let req = new Request(spare, init);
    // Twice at most: a credential paid before may be refused, and then the new challenge is paid.
    for (let again = true; ; again = false) {
      const paid = await ask(
        req.url,
        req.method,
        [...res.headers],
        () => req.clone().arrayBuffer(),
        payHeaders(res.headers) ? undefined : res.clone().arrayBuffer(),
        carried,
      );
      if (!paid) return res;
      req.headers.set(paid.retry.header, paid.retry.value);
      const next = again && paid.held ? req.clone() : undefined;
      const out = await nativeFetch(req);
      if (!next || out.status !== 402) {
        delivered(paid.paymentId, out.status, out.clone().arrayBuffer(), out.headers).catch(() => {});
        return out;
      }
      [res, req, carried] = [out, next, true];
    }
  };

  // XHR: our listeners are added in the constructor, so they run before any of the page's. From
  // a 402's headers until the request ends, every event is held back from the page; then either the
  // request is re-sent with the credential (the page sees only the paid response) or the held events
  // are replayed, one readystatechange standing for the several that were held.
  interface XhrState {
    method: string;
    url: string;
    async: boolean;
    headers: [string, string][];
    body?: Document | XMLHttpRequestBodyInit | null;
    held?: Event[];
    retried?: boolean;
    paymentId?: string;
    carried?: boolean;
  }
  const NativeXHR = XMLHttpRequest;
  const { open, send, setRequestHeader } = NativeXHR.prototype;
  const xhrs = new WeakMap<XMLHttpRequest, XhrState>();
  const EVENTS = 'readystatechange loadstart progress load error abort timeout loadend'.split(' ');

  // Firefox joins a repeated header's copies with a bare newline: a line that does not start with
  // a header name and a colon is one more copy of the header before it.
  const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):(.*)$/;
  const parseHeaders = (raw: string): [string, string][] => {
    const out: [string, string][] = [];
    for (const line of raw.trim().split(/\r?\n/)) {
      const m = HEADER_LINE.exec(line);
      const prev = out.at(-1);
      // Both groups take part in every match.
      if (m) out.push([m[1] as string, (m[2] as string).trim()]);
      else if (prev && line.trim()) out.push([prev[0], line.trim()]);
    }
    return out;
  };

  async function settle(xhr: XMLHttpRequest, st: XhrState) {
    const held = st.held ?? [];
    const paid = await ask(
      new Request(st.url).url,
      st.method,
      parseHeaders(xhr.getAllResponseHeaders()),
      // The bytes XHR would send again (a FormData's boundary differs: the worker then refuses).
      () => new Response(st.body as BodyInit | null | undefined).arrayBuffer(),
      undefined,
      st.carried,
    );
    if (paid) {
      st.retried = true;
      st.paymentId = paid.paymentId;
      open.call(xhr, st.method, st.url, true); // its readystatechange is still held
      for (const [k, v] of st.headers) setRequestHeader.call(xhr, k, v);
      setRequestHeader.call(xhr, paid.retry.header, paid.retry.value);
      st.held = undefined;
      send.call(xhr, st.body);
      return;
    }
    st.held = undefined;
    let replayedStateChange = false;
    for (const ev of held) {
      if (ev.type === 'readystatechange') {
        if (replayedStateChange) continue;
        replayedStateChange = true;
      }
      // A ProgressEvent's init reads lengthComputable, loaded and total off the held event itself.
      xhr.dispatchEvent(ev instanceof ProgressEvent ? new ProgressEvent(ev.type, ev) : new Event(ev.type));
    }
  }

  function gate(this: XMLHttpRequest, ev: Event) {
    const st = xhrs.get(this);
    if (!st || !ev.isTrusted) return;
    if (
      !st.held &&
      !st.retried &&
      st.async &&
      ev.type === 'readystatechange' &&
      this.readyState === 2 &&
      this.status === 402 &&
      payHeaders(new Headers(parseHeaders(this.getAllResponseHeaders())))
    ) {
      st.held = [];
    }
    if (st.retried && st.paymentId && ev.type === 'loadend') {
      // Text bodies are hashed as UTF-8 (what the page's JSON and text APIs deliver), as a
      // Response encodes them; a parsed JSON or document body is not reported.
      const body =
        /^(|text|arraybuffer|blob)$/.test(this.responseType) && new Response(this.response).arrayBuffer();
      if (body)
        delivered(st.paymentId, this.status, body, parseHeaders(this.getAllResponseHeaders())).catch(
          () => {},
        );
      st.paymentId = undefined;
    }
    if (!st.held) return;
    ev.stopImmediatePropagation();
    st.held.push(ev);
    if (ev.type === 'loadend') void settle(this, st);
  }

  class PayboundXHR extends NativeXHR {
    constructor() {
      super();
      for (const t of EVENTS) this.addEventListener(t, gate);
    }
  }
  Object.assign(NativeXHR.prototype, {
    open(
      this: XMLHttpRequest,
      method: string,
      url: string | URL,
      async?: boolean,
      ...rest: (string | null)[]
    ) {
      xhrs.set(this, { method, url: String(url), async: async !== false, headers: [] });
      return (open as (...a: unknown[]) => void).call(this, method, url, async ?? true, ...rest);
    },
    setRequestHeader(this: XMLHttpRequest, name: string, value: string) {
      xhrs.get(this)?.headers.push([name, value]);
      return setRequestHeader.call(this, name, value);
    },
    send(this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
      const st = xhrs.get(this);
      if (st) {
        st.body = body;
        const k = kept.size ? keptFor(new URL(st.url, location.href).href) : undefined;
        st.carried = k && !st.headers.some(([n]) => n.toLowerCase() === k[1].toLowerCase());
        if (k && st.carried) setRequestHeader.call(this, k[1], k[2]);
      }
      return send.call(this, body);
    },
  });
  window.XMLHttpRequest = PayboundXHR;
})();
