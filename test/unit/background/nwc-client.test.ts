/**
 * The NWC client against a relay that lies. The relay is scripted here (a bare NIP-01 server on
 * `ws`) so that it can forward what an honest relay never would: replies that are forged, meant for
 * another request, unreadable or for another method. The wallet's key is the test's, so that its
 * genuine replies can be told from the forgeries.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import * as nip04 from 'nostr-tools/nip04';
import * as nip44 from 'nostr-tools/nip44';
import { type Event, finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { closeNwcClients, NwcRail } from '../../../src/background/services/rails/nwc';
import { NwcClient, NwcError, parseNwcUri } from '../../../src/background/services/rails/nwc-client';
import { RailError } from '../../../src/background/services/rails/types';

// nostr-tools' relay uses the global WebSocket, which Node 20 lacks.
if (typeof globalThis.WebSocket === 'undefined') Object.assign(globalThis, { WebSocket });

const PREIMAGE = 'aa'.repeat(32);

interface Script {
  /** The info event's tags; `null` publishes none at all. */
  infoTags?: string[][] | null;
  /** What the relay says to the request event; `close` drops the connection instead. */
  onRequest?: 'ok' | 'refuse' | 'close';
  /** The events the relay forwards on the reply subscription, made from the request. */
  replies?: (request: Event, wallet: Wallet) => Event[];
}

interface Wallet {
  key: Uint8Array;
  pubkey: string;
  clientPubkey: string;
  /** A reply as the wallet would sign it, encrypted the way the request was. */
  reply(request: Event, body: unknown, opts?: { key?: Uint8Array; e?: string; encryptTo?: string }): Event;
  decrypt(request: Event): { method: string; params: Record<string, unknown> };
}

