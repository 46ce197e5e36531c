/**
 * The main-world script in a stand-in page: a window whose postMessage delivers (cloned) to its
 * own listeners, a stand-in bridge answering the script's queries, and a server behind `fetch`.
 */
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BridgeAnswer, BridgeQuery } from '../../../src/content/channel';
import { challengeInput, deliveredInput } from '../../../src/content/reports';
import { DeliveredInput } from '../../../src/messages/map';

type Answer = Omit<BridgeAnswer, 'channel' | 'kind' | 'id'>;

const page = new EventTarget() as EventTarget & Record<string, unknown>;
const posted: BridgeQuery[] = [];
const waiters: (() => void)[] = [];
/** The first query of this kind the script posts (the delivered report is not awaited by the page). */
async function postedOf<K extends BridgeQuery['kind']>(kind: K): Promise<Extract<BridgeQuery, { kind: K }>> {
  for (;;) {
    const found = posted.find((q) => q.kind === kind);
    if (found) return found as Extract<BridgeQuery, { kind: K }>;
    await new Promise<void>((resolve) => waiters.push(resolve));
  }
}
/** What the stand-in bridge answers to each query the script posts. */
let bridge: (q: BridgeQuery) => Answer = () => ({});

function deliver(data: unknown) {
  const ev = new Event('message');
  Object.assign(ev, { data, source: page });
  page.dispatchEvent(ev);
}
page.postMessage = (message: unknown) => {
  const data = structuredClone(message) as BridgeQuery;
  setTimeout(() => {
    deliver(data);
    if (data.kind === 'query' || data.kind === 'pay-result' || data.kind === 'delivered') {
      posted.push(data);
      for (const w of waiters.splice(0)) w();
      deliver({ channel: 'paybound:v1', kind: 'ack', id: data.id });
      deliver({ channel: 'paybound:v1', kind: 'answer', id: data.id, ...bridge(data) });
    }
  });
};

/** The server: a 402 with an L402 challenge, then whatever the retry carried. */
const retries: Headers[] = [];
const server = vi.fn(async (input: RequestInfo | URL) => {
  if (input instanceof Request) {
    retries.push(input.headers);
    return new Response('paid', { status: 200 });
  }
  return new Response('pay first', {
    status: 402,
    headers: { 'www-authenticate': 'L402 macaroon="bWFj", invoice="lnbcrt10n1x"' },
  });
});

class StandInXHR extends EventTarget {}

beforeAll(async () => {
  page.fetch = server;
  vi.stubGlobal('window', page);
  // The script reaches the page's window through its globals too, as it does in a page.
  vi.stubGlobal('addEventListener', page.addEventListener.bind(page));
  vi.stubGlobal('dispatchEvent', page.dispatchEvent.bind(page));
  vi.stubGlobal('postMessage', (m: unknown, o: string) =>
    (page.postMessage as (m: unknown, o: string) => void)(m, o),
  );
  vi.stubGlobal('XMLHttpRequest', StandInXHR);
  await import('../../../src/content/main-world');
});

beforeEach(() => {
  posted.length = 0;
  retries.length = 0;
  server.mockClear();
  delete page.webln;
  delete page.ethereum;
});

const pageFetch = () => (page.fetch as typeof fetch)('https://app.example/api/generate', { method: 'POST' });
const PAYMENT = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
const payResults = () => posted.filter((q) => q.kind === 'pay-result').map((q) => q.payload);

describe('main world: the retry', () => {
  it('sets the header the credential names, with its value', async () => {
    bridge = (q) =>
      q.kind === 'query' ? { retry: { header: 'X-PAYMENT', value: 'eyJ4In0' }, paymentId: PAYMENT } : {};
    const res = await pageFetch();
    expect(res.status).toBe(200);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.get('x-payment')).toBe('eyJ4In0');
    expect(retries[0]?.has('authorization')).toBe(false);
  });

  it("reports what the paid retry got: its status, its body's sha256 and only the evidence headers", async () => {
    let reported!: (payload: unknown) => void;
    const report = new Promise((resolve) => {
      reported = resolve;
    });
    // Its own payment id: an earlier test's report may still be on its way.
    const paymentId = '2c5f39cb-3fb2-42e3-994a-1127e4ddb538';
    bridge = (q) => {
      if (q.kind === 'delivered' && q.payload.paymentId === paymentId) reported(q.payload);
      return q.kind === 'query' ? { retry: { header: 'Authorization', value: 'L402 m:p' }, paymentId } : {};
    };
    server.mockImplementationOnce(server.getMockImplementation()!).mockImplementationOnce(
      async () =>
        new Response('refused', {
          status: 402,
          headers: {
            'www-authenticate': 'L402 macaroon="bWFj", invoice="lnbcrt10n1x"',
            'content-type': 'application/json',
            'payment-receipt': 'cmVjZWlwdA',
            'x-session': 'secret',
          },
        }),
    );
    expect((await pageFetch()).status).toBe(402);
    // What the bridge sends the worker: the evidence headers only (not x-session).
    expect(await deliveredInput((await report) as Parameters<typeof deliveredInput>[0])).toEqual({
      paymentId,
      status: 402,
      sha256: createHash('sha256').update('refused').digest('hex'),
      headers: [
        ['content-type', 'application/json'],
        ['payment-receipt', 'cmVjZWlwdA'],
        ['www-authenticate', 'L402 macaroon="bWFj", invoice="lnbcrt10n1x"'],
      ],
    });
  });

  it('no credential: the page gets its 402', async () => {
    bridge = () => ({});
    expect((await pageFetch()).status).toBe(402);
    expect(server).toHaveBeenCalledTimes(1);
  });
});

