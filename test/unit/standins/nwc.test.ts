import { NWCClient } from '@getalby/sdk/nwc';
import { hexToBytes } from '@noble/hashes/utils.js';
import { type Event, finalizeEvent, generateSecretKey, getPublicKey, nip44 } from 'nostr-tools';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { nwcProvisionFor, startStack } from '../../../server/dev/stack';
import { type LightningStandin, startLightningStandin } from '../../../server/standins/lightning/index';
import { type Relay, startRelay } from '../../../server/standins/nwc/relay';
import { type NwcWalletService, startNwcWalletService } from '../../../server/standins/nwc/wallet-service';
import { closeNwcClients, NwcRail } from '../../../src/background/services/rails/nwc';
import { RailError, type RailErrorCode } from '../../../src/background/services/rails/types';
import { parseProvision } from '../../../src/core/config/provisioning';
import { decodeInvoice, verifyPreimage } from '../../../src/core/lightning/bolt11';

// Node 20 has no global WebSocket; nostr-tools' relay (the rail's and the sdk's) looks it up when it connects.
if (typeof globalThis.WebSocket === 'undefined') Object.assign(globalThis, { WebSocket });

/** A raw NIP-01 client: frames in arrival order, awaited one by one. */
async function rawClient(url: string) {
  const socket = new WebSocket(url);
  const frames: unknown[][] = [];
  const waiters: ((f: unknown[]) => void)[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as unknown[];
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    send: (frame: unknown) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: (): Promise<unknown[]> => {
      const frame = frames.shift();
      return frame ? Promise.resolve(frame) : new Promise((resolve) => waiters.push(resolve));
    },
    /** Frames of one subscription up to its EOSE. */
    async stored(subId: string): Promise<Event[]> {
      const out: Event[] = [];
      for (;;) {
        const f = await this.next();
        if (f[0] === 'EOSE' && f[1] === subId) return out;
        if (f[0] === 'EVENT' && f[1] === subId) out.push(f[2] as Event);
      }
    },
    close: () => socket.close(),
  };
}

const sign = (sk: Uint8Array, kind: number, extra: { created_at?: number; content?: string } = {}) =>
  finalizeEvent(
    {
      kind,
      tags: [],
      content: extra.content ?? '',
      created_at: extra.created_at ?? Math.floor(Date.now() / 1000),
    },
    sk,
  );

