// A small in-memory Nostr relay (NIP-01) for the NWC stand-in: enough for a wallet service and its
// clients to talk over localhost. Events are verified; ephemeral ones are only passed on, never
// stored, so a restarted wallet service cannot replay old requests.
import type { AddressInfo } from 'node:net';
import { type Event, type Filter, matchFilters, verifyEvent } from 'nostr-tools';
import { isAddressableKind, isEphemeralKind, isReplaceableKind } from 'nostr-tools/kinds';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

export interface RelayOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Stored (non-ephemeral) events kept at most; the oldest go first. Default 10,000. */
  maxEvents?: number;
}

export interface Relay {
  /** ws://host:port */
  url: string;
  close(): Promise<void>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_SUB_ID = 64;
const MAX_FILTERS = 20;
const MAX_FRAME_BYTES = 512 * 1024;

type Subs = Map<string, Filter[]>;

export async function startRelay(opts: RelayOptions = {}): Promise<Relay> {
  const host = opts.host ?? '127.0.0.1';
  const maxEvents = opts.maxEvents ?? 10_000;
  const wss = new WebSocketServer({ port: opts.port ?? 0, host, maxPayload: MAX_FRAME_BYTES });
  await new Promise<void>((resolve, reject) => {
    wss.once('error', reject);
    wss.once('listening', () => {
      wss.off('error', reject);
      resolve();
    });
  });

  // Insertion order is arrival order; replaced events are deleted and re-added at the end.
  const stored = new Map<string, Event>();
  const subscriptions = new Map<WebSocket, Subs>();

  const send = (socket: WebSocket, frame: unknown[]) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
  };
  const notice = (socket: WebSocket, message: string) => send(socket, ['NOTICE', message]);

  // The stored event an incoming replaceable or addressable one would replace, if any.
  const replaceKey = (e: Event): string | undefined => {
    if (isReplaceableKind(e.kind)) return `${e.kind}:${e.pubkey}`;
    if (isAddressableKind(e.kind))
      return `${e.kind}:${e.pubkey}:${e.tags.find((t) => t[0] === 'd')?.[1] ?? ''}`;
    return undefined;
  };
  const byReplaceKey = new Map<string, string>(); // replace key → stored event id

  const store = (e: Event): 'stored' | 'older' => {
    const key = replaceKey(e);
    if (key !== undefined) {
      const oldId = byReplaceKey.get(key);
      const old = oldId === undefined ? undefined : stored.get(oldId);
      // NIP-01: the newest wins; on a tie, the lowest id.
      if (old && (old.created_at > e.created_at || (old.created_at === e.created_at && old.id < e.id))) {
        return 'older';
      }
      if (oldId !== undefined) stored.delete(oldId);
      byReplaceKey.set(key, e.id);
    }
    stored.set(e.id, e);
    while (stored.size > maxEvents) {
      const oldest = stored.keys().next().value;
      if (oldest === undefined) break;
      const dropped = stored.get(oldest);
      stored.delete(oldest);
      const k = dropped && replaceKey(dropped);
      if (k !== undefined && byReplaceKey.get(k) === oldest) byReplaceKey.delete(k);
    }
    return 'stored';
  };

  const onEvent = (socket: WebSocket, raw: unknown) => {
    const id = isRecord(raw) && typeof raw.id === 'string' && HEX64.test(raw.id) ? raw.id : undefined;
    if (id === undefined) return notice(socket, 'invalid: EVENT needs an event with a hex id');
    // verifyEvent checks the shape, the id (hash) and the signature, and never throws.
    if (!verifyEvent(raw as Event)) return send(socket, ['OK', id, false, 'invalid: bad id or signature']);
    const event = raw as Event;
    if (stored.has(id)) return send(socket, ['OK', id, true, 'duplicate: already have this event']);
    if (!isEphemeralKind(event.kind) && store(event) === 'older') {
      return send(socket, ['OK', id, true, 'duplicate: have a newer event']);
    }
    send(socket, ['OK', id, true, '']);
    for (const [peer, subs] of subscriptions) {
      for (const [subId, filters] of subs) {
        if (matchFilters(filters, event)) send(peer, ['EVENT', subId, event]);
      }
    }
  };