describe('main world: pay in page', () => {
  const webln = { paymentId: PAYMENT, wallet: 'webln' as const };
  const sendPayment = { method: 'sendPayment' as const, params: ['lnbcrt10n1x'] as [string] };

  it("asks the page's WebLN wallet what the worker named and posts its raw answer back", async () => {
    const calls: string[] = [];
    page.webln = {
      enable: async () => {
        calls.push('enable');
      },
      sendPayment: async (invoice: string) => {
        calls.push(`sendPayment ${invoice}`);
        return { preimage: 'ab'.repeat(32), route: { hops: 1 } };
      },
    };
    bridge = (q) =>
      q.kind === 'query'
        ? { pay: { ...webln, request: sendPayment } }
        : q.kind === 'pay-result'
          ? { retry: { header: 'Authorization', value: `L402 bWFj:${'ab'.repeat(32)}` }, paymentId: PAYMENT }
          : {};
    expect((await pageFetch()).status).toBe(200);
    expect(calls).toEqual(['enable', 'sendPayment lnbcrt10n1x']);
    // Raw: the script does not read the answer; the worker does.
    expect(payResults()).toEqual([{ ...webln, answer: { preimage: 'ab'.repeat(32), route: { hops: 1 } } }]);
    expect(retries[0]?.get('authorization')).toBe(`L402 bWFj:${'ab'.repeat(32)}`);
  });

  it('refuses a wallet kind it has no caller for, with a clear error, and asks no wallet', async () => {
    const request = vi.fn(async () => '0xhash');
    page.ethereum = { request };
    page.webln = { enable: vi.fn(), sendPayment: vi.fn() };
    for (const wallet of ['ethereum', 'toString', '__proto__', 'constructor']) {
      posted.length = 0;
      bridge = (q) =>
        q.kind === 'query'
          ? {
              pay: {
                paymentId: PAYMENT,
                wallet,
                request: { method: 'eth_sendTransaction', params: [] },
              } as Answer['pay'],
            }
          : {};
      expect((await pageFetch()).status, wallet).toBe(402);
      expect(payResults(), wallet).toEqual([{ paymentId: PAYMENT, wallet, error: `no ${wallet} wallet` }]);
    }
    expect(request).not.toHaveBeenCalled();
    expect((page.webln as { sendPayment: () => void }).sendPayment).not.toHaveBeenCalled();
    expect(retries).toEqual([]);
  });

  it('a page without the wallet, or a wallet that throws, is reported as an error; the page keeps its 402', async () => {
    bridge = (q) => (q.kind === 'query' ? { pay: { ...webln, request: sendPayment } } : {});
    expect((await pageFetch()).status).toBe(402);
    page.webln = {
      enable: async () => {},
      sendPayment: async () => {
        throw new Error('User rejected');
      },
    };
    expect((await pageFetch()).status).toBe(402);
    expect(payResults()).toEqual([
      { ...webln, error: 'no webln wallet' },
      { ...webln, error: 'User rejected' },
    ]);
  });

  it('an answer that cannot cross to the worker is reported as an error, not thrown at the page', async () => {
    page.webln = { enable: async () => {}, sendPayment: async () => ({ preimage: 'ab'.repeat(32), f() {} }) };
    bridge = (q) => (q.kind === 'query' ? { pay: { ...webln, request: sendPayment } } : {});
    expect((await pageFetch()).status).toBe(402);
    const [result] = payResults();
    expect(result).toMatchObject(webln);
    expect(result && 'answer' in result).toBe(false);
    expect(result?.error).toBeTruthy();
  });
});