describe('NIP-01 relay stand-in', () => {
  let relay: Relay;
  beforeAll(async () => {
    relay = await startRelay({ port: 0 });
  });
  afterAll(() => relay.close());

  it('answers malformed frames with a NOTICE (or CLOSED) and keeps serving', async () => {
    const c = await rawClient(relay.url);
    c.send('not json');
    expect(await c.next()).toEqual(['NOTICE', expect.stringMatching(/^invalid/)]);
    c.send({ EVENT: 1 });
    expect((await c.next())[0]).toBe('NOTICE');
    c.send([]);
    expect((await c.next())[0]).toBe('NOTICE');
    c.send(['EVENT', 'nope']);
    expect((await c.next())[0]).toBe('NOTICE');
    c.send(['REQ', 42, {}]);
    expect((await c.next())[0]).toBe('NOTICE');
    c.send(['REQ', 'bad', { kinds: 'x' }]);
    expect(await c.next()).toEqual(['CLOSED', 'bad', expect.stringMatching(/^invalid/)]);
    c.send(['HELLO']);
    expect(await c.next()).toEqual(['NOTICE', 'unsupported: HELLO']);
    const forged = { ...sign(generateSecretKey(), 1), content: 'changed' };
    c.send(['EVENT', forged]);
    expect(await c.next()).toEqual(['OK', forged.id, false, expect.stringMatching(/^invalid/)]);
    // Still alive.
    c.send(['REQ', 'ok', { kinds: [1], limit: 0 }]);
    expect(await c.stored('ok')).toEqual([]);
    c.close();
  });

  it('passes ephemeral events to live subscribers but never stores them', async () => {
    const sk = generateSecretKey();
    const listener = await rawClient(relay.url);
    listener.send(['REQ', 'live', { kinds: [23194], authors: [getPublicKey(sk)] }]);
    expect(await listener.stored('live')).toEqual([]);

    const sender = await rawClient(relay.url);
    const ephemeral = sign(sk, 23194, { content: 'pay me' });
    sender.send(['EVENT', ephemeral]);
    expect(await sender.next()).toEqual(['OK', ephemeral.id, true, '']);
    expect(await listener.next()).toEqual(['EVENT', 'live', JSON.parse(JSON.stringify(ephemeral))]);

    const regular = sign(sk, 1, { content: 'hello' });
    sender.send(['EVENT', regular]);
    expect(await sender.next()).toEqual(['OK', regular.id, true, '']);

    const late = await rawClient(relay.url);
    late.send(['REQ', 'past', { authors: [getPublicKey(sk)] }]);
    expect((await late.stored('past')).map((e) => e.id)).toEqual([regular.id]);
    for (const c of [listener, sender, late]) c.close();
  });

  it('keeps only the newest replaceable event per author and kind, and honours CLOSE', async () => {
    const sk = generateSecretKey();
    const c = await rawClient(relay.url);
    const older = sign(sk, 13194, { created_at: 1_700_000_000, content: 'get_info' });
    const newer = sign(sk, 13194, { created_at: 1_700_000_100, content: 'get_info pay_invoice' });
    for (const e of [newer, older]) {
      c.send(['EVENT', e]);
      expect(await c.next()).toEqual(['OK', e.id, true, expect.any(String)]);
    }
    c.send(['REQ', 'info', { kinds: [13194], authors: [getPublicKey(sk)] }]);
    expect((await c.stored('info')).map((e) => e.id)).toEqual([newer.id]);

    // After CLOSE nothing more arrives for that subscription: the next frame is the OK.
    c.send(['CLOSE', 'info']);
    const newest = sign(sk, 13194, { created_at: 1_700_000_200 });
    c.send(['EVENT', newest]);
    expect(await c.next()).toEqual(['OK', newest.id, true, '']);
    c.close();
  });
});

