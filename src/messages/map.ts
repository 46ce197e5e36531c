/**
 * The one message map: every message that crosses a context boundary, its runtime schema, who may
 * send it, and the shape of its answer. The worker validates every incoming message against the
 * schema here before any service sees it; the UI and the bridge share the types.
 */
import * as v from 'valibot';

/** `page`: relayed by the bridge from a web page (untrusted). `extension`: our own pages only. */
export type Audience = 'page' | 'extension';

const HeaderList = v.pipe(
  v.array(v.tuple([v.pipe(v.string(), v.maxLength(256)), v.pipe(v.string(), v.maxLength(32 * 1024))])),
  v.maxLength(200),
);

export const ChallengeSeenInput = v.strictObject({
  url: v.pipe(v.string(), v.url(), v.maxLength(8192)),
  method: v.pipe(v.string(), v.regex(/^[A-Za-z]{1,16}$/)),
  status: v.literal(402),
  headers: HeaderList,
});

export const RecentChallengesInput = v.strictObject({
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(500)), 50),
});

export const messageSchemas = {
  /** The page's request was answered 402 with a challenge the main-world script recognised. */
  'challenge.seen': { audience: 'page', input: ChallengeSeenInput },
  /** The popup's summary: version, rails, counters. */
  'status.get': { audience: 'extension', input: v.strictObject({}) },
  /** The most recent 402 challenges seen, newest first. */
  'challenges.recent': { audience: 'extension', input: RecentChallengesInput },
} as const satisfies Record<string, { audience: Audience; input: v.GenericSchema }>;

export type MessageType = keyof typeof messageSchemas;
export type MessageInput<T extends MessageType> = v.InferOutput<(typeof messageSchemas)[T]['input']>;

/** What the worker tells the page to do with a 402. */
export type ChallengeVerdict =
  | { action: 'pass'; reason: string }
  | { action: 'retry'; authorization: string; reason: string };

export interface ChallengeRecordView {
  id: number;
  origin: string;
  url: string;
  method: string;
  protocols: string[];
  seenAt: number;
  error?: string;
}

export interface StatusView {
  version: string;
  rails: { id: string; kind: string; label: string }[];
  challengesSeen: number;
  currency: string;
}

export interface MessageOutputs {
  'challenge.seen': ChallengeVerdict;
  'status.get': StatusView;
  'challenges.recent': ChallengeRecordView[];
}

export type MessageOutput<T extends MessageType> = MessageOutputs[T];

export interface Envelope<T extends MessageType = MessageType> {
  type: T;
  payload: MessageInput<T>;
}

export type Reply<T> = { ok: true; data: T } | { ok: false; error: { code: ErrorCode; message: string } };

export type ErrorCode = 'bad_message' | 'forbidden' | 'internal' | 'bad_challenge';

export const EnvelopeSchema = v.object({
  type: v.picklist(Object.keys(messageSchemas) as MessageType[]),
  payload: v.unknown(),
});