describe('main world: MPP body digest and what the paid retry said', () => {
  const BODY = '{"prompt":"a haiku"}';
  const hex = async (s: string) =>
    Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s))).toString('hex');
  const mpp402 = (extra: string) =>
    new Response('{}', {
      status: 402,
      headers: {
        'www-authenticate': `Payment id="a", realm="r", method="lightning", intent="charge", request="e30"${extra}`,
      },
    });
  const postBody = () =>
    (page.fetch as typeof fetch)('https://app.example/api/generate', { method: 'POST', body: BODY });

  it('sends the sha256 of the body it would retry with when the challenge names a digest', async () => {
    server.mockImplementationOnce(async () => mpp402(', digest="sha-256=:AAAA:"'));
    bridge = () => ({});
    expect((await postBody()).status).toBe(402);
    expect((await challengeInput((await postedOf('query')).payload))?.bodySha256).toBe(await hex(BODY));
  });

  it('sends the body hash for a challenge without a digest too (x402 tells requests apart by it)', async () => {
    server.mockImplementationOnce(async () => mpp402(''));
    bridge = () => ({});
    await postBody();
    expect((await challengeInput((await postedOf('query')).payload))?.bodySha256).toBe(await hex(BODY));
  });

  it("reports the app's Payment-Receipt with what was delivered", async () => {
    server.mockImplementationOnce(async () => mpp402(''));
    server.mockImplementationOnce(
      async () => new Response('paid', { status: 200, headers: { 'payment-receipt': 'eyJzIjoiMSJ9' } }),
    );
    bridge = (q) =>
      q.kind === 'query'
        ? { retry: { header: 'Authorization', value: 'Payment eA' }, paymentId: PAYMENT }
        : {};
    expect((await postBody()).status).toBe(200);
    expect(await deliveredInput((await postedOf('delivered')).payload)).toMatchObject({
      paymentId: PAYMENT,
      status: 200,
      sha256: await hex('paid'),
      headers: expect.arrayContaining([['payment-receipt', 'eyJzIjoiMSJ9']]),
    });
  });

  it('reports the body of a Problem Details refusal, and no body of other responses', async () => {
    const problem = '{"title":"Verification failed","detail":"the preimage does not match"}';
    server.mockImplementationOnce(async () => mpp402(''));
    server.mockImplementationOnce(
      async () =>
        new Response(problem, { status: 402, headers: { 'content-type': 'application/problem+json' } }),
    );
    bridge = (q) =>
      q.kind === 'query'
        ? { retry: { header: 'Authorization', value: 'Payment eA' }, paymentId: PAYMENT }
        : {};
    await postBody();
    // What the bridge makes of the report.
    const report = await deliveredInput((await postedOf('delivered')).payload);
    expect(report.problem).toBe(problem);
    expect(report.headers?.some(([k]) => k.toLowerCase() === 'payment-receipt')).toBe(false);
    // What the worker takes: the report as the bridge sends it.
    expect(v.safeParse(DeliveredInput, report).success).toBe(true);
  });
});

