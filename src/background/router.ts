/**
 * The typed message router: validates the envelope and the payload against the message map,
 * checks the sender's audience, then calls the one handler for that message type.
 */
import * as v from 'valibot';
import type { Runtime } from 'webextension-polyfill';
import { english, type Said, SaidError, said } from '../core/text/said';
import {
  EnvelopeSchema,
  type ErrorCode,
  type MessageInput,
  type MessageOutput,
  type MessageType,
  messageSchemas,
  type Reply,
} from '../messages/map';
import { classifySender, type SenderContext } from './sender';
import { mark } from './trace';

export type Handlers = {
  [T in MessageType]: (input: MessageInput<T>, sender: SenderContext) => Promise<MessageOutput<T>>;
};

/** A refusal the handler means: its code for the caller, its words (a Said) for the person. */
export class HandlerError extends Error {
  readonly said: Said;
  constructor(
    readonly code: ErrorCode,
    reason: Said,
  ) {
    super(english(reason));
    this.said = reason;
  }
}

const fail = (code: ErrorCode, message: string, reason?: Said): Reply<never> => ({
  ok: false,
  error: { code, message, ...(reason ? { said: reason } : {}) },
});

export interface RouterOptions {
  id: string;
  origin: string;
  /** What a message of this type waits for before its handler runs (undefined: nothing). */
  before?: (type: MessageType) => Promise<void> | undefined;
}

export function createRouter(handlers: Handlers, self: RouterOptions) {
  return async function route(raw: unknown, rawSender: Runtime.MessageSender): Promise<Reply<unknown>> {
    const envelope = v.safeParse(EnvelopeSchema, raw);
    if (!envelope.success) return fail('bad_message', 'unknown message');
    const type = envelope.output.type;
    mark(`received ${type}`);
    const def = messageSchemas[type];
    const sender = classifySender(rawSender, self.id, self.origin);
    if (!sender) return fail('forbidden', 'unknown sender');
    // Each message has one audience: pages never call ours, and our pages never pose as a page.
    if (def.audience !== sender.audience) {
      return fail('forbidden', `${type} is not accepted from this sender`);
    }
    const payload = v.safeParse(def.input, envelope.output.payload);
    if (!payload.success) return fail('bad_message', `${type}: ${payload.issues[0]?.message ?? 'invalid'}`);
    try {
      const waiting = self.before?.(type);
      if (waiting) await waiting;
      // The map guarantees handler and payload agree; TypeScript cannot follow the union here.
      const handler = handlers[type] as (input: unknown, s: SenderContext) => Promise<unknown>;
      const data = await handler(payload.output, sender);
      mark(`answered ${type}`);
      return { ok: true, data };
    } catch (e) {
      if (e instanceof HandlerError) return fail(e.code, e.message, e.said);
      // Every refusal that says why (a wrong password, a wallet's answer, a review rule) is classed here, once.
      if (e instanceof SaidError) return fail(e.refusal, e.message, e.said);
      console.error(`paybound: ${type} failed`, e);
      return fail('internal', 'internal error', said('errorInternal'));
    }
  };
}