describe('NWC rail over the stand-in wallet service', () => {
  let lightning: LightningStandin;
  let relay: Relay;
  let service: NwcWalletService;
  let rail: NwcRail;

  const node = () => lightning.node;
  const user = () => lightning.wallets.user!;
  const app = () => lightning.wallets.app!;
  const balances = () => ({
    user: node().wallet(user().id)!.balanceMsat,
    app: node().wallet(app().id)!.balanceMsat,
  });
  const railFor = (id: string, uri: string, options = {}) =>
    new NwcRail(
      { id, label: 'test', network: 'regtest', createdAt: 0, kind: 'nwc', config: { uri } },
      options,
    );
  const railError = async (work: Promise<unknown>): Promise<RailErrorCode> => {
    const e = await work.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(RailError);
    return (e as RailError).code;
  };

  beforeAll(async () => {
    lightning = await startLightningStandin({ port: 0 });
    relay = await startRelay({ port: 0 });
    service = await startNwcWalletService({ relayUrl: relay.url, node: node(), walletId: user().id });
    rail = railFor('nwc-test', service.connectionUri);
  });
  afterEach(() => node().clearFailures());
  afterAll(async () => {
    closeNwcClients();
    await service.close();
    await relay.close();
    await lightning.close();
  });

  it('gives a connection string with the wallet key, the relay and a secret', () => {
    const parsed = NWCClient.parseWalletConnectUrl(service.connectionUri);
    expect(parsed).toMatchObject({ walletPubkey: service.walletPubkey, relayUrls: [relay.url] });
    expect(parsed.secret).toMatch(/^[0-9a-f]{64}$/);
  });

  it('pays an invoice: the preimage hashes to the payment hash and exactly the amount moves', async () => {
    const invoice = node().createInvoice(app().id, { amountMsat: 21_000n, memo: 'nwc' });
    const before = balances();
    const { preimage } = await rail.sendPayment(invoice.bolt11);
    expect(verifyPreimage(preimage, invoice.paymentHash)).toBe(true);
    expect(balances()).toEqual({ user: before.user - 21_000n, app: before.app + 21_000n });

    expect(await rail.lookup(invoice.paymentHash)).toEqual({ status: 'paid', preimage });
    expect(await rail.lookup(invoice.paymentHash.toUpperCase())).toEqual({ status: 'paid', preimage });
    expect(await rail.lookup('ab'.repeat(32))).toEqual({ status: 'not_found' });
  });

  it('refuses for want of funds without moving anything', async () => {
    const tooBig = node().createInvoice(app().id, { amountMsat: 5_000_000_000n });
    const before = balances();
    expect(await railError(rail.sendPayment(tooBig.bolt11))).toBe('insufficient_balance');
    node().injectFailure(user().id, { mode: 'insufficient_balance' });
    const small = node().createInvoice(app().id, { amountMsat: 1_000n });
    expect(await railError(rail.sendPayment(small.bolt11))).toBe('insufficient_balance');
    expect(balances()).toEqual(before);
    expect(await rail.lookup(tooBig.paymentHash)).toEqual({ status: 'not_found' });
  });

  it('reports an injected route failure as a definite failure, and the lookup agrees', async () => {
    node().injectFailure(user().id, { mode: 'route_failure' });
    const invoice = node().createInvoice(app().id, { amountMsat: 2_000n });
    const before = balances();
    expect(await railError(rail.sendPayment(invoice.bolt11))).toBe('route_failure');
    expect(balances()).toEqual(before);
    expect(await rail.lookup(invoice.paymentHash)).toEqual({ status: 'failed' });
    // The same invoice still pays afterwards, and the success outranks the failed attempt.
    const { preimage } = await rail.sendPayment(invoice.bolt11);
    expect(await rail.lookup(invoice.paymentHash)).toEqual({ status: 'paid', preimage });
  });

  it('passes a lying wallet’s preimage through untouched: the caller checks it', async () => {
    node().injectFailure(user().id, { mode: 'wrong_preimage' });
    const invoice = node().createInvoice(app().id, { amountMsat: 3_000n });
    const { preimage } = await rail.sendPayment(invoice.bolt11);
    expect(preimage).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyPreimage(preimage, invoice.paymentHash)).toBe(false);
  });

  it('gives up after its own deadline with an unknown outcome, which a lookup settles later', async () => {
    node().injectFailure(user().id, { mode: 'timeout', delayMs: 60_000 });
    const slow = railFor('nwc-slow', service.connectionUri, { payTimeoutMs: 300 });
    const invoice = node().createInvoice(app().id, { amountMsat: 4_000n });
    expect(await railError(slow.sendPayment(invoice.bolt11))).toBe('timeout');
    expect(await slow.lookup(invoice.paymentHash)).toEqual({ status: 'pending' });
    node().shutdown(); // the hanging payment now fails inside the node
    expect(await slow.lookup(invoice.paymentHash)).toEqual({ status: 'failed' });
  });

  it('answers a raw NIP-47 request sent the moment it is started, without reading the info event', async () => {
    // The listener is ready first, so that the request can go out the moment the service resolves.
    const c = await rawClient(relay.url);
    c.send(['REQ', 'replies', { kinds: [23195] }]);
    expect(await c.stored('replies')).toEqual([]);
    const fresh = await startNwcWalletService({ relayUrl: relay.url, node: node(), walletId: user().id });
    try {
      const { walletPubkey, secret } = NWCClient.parseWalletConnectUrl(fresh.connectionUri);
      const clientKey = hexToBytes(secret!);
      const key = nip44.getConversationKey(clientKey, walletPubkey);
      const template = {
        kind: 23194,
        created_at: Math.floor(Date.now() / 1000),
        tags: [
          ['p', walletPubkey],
          ['encryption', 'nip44_v2'],
        ],
        content: nip44.encrypt(JSON.stringify({ method: 'get_balance', params: {} }), key),
      };
      const request = finalizeEvent(template, clientKey);
      c.send(['EVENT', request]);
      expect(await c.next()).toEqual(['OK', request.id, true, '']);
      const [verb, , reply] = await c.next();
      expect(verb).toBe('EVENT');
      expect((reply as Event).tags).toContainEqual(['e', request.id]);
      expect(JSON.parse(nip44.decrypt((reply as Event).content, key))).toEqual({
        result_type: 'get_balance',
        result: { balance: Number(balances().user) },
      });
    } finally {
      c.close();
      await fresh.close();
    }
  });

  it('serves get_info, get_balance and make_invoice to a plain NWC client', async () => {
    const client = new NWCClient({ nostrWalletConnectUrl: service.connectionUri });
    try {
      const info = await client.getInfo();
      expect(info).toMatchObject({ network: 'regtest', pubkey: node().pubkey });
      expect([...info.methods].sort()).toEqual(
        ['get_balance', 'get_info', 'lookup_invoice', 'make_invoice', 'pay_invoice'].sort(),
      );
      expect(client.encryptionType).toBe('nip44_v2');
      expect(await client.getBalance()).toEqual({ balance: Number(balances().user) });
      const made = await client.makeInvoice({ amount: 5_000, description: 'tip' });
      const decoded = decodeInvoice(made.invoice);
      expect(decoded).toMatchObject({ amountMsat: 5_000n, description: 'tip', network: 'regtest' });
      expect(made).toMatchObject({ type: 'incoming', state: 'pending', amount: 5_000 });
    } finally {
      client.close();
    }
  });

  it('reports a relay that is gone as unreachable, quickly, for a new and for a connected client', async () => {
    const relay2 = await startRelay({ port: 0 });
    const service2 = await startNwcWalletService({ relayUrl: relay2.url, node: node(), walletId: user().id });
    const warm = railFor('nwc-warm', service2.connectionUri);
    const first = node().createInvoice(app().id, { amountMsat: 1_000n });
    await warm.sendPayment(first.bolt11);
    await service2.close();
    await relay2.close();

    const invoice = node().createInvoice(app().id, { amountMsat: 1_000n });
    const before = balances();
    let t = performance.now();
    expect(await railError(railFor('nwc-cold', service2.connectionUri).sendPayment(invoice.bolt11))).toBe(
      'unreachable',
    );
    expect(performance.now() - t).toBeLessThan(2_000);

    // A connected client may learn of the close only from its first failed attempt, which cannot
    // tell whether its request got out; from then on the relay is plainly unreachable.
    t = performance.now();
    expect(['unreachable', 'timeout']).toContain(await railError(warm.sendPayment(invoice.bolt11)));
    expect(await railError(warm.sendPayment(invoice.bolt11))).toBe('unreachable');
    expect(await railError(warm.lookup(invoice.paymentHash))).toBe('unreachable');
    expect(performance.now() - t).toBeLessThan(2_000);
    expect(balances()).toEqual(before);
  });

  it('refuses a malformed connection string without echoing it', async () => {
    const bad = railFor(
      'nwc-bad',
      `nostr+walletconnect://${'0'.repeat(10)}?relay=x&secret=${'1'.repeat(64)}`,
    );
    const e = await bad.sendPayment('lnbcrt1').catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'wallet_error' });
    expect((e as Error).message).not.toContain('1'.repeat(64));
  });
});

describe('the local stack', () => {
  it('serves the user wallet over NWC and can provision it as the first rail', async () => {
    const stack = await startStack({ ports: { demo: 0, lnbits: 0, rates: 0, relay: 0 } });
    try {
      expect(stack.info.relay).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      const provision = parseProvision(nwcProvisionFor(stack.info));
      expect(provision.rails.map((r) => r.kind)).toEqual(['nwc', 'lnbits', 'ethereum']);
      const rail = railFor(stack.info.nwcUri);
      const invoice = stack.lightning.node.createInvoice(stack.info.wallets.app.id, { amountMsat: 10_000n });
      const { preimage } = await rail.sendPayment(invoice.bolt11);
      expect(verifyPreimage(preimage, invoice.paymentHash)).toBe(true);
    } finally {
      closeNwcClients();
      await stack.close();
    }
  });

  const railFor = (uri: string) =>
    new NwcRail({
      id: 'nwc-stack',
      label: 'stack',
      network: 'regtest',
      createdAt: 0,
      kind: 'nwc',
      config: { uri },
    });
});