describe('main world: an Ethereum wallet (x402)', () => {
  const eth = { paymentId: PAYMENT, wallet: 'eip1193' as const };
  const x402Header = { 'payment-required': 'eyJ4NDAyVmVyc2lvbiI6Mn0' };

  it('a page without an Ethereum wallet says so in its query, and its 402 stays', async () => {
    server.mockImplementationOnce(async () => new Response('pay', { status: 402, headers: x402Header }));
    bridge = () => ({});
    expect((await pageFetch()).status).toBe(402);
    const query = await postedOf('query');
    expect(query.payload.pageWallets).toBeUndefined();
  });

  it('asks the wallet each question the worker leads with, in turn, and retries with the last answer', async () => {
    const asked: unknown[] = [];
    page.ethereum = {
      request: async (r: { method: string; params: unknown[] }) => {
        asked.push(r);
        return r.method === 'eth_requestAccounts'
          ? ['0xabc']
          : r.method === 'eth_chainId'
            ? '0x14a34'
            : '0xsig';
      },
    };
    server.mockImplementationOnce(async () => new Response('pay', { status: 402, headers: x402Header }));
    const steps = [
      { method: 'eth_requestAccounts', params: [] },
      { method: 'eth_chainId', params: [] },
      { method: 'eth_signTypedData_v4', params: ['0xabc', '{}'] },
    ];
    let step = 0;
    bridge = (q) => {
      if (q.kind !== 'query' && q.kind !== 'pay-result') return {};
      const request = steps[step++];
      return request
        ? { pay: { ...eth, request } }
        : { retry: { header: 'PAYMENT-SIGNATURE', value: 'c2lnbmVk' }, paymentId: PAYMENT };
    };
    expect((await pageFetch()).status).toBe(200);
    expect(asked).toEqual(steps);
    expect(payResults()).toEqual([
      { ...eth, answer: ['0xabc'] },
      { ...eth, answer: '0x14a34' },
      { ...eth, answer: '0xsig' },
    ]);
    expect(retries[0]?.get('payment-signature')).toBe('c2lnbmVk');
    // The query said the page has an Ethereum wallet, and hashed the body the retry sends.
    const query = await postedOf('query');
    expect(query.payload.pageWallets).toEqual(['eip1193']);
    expect((await challengeInput(query.payload))?.bodySha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds a wallet that announces itself (EIP-6963) before window.ethereum', async () => {
    const announced = vi.fn(async () => ['0xdef']);
    const injected = vi.fn(async () => ['0xabc']);
    page.ethereum = { request: injected };
    const announce = () => {
      const ev = new Event('eip6963:announceProvider');
      Object.assign(ev, { detail: { info: { name: 'Stand-in' }, provider: { request: announced } } });
      page.dispatchEvent(ev);
    };
    page.addEventListener('eip6963:requestProvider', announce);
    try {
      server.mockImplementationOnce(async () => new Response('pay', { status: 402, headers: x402Header }));
      bridge = (q) =>
        q.kind === 'query' ? { pay: { ...eth, request: { method: 'eth_requestAccounts', params: [] } } } : {};
      expect((await pageFetch()).status).toBe(402);
      expect(announced).toHaveBeenCalledTimes(1);
      expect(injected).not.toHaveBeenCalled();
      expect(payResults()).toEqual([{ ...eth, answer: ['0xdef'] }]);
    } finally {
      page.removeEventListener('eip6963:requestProvider', announce);
    }
  });

  it('hands the bridge a 402 body without payment headers; only x402 v1 ones reach the worker', async () => {
    const v1 = JSON.stringify({ x402Version: 1, accepts: [] });
    server
      .mockImplementationOnce(async () => new Response(v1, { status: 402 }))
      .mockImplementationOnce(async () => new Response('{"error":"pay"}', { status: 402 }));
    bridge = () => ({});
    expect((await pageFetch()).status).toBe(402);
    const first = await challengeInput((await postedOf('query')).payload);
    expect(first?.body).toBe(v1);
    // A 402 with neither a payment header nor x402 in its body is no challenge: the bridge asks
    // the worker nothing, and the page gets its 402 as it came.
    posted.length = 0;
    const res = await pageFetch();
    expect(res.status).toBe(402);
    expect(await res.text()).toBe('{"error":"pay"}');
    expect(await challengeInput((await postedOf('query')).payload)).toBeUndefined();
  });

  it('the bridge tells a payment challenge from any other 402 by its headers', async () => {
    const input = (headers: [string, string][]) =>
      challengeInput({ url: 'https://shop.example/a', method: 'GET', status: 402, headers });
    expect(await input([['WWW-Authenticate', 'Basic realm="x"']])).toBeUndefined();
    expect(await input([['Content-Type', 'text/html']])).toBeUndefined();
    expect(
      (await input([['www-authenticate', 'Basic realm="x", L402 macaroon="m", invoice="i"']]))?.headers,
    ).toHaveLength(1);
    expect((await input([['Payment-Required', 'e30=']]))?.headers).toEqual([['Payment-Required', 'e30=']]);
    // A body with x402 in it counts only without payment headers; other headers never go on.
    const body = new TextEncoder().encode('{"x402Version":1}').buffer;
    const mixed = await challengeInput({
      url: 'https://shop.example/a',
      method: 'GET',
      status: 402,
      headers: [
        ['payment-required', 'e30='],
        ['set-cookie', 'a=b'],
      ],
      body,
    });
    expect(mixed).toMatchObject({ headers: [['payment-required', 'e30=']] });
    // A page's query cannot pass itself off as the tab's page load: only the bridge reports those.
    const claimed = { url: 'https://shop.example/', method: 'GET', status: 402 as const, navigation: true };
    expect(await challengeInput({ ...claimed, headers: [['payment-required', 'e30=']] })).not.toHaveProperty(
      'navigation',
    );
    expect(mixed?.body).toBeUndefined();
  });
});