const servers: WebSocketServer[] = [];
afterEach(async () => {
  closeNwcClients();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function lyingRelay(script: Script) {
  const walletKey = generateSecretKey();
  const clientKey = generateSecretKey();
  const wallet: Wallet = {
    key: walletKey,
    pubkey: getPublicKey(walletKey),
    clientPubkey: getPublicKey(clientKey),
    decrypt(request) {
      const nip44Used = request.tags.some((t) => t[0] === 'encryption' && t[1] === 'nip44_v2');
      const plain = nip44Used
        ? nip44.decrypt(request.content, nip44.getConversationKey(walletKey, request.pubkey))
        : nip04.decrypt(walletKey, request.pubkey, request.content);
      return JSON.parse(plain);
    },
    reply(request, body, opts = {}) {
      const to = opts.encryptTo ?? request.pubkey;
      const nip44Used = request.tags.some((t) => t[0] === 'encryption' && t[1] === 'nip44_v2');
      const text = JSON.stringify(body);
      const content = nip44Used
        ? nip44.encrypt(text, nip44.getConversationKey(walletKey, to))
        : nip04.encrypt(walletKey, to, text);
      return finalizeEvent(
        {
          kind: 23195,
          created_at: Math.floor(Date.now() / 1000),
          tags: [
            ['p', request.pubkey],
            ['e', opts.e ?? request.id],
          ],
          content,
        },
        opts.key ?? walletKey,
      );
    },
  };
  const requests: Event[] = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(server);
  server.on('connection', (socket: WebSocket) => {
    let replySub: string | undefined;
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as [string, ...unknown[]];
      const send = (f: unknown[]) => socket.send(JSON.stringify(f));
      if (frame[0] === 'REQ') {
        const [, id, filter] = frame as [string, string, { kinds?: number[] }];
        if (filter.kinds?.includes(13194)) {
          if (script.infoTags !== null) {
            const info = finalizeEvent(
              {
                kind: 13194,
                created_at: Math.floor(Date.now() / 1000),
                tags: script.infoTags ?? [['encryption', 'nip44_v2 nip04']],
                content: 'pay_invoice lookup_invoice get_balance',
              },
              walletKey,
            );
            send(['EVENT', id, info]);
          }
          send(['EOSE', id]);
        } else if (filter.kinds?.includes(23195)) {
          replySub = id;
          send(['EOSE', id]);
        }
      } else if (frame[0] === 'EVENT') {
        const request = frame[1] as Event;
        requests.push(request);
        const on = script.onRequest ?? 'ok';
        if (on === 'close') return socket.terminate();
        send(['OK', request.id, on === 'ok', on === 'ok' ? '' : 'blocked: not today']);
        for (const reply of script.replies?.(request, wallet) ?? []) send(['EVENT', replySub, reply]);
      }
    });
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  const uri = `nostr+walletconnect://${wallet.pubkey}?relay=${encodeURIComponent(`ws://127.0.0.1:${port}`)}&secret=${bytesToHex(clientKey)}`;
  return { uri, wallet, requests, client: () => new NwcClient(parseNwcUri(uri)) };
}

const paid = { result_type: 'pay_invoice', result: { preimage: PREIMAGE } };

async function failure(work: Promise<unknown>): Promise<NwcError> {
  const e = await work.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NwcError);
  return e as NwcError;
}

describe('the NWC client', () => {
  it('takes the wallet’s genuine reply, encrypted with NIP-44 when the wallet offers it', async () => {
    const relay = await lyingRelay({ replies: (req, w) => [w.reply(req, paid)] });
    const client = relay.client();
    try {
      expect(await client.request('pay_invoice', { invoice: 'lnbcrt1' }, 2_000)).toEqual({
        preimage: PREIMAGE,
      });
      const [request] = relay.requests;
      expect(request?.tags).toContainEqual(['encryption', 'nip44_v2']);
      expect(request?.tags).toContainEqual(['p', relay.wallet.pubkey]);
      expect(relay.wallet.decrypt(request!)).toEqual({
        method: 'pay_invoice',
        params: { invoice: 'lnbcrt1' },
      });
    } finally {
      client.close();
    }
  });

  it('speaks NIP-04 to a wallet whose info event names no encryption', async () => {
    const relay = await lyingRelay({ infoTags: [], replies: (req, w) => [w.reply(req, paid)] });
    const client = relay.client();
    try {
      expect(await client.request('pay_invoice', { invoice: 'lnbcrt1' }, 2_000)).toEqual({
        preimage: PREIMAGE,
      });
      expect(relay.requests[0]?.tags.some((t) => t[0] === 'encryption')).toBe(false);
      expect(relay.wallet.decrypt(relay.requests[0]!).method).toBe('pay_invoice');
    } finally {
      client.close();
    }
  });

  it('ignores replies the wallet did not sign, or signed for another request, and gives up unclear', async () => {
    const relay = await lyingRelay({
      replies: (req, w) => {
        const forged = {
          ...w.reply(req, paid),
          content: w.reply(req, { ...paid, result: { preimage: 'bb'.repeat(32) } }).content,
        };
        return [
          forged, // the wallet's key and id, another content: the signature no longer holds
          w.reply(req, paid, { key: generateSecretKey() }), // signed by someone else
          w.reply(req, paid, { e: 'cd'.repeat(32) }), // the wallet's answer to another request
        ];
      },
    });
    const client = relay.client();
    try {
      expect((await failure(client.request('pay_invoice', { invoice: 'lnbcrt1' }, 300))).failure).toBe(
        'unclear',
      );
    } finally {
      client.close();
    }
  });

  it('treats an unreadable reply, or one for another method, as unclear', async () => {
    for (const replies of [
      (req: Event, w: Wallet) => [w.reply(req, paid, { encryptTo: getPublicKey(generateSecretKey()) })],
      (req: Event, w: Wallet) => [w.reply(req, { result_type: 'get_balance', result: { balance: 1 } })],
      (req: Event, w: Wallet) => [w.reply(req, 'not an object')],
    ]) {
      const relay = await lyingRelay({ replies });
      const client = relay.client();
      try {
        expect((await failure(client.request('pay_invoice', { invoice: 'lnbcrt1' }, 2_000))).failure).toBe(
          'unclear',
        );
      } finally {
        client.close();
      }
    }
  });

  it('passes the wallet’s error code on', async () => {
    const relay = await lyingRelay({
      replies: (req, w) => [
        w.reply(req, {
          result_type: 'lookup_invoice',
          error: { code: 'NOT_FOUND', message: 'no such invoice' },
        }),
      ],
    });
    const client = relay.client();
    try {
      const e = await failure(client.request('lookup_invoice', { payment_hash: PREIMAGE }, 2_000));
      expect(e).toMatchObject({ failure: 'wallet', code: 'NOT_FOUND', message: 'no such invoice' });
    } finally {
      client.close();
    }
  });

  it('sends nothing to a wallet that has no info event on the relay, or offers no known encryption', async () => {
    for (const infoTags of [null, [['encryption', 'nip99']]]) {
      const relay = await lyingRelay({ infoTags, replies: (req, w) => [w.reply(req, paid)] });
      const client = relay.client();
      try {
        const e = await failure(client.request('pay_invoice', { invoice: 'lnbcrt1' }, 2_000));
        expect(e.failure).toBe(infoTags === null ? 'not_on_relay' : 'wallet');
        expect(relay.requests).toEqual([]);
      } finally {
        client.close();
      }
    }
  });

  it('counts a request the relay refused or dropped with as unclear: it may have reached the wallet', async () => {
    for (const onRequest of ['refuse', 'close'] as const) {
      const relay = await lyingRelay({ onRequest });
      const client = relay.client();
      try {
        expect((await failure(client.request('pay_invoice', { invoice: 'lnbcrt1' }, 2_000))).failure).toBe(
          'unclear',
        );
        expect(relay.requests).toHaveLength(1);
      } finally {
        client.close();
      }
    }
  });
});

describe('the NWC rail over a lying relay', () => {
  const railFor = (uri: string) =>
    new NwcRail(
      { id: 'nwc-lying', label: 'test', network: 'regtest', createdAt: 0, kind: 'nwc', config: { uri } },
      { payTimeoutMs: 300, lookupTimeoutMs: 300 },
    );

  it('never takes a forged preimage: the outcome stays unknown, for a lookup to settle', async () => {
    const relay = await lyingRelay({
      replies: (req, w) => [w.reply(req, paid, { key: generateSecretKey() })],
    });
    const e = await railFor(relay.uri)
      .sendPayment('lnbcrt1')
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(RailError);
    expect(e).toMatchObject({ code: 'timeout' });
  });

  it('reads a balance that is not a whole number of msat as a wallet error', async () => {
    const relay = await lyingRelay({
      replies: (req, w) => [w.reply(req, { result_type: 'get_balance', result: { balance: 1.5 } })],
    });
    await expect(railFor(relay.uri).balance()).rejects.toMatchObject({ code: 'wallet_error' });
  });
});
