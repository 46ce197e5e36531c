/** Typed `sendMessage` for extension pages and the bridge. */
import browser from 'webextension-polyfill';
import type { MessageInput, MessageOutput, MessageType, Reply } from './map';

export class MessageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MessageError';
  }
}

export async function send<T extends MessageType>(
  type: T,
  payload: MessageInput<T>,
): Promise<MessageOutput<T>> {
  const reply = (await browser.runtime.sendMessage({ type, payload })) as Reply<MessageOutput<T>> | undefined;
  if (!reply) throw new MessageError('internal', 'the extension did not answer');
  if (!reply.ok) throw new MessageError(reply.error.code, reply.error.message);
  return reply.data;
}
