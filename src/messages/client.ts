/** Typed `sendMessage` for extension pages and the bridge. */
import browser from 'webextension-polyfill';
import type { Said } from '../core/text/said';
import type { MessageInput, MessageOutput, MessageType, Reply } from './map';

/** The worker's refusal: its code, its English `message`, and `said` for the page to render. */
export class MessageError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly said?: Said,
  ) {
    super(message);
    this.name = 'MessageError';
  }
}

export async function send<T extends MessageType>(
  type: T,
  payload: MessageInput<T>,
): Promise<MessageOutput<T>> {
  return unwrap<T>(await browser.runtime.sendMessage({ type, payload }));
}

/** The data of a worker's reply to a message of type T, or its refusal thrown as a MessageError. */
export function unwrap<T extends MessageType>(raw: unknown): MessageOutput<T> {
  const reply = raw as Reply<MessageOutput<T>> | undefined;
  if (!reply) throw new MessageError('internal', 'the extension did not answer');
  if (!reply.ok) throw new MessageError(reply.error.code, reply.error.message, reply.error.said);
  return reply.data;
}
