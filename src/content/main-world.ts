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
  type BridgeQuery,
  CHANNEL,
  type PayResultPayload,
} from './channel';

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
  const waiting = new Map<number, { ack(): void; done(a?: BridgeAnswer): void }>();
  let seq = 0;

  addEventListener('message', (ev: MessageEvent<BridgeAck | BridgeAnswer>) => {
    const d = ev.data;
    if (ev.source !== window || d?.channel !== CHANNEL) return;
    const entry = waiting.get(d.id);
    if (!entry) return;
    if (d.kind === 'ack') entry.ack();
    else if (d.kind === 'answer') entry.done(d);
  });

  // Only the payment headers cross to the worker: nothing else of the response is its business.
  // Of the paid retry's response, also its receipt and content type: evidence if it was refused.
  const only = (names: RegExp) => (hs: Iterable<[string, string]>) => [...hs].filter(([k]) => names.test(k));
  const paymentHeaders = only(/^(?:www-authenticate|payment-required)$/i);
  const evidenceHeaders = only(
    /^(?:www-authenticate|(?:x-)?payment-(?:required|receipt|response)|content-type)$/i,
  );

  const isChallenge = (h: Headers) =>
    KNOWN.test(h.get('www-authenticate') ?? '') || h.has('payment-required');
  // Firefox's fetch() drops WWW-Authenticate when a response repeats it (it joins the copies with a
  // newline, which its Headers refuse): a 402 without one may hide a challenge that only the
  // worker, through webRequest, can read. Chrome shows every header, so there it is no challenge.
  const mayHideChallenge = (h: Headers) =>
    __PAYBOUND_TARGET__ === 'firefox' && !h.has('www-authenticate') && !h.has('payment-required');

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

  const sha256 = async (b: BufferSource) =>
    Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)), (x) =>
      x.toString(16).padStart(2, '0'),
    ).join('');

  /**
   * The credential to retry with (and the payment it proves), or nothing: the page keeps its 402.
   * The worker checked its header against its closed list; an answer forged by the page only
   * misleads the page itself. The worker gets the hash of the body the retry will send (MPP's
   * `digest` binds it; x402 tells one request from another by it), and an x402 v1 402's body.
   */
  async function ask(
    url: string,
    method: string,
    headers: [string, string][],
    body: () => Promise<ArrayBuffer>,
    x402Body: string,
  ): Promise<{ retry: RetryCredential; paymentId?: string } | undefined> {
    const bodySha256 = await body().then(sha256, () => undefined);
    let answer = await post('query', {
      url,
      method,
      status: 402,
      headers,
      bodySha256,
      body: x402Body || undefined,
      pageWallets: ethereum() && ['eip1193'],
    });
    // A wallet conversation may take several questions: each answer brings the next, or the retry.
    while (answer?.pay) answer = await payInPage(answer.pay);
    return typeof answer?.retry?.value === 'string' ? (answer as { retry: RetryCredential }) : undefined;
  }

  /**
   * What the paid retry delivered (status, a few headers, the sha256 of the body, and a Problem
   * Details body): the dispute log's evidence. The worker reads the receipt from the headers.
   */
  async function delivered(
    paymentId: string | undefined,
    status: number,
    body: Promise<ArrayBuffer>,
    headers: Iterable<[string, string]>,
  ) {
    if (!paymentId) return;
    const buf = await body;
    const kept = evidenceHeaders(headers);
    void post('delivered', {
      paymentId,
      status,
      sha256: await sha256(buf),
      headers: kept,
      // Only content-type values can name problem+json among the kept headers.
      problem: /problem\+json/i.test(kept.join()) ? new TextDecoder().decode(buf).slice(0, 4096) : undefined,
    });
  }

  window.fetch = async function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    // A Request's body can be read once: keep a copy for the paid retry.
    const spare = input instanceof Request && input.body ? input.clone() : input;
    const res = await nativeFetch(input, init);
    if (res.status !== 402) return res;
    // x402 v1 asks in the body of a 402 that carries no payment header ('': it has one).
    const x402Body =
      isChallenge(res.headers) || mayHideChallenge(res.headers)
        ? ''
        : await res
            .clone()
            .text()
            .then(
              (t) => (/"x402Version"/.test(t) ? t : undefined),
              () => undefined,
            );
    if (x402Body === undefined) return res;
    const req = new Request(spare, init);
    const paid = await ask(
      req.url,
      req.method,
      paymentHeaders(res.headers),
      () => req.clone().arrayBuffer(),
      x402Body,
    );
    if (!paid) return res;
    req.headers.set(paid.retry.header, paid.retry.value);
    const out = await nativeFetch(req);
    delivered(paid.paymentId, out.status, out.clone().arrayBuffer(), out.headers).catch(() => {});
    return out;
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
      paymentHeaders(parseHeaders(xhr.getAllResponseHeaders())),
      // The bytes XHR would send again (a FormData's boundary differs: the worker then refuses).
      () => new Response(st.body as BodyInit | null | undefined).arrayBuffer(),
      '',
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
      isChallenge(new Headers(parseHeaders(this.getAllResponseHeaders())))
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
      if (st) st.body = body;
      return send.call(this, body);
    },
  });
  window.XMLHttpRequest = PayboundXHR;
})();
