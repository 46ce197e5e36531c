/**
 * A Nostr Wallet Connect (NIP-47) client on nostr-tools' own modules: one relay connection, the
 * wallet's info event read once for its encryption, then one request event per call and the
 * wallet's signed reply to it. It shares the worker's @noble curves and hashes; a pre-built NWC
 * sdk carries copies of its own (docs/design.md, "What the worker weighs").
 *
 * Every failure says what the user's money may have done: `unreachable` and `not_on_relay` are
 * raised before a request left, `unclear` after one may have reached the wallet, `wallet` is the
 * wallet's own answer.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import * as nip04 from 'nostr-tools/nip04';
import * as nip44 from 'nostr-tools/nip44';
import { type Event, finalizeEvent } from 'nostr-tools/pure';
import { Relay } from 'nostr-tools/relay';

const INFO_KIND = 13194;
const REQUEST_KIND = 23194;
const RESPONSE_KIND = 23195;
const CONNECT_TIMEOUT_MS = 5_000;

export type NwcFailure = 'unreachable' | 'not_on_relay' | 'unclear' | 'wallet';

export class NwcError extends Error {
  constructor(
    readonly failure: NwcFailure,
    message: string,
    /** The wallet's NIP-47 error code, for `wallet`. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface NwcConnection {
  walletPubkey: string;
  relayUrl: string;
  secret: Uint8Array;
}

/**
 * The parts of a connection string the caller has already checked (`isNwcUri`). Only the first
 * relay is used: wallets that name several publish to each of them.
 */
export function parseNwcUri(uri: string): NwcConnection {
  const m = /^nostr\+walletconnect:\/\/([0-9a-f]{64})\?(.+)$/i.exec(uri);
  const params = new URLSearchParams(m?.[2] ?? '');
  const relayUrl = params.get('relay');
  const secret = params.get('secret');
  if (!m?.[1] || !relayUrl || !secret) throw new Error('invalid NWC connection string');
  return { walletPubkey: m[1].toLowerCase(), relayUrl, secret: hexToBytes(secret.toLowerCase()) };
}

type Cipher = { encrypt(text: string): string; decrypt(payload: string): string; tag?: string };

export class NwcClient {
  private relay: Relay | undefined;
  private connecting: Promise<Relay> | undefined;
  private cipher: Promise<Cipher> | undefined;

  constructor(private readonly conn: NwcConnection) {}