  const onReq = (socket: WebSocket, subs: Subs, subId: unknown, rawFilters: unknown[]) => {
    if (typeof subId !== 'string' || subId.length === 0 || subId.length > MAX_SUB_ID) {
      return notice(socket, 'invalid: REQ needs a subscription id of 1-64 characters');
    }
    const filters = rawFilters.map(parseFilter);
    if (filters.length === 0 || filters.length > MAX_FILTERS || filters.some((f) => f === undefined)) {
      return send(socket, ['CLOSED', subId, 'invalid: malformed filters']);
    }
    const valid = filters as Filter[];
    subs.set(subId, valid);
    // Stored matches, newest first, each filter's limit applying to its own matches.
    const newestFirst = [...stored.values()].reverse().sort((a, b) => b.created_at - a.created_at);
    const out = new Map<string, Event>();
    for (const filter of valid) {
      let n = 0;
      for (const e of newestFirst) {
        if (filter.limit !== undefined && n >= filter.limit) break;
        if (!matchFilters([filter], e)) continue;
        n += 1;
        out.set(e.id, e);
      }
    }
    for (const e of out.values()) send(socket, ['EVENT', subId, e]);
    send(socket, ['EOSE', subId]);
  };

  wss.on('connection', (socket) => {
    const subs: Subs = new Map();
    subscriptions.set(socket, subs);
    socket.on('close', () => subscriptions.delete(socket));
    socket.on('error', () => subscriptions.delete(socket));
    socket.on('message', (data: RawData, isBinary: boolean) => {
      // Nothing a client sends may bring the relay down.
      try {
        if (isBinary) return notice(socket, 'invalid: binary frames are not supported');
        let frame: unknown;
        try {
          frame = JSON.parse(rawText(data));
        } catch {
          return notice(socket, 'invalid: not JSON');
        }
        if (!Array.isArray(frame) || typeof frame[0] !== 'string') {
          return notice(socket, 'invalid: a frame is a JSON array starting with a verb');
        }
        const [verb, ...args] = frame as [string, ...unknown[]];
        switch (verb) {
          case 'EVENT':
            return onEvent(socket, args[0]);
          case 'REQ':
            return onReq(socket, subs, args[0], args.slice(1));
          case 'CLOSE':
            if (typeof args[0] !== 'string') return notice(socket, 'invalid: CLOSE needs a subscription id');
            subs.delete(args[0]);
            return;
          default:
            return notice(socket, `unsupported: ${verb.slice(0, 20)}`);
        }
      } catch (e) {
        notice(socket, `error: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  });

  const address = wss.address() as AddressInfo;
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const socket of wss.clients) socket.terminate();
      wss.close(() => resolve());
    });
    return closing;
  };
  return { url, close };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');
const isIntArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** A NIP-01 filter, or undefined when malformed (matchFilters would throw on some). */
function parseFilter(raw: unknown): Filter | undefined {
  if (!isRecord(raw)) return undefined;
  const filter: Filter = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'ids' || key === 'authors') {
      if (!isStringArray(value)) return undefined;
      filter[key] = value;
    } else if (key === 'kinds') {
      if (!isIntArray(value)) return undefined;
      filter.kinds = value;
    } else if (key === 'since' || key === 'until' || key === 'limit') {
      if (!isCount(value)) return undefined;
      filter[key] = value;
    } else if (/^#[a-zA-Z]$/.test(key)) {
      if (!isStringArray(value)) return undefined;
      filter[key as `#${string}`] = value;
    }
    // Anything else (search, …) is not supported and ignored.
  }
  return filter;
}