  /**
   * Sends one request and waits for the wallet's reply, at most `timeoutMs`. After the deadline
   * the connection is closed, so that a dead one without a close does not hold the next call.
   */
  async request(
    method: string,
    params: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stop = () => {};
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stop();
        this.close();
        reject(new NwcError('unclear', 'the wallet did not answer in time'));
      }, timeoutMs);
    });
    const work = this.send(method, params, (s) => {
      stop = s;
    });
    work.catch(() => {}); // settled after the deadline: nobody is waiting for it
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    const relay = this.relay;
    this.relay = undefined;
    this.connecting = undefined;
    relay?.close();
  }

  private async send(
    method: string,
    params: Record<string, unknown>,
    onStop: (stop: () => void) => void,
  ): Promise<Record<string, unknown>> {
    const relay = await this.connected();
    const cipher = await this.cipherFor(relay);
    // It may have closed while the info event was read; nothing has been sent yet.
    if (!relay.connected) throw new NwcError('unreachable', 'the relay is not connected');
    const tags = [['p', this.conn.walletPubkey]];
    if (cipher.tag) tags.push(['encryption', cipher.tag]);
    const request = finalizeEvent(
      {
        kind: REQUEST_KIND,
        created_at: Math.floor(Date.now() / 1000),
        tags,
        content: cipher.encrypt(JSON.stringify({ method, params })),
      },
      this.conn.secret,
    );
    return new Promise((resolve, reject) => {
      let answered = false;
      // The relay checks nothing for us: the filter and the signature check (nostr-tools' own,
      // on every event) make the reply the wallet's, and only the wallet can encrypt to our key.
      const sub = relay.subscribe(
        [{ kinds: [RESPONSE_KIND], authors: [this.conn.walletPubkey], '#e': [request.id] }],
        {
          onevent: (reply: Event) => {
            if (answered) return;
            answered = true;
            sub.close();
            let plain: string;
            try {
              plain = cipher.decrypt(reply.content);
            } catch {
              // Signed by the wallet but not for us to read: what it did is unknown.
              return reject(new NwcError('unclear', 'the wallet’s answer could not be read'));
            }
            try {
              resolve(readReply(plain, method));
            } catch (e) {
              reject(e);
            }
          },
          onclose: (reason: string) => {
            if (!answered) reject(new NwcError('unclear', `the relay closed the request: ${reason}`));
          },
        },
      );
      onStop(() => {
        answered = true;
        sub.close();
      });
      relay.publish(request).catch((e: unknown) => {
        if (answered) return;
        answered = true;
        sub.close();
        // Refused before anything was written to the socket: nothing reached the wallet.
        if (!relay.connected) reject(new NwcError('unreachable', 'the relay is not connected'));
        else reject(new NwcError('unclear', `the relay did not take the request: ${String(e)}`));
      });
    });
  }

  private connected(): Promise<Relay> {
    if (this.relay?.connected) return Promise.resolve(this.relay);
    if (this.connecting) return this.connecting;
    this.relay?.close(); // a connection that dropped: its subscriptions are gone with it
    this.relay = undefined;
    const relay = new Relay(this.conn.relayUrl);
    const connecting = relay.connect({ timeout: CONNECT_TIMEOUT_MS }).then(
      () => {
        this.relay = relay;
        return relay;
      },
      () => {
        relay.close();
        throw new NwcError('unreachable', 'failed to connect to the relay');
      },
    );
    this.connecting = connecting;
    const settled = () => {
      if (this.connecting === connecting) this.connecting = undefined;
    };
    connecting.then(settled, settled);
    return connecting;
  }

  /** The wallet's info event, read once per client: NIP-44 when the wallet offers it, else NIP-04. */
  private cipherFor(relay: Relay): Promise<Cipher> {
    this.cipher ??= readEncryption(relay, this.conn.walletPubkey).then((offered) => {
      const { secret, walletPubkey } = this.conn;
      if (offered.includes('nip44_v2')) {
        const key = nip44.getConversationKey(secret, walletPubkey);
        return {
          tag: 'nip44_v2',
          encrypt: (text) => nip44.encrypt(text, key),
          decrypt: (payload) => nip44.decrypt(payload, key),
        };
      }
      if (offered.includes('nip04')) {
        return {
          encrypt: (text) => nip04.encrypt(secret, walletPubkey, text),
          decrypt: (payload) => nip04.decrypt(secret, walletPubkey, payload),
        };
      }
      throw new NwcError('wallet', `the wallet offers no known encryption (${offered.join(' ')})`);
    });
    this.cipher.catch(() => {
      this.cipher = undefined;
    });
    return this.cipher;
  }
}

function readEncryption(relay: Relay, walletPubkey: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let info: Event | undefined;
    let done = false;
    const sub = relay.subscribe([{ kinds: [INFO_KIND], authors: [walletPubkey], limit: 1 }], {
      onevent: (event: Event) => {
        if (!info || event.created_at > info.created_at) info = event;
      },
      oneose: () => {
        done = true;
        sub.close();
        if (!info) return reject(new NwcError('not_on_relay', 'no info event of the wallet on its relay'));
        const tag = info.tags.find((t) => t[0] === 'encryption');
        // A wallet that names no encryption speaks NIP-04 only (NIP-47).
        resolve(tag?.[1] ? tag[1].split(' ') : ['nip04']);
      },
      onclose: (reason: string) => {
        if (!done) reject(new NwcError('unreachable', `the relay closed: ${reason}`));
      },
    });
  });
}

/** The decrypted reply: its result, or the wallet's error as an `NwcError`. */
function readReply(plain: string, method: string): Record<string, unknown> {
  let reply: unknown;
  try {
    reply = JSON.parse(plain);
  } catch {
    throw new NwcError('unclear', 'the wallet’s answer could not be read');
  }
  if (typeof reply !== 'object' || reply === null)
    throw new NwcError('unclear', 'the wallet’s answer is empty');
  const { error, result, result_type: type } = reply as Record<string, unknown>;
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as Record<string, unknown>;
    throw new NwcError(
      'wallet',
      typeof message === 'string' ? message : 'unknown error',
      String(code ?? 'OTHER'),
    );
  }
  if (type !== undefined && type !== method)
    throw new NwcError('unclear', 'the wallet answered another request');
  if (typeof result !== 'object' || result === null)
    throw new NwcError('unclear', 'the wallet’s answer has no result');
  return result as Record<string, unknown>;
}
