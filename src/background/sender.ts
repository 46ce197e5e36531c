/**
 * Who sent a message, as the browser reports it. Nothing the message says about its origin counts.
 */
import type { Runtime } from 'webextension-polyfill';
import type { Audience } from '../messages/map';

export interface SenderContext {
  audience: Audience;
  /** The origin of the sending frame, from the browser. */
  origin: string;
  tabId?: number;
  frameId?: number;
  /** The origin of the tab's top-level page, from the browser, when the sender is a sub-frame. */
  topOrigin?: string;
  /** The sending frame's URL, from the browser (pages only). */
  url?: string;
}

/**
 * scheme://host[:port] of a URL. Written out because WHATWG `URL.origin` is "null" for
 * non-special schemes such as chrome-extension: in some engines.
 */
export function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.host ? `${u.protocol}//${u.host}` : undefined;
  } catch {
    return undefined;
  }
}

/** `sender.origin` is Chrome-only; Firefox gives the frame URL. */
function senderOrigin(sender: Runtime.MessageSender): string | undefined {
  const reported = (sender as Runtime.MessageSender & { origin?: string }).origin;
  if (reported && reported !== 'null') return reported;
  return sender.url ? originOf(sender.url) : undefined;
}

/**
 * Classifies a sender. Extension pages (popup, options, approval window) share our origin; content
 * scripts carry the web page's origin and a tab. Anything else (other extensions, unknown) is refused.
 */
export function classifySender(
  sender: Runtime.MessageSender,
  ownId: string,
  ownOrigin: string,
): SenderContext | undefined {
  if (sender.id !== ownId) return undefined;
  const origin = senderOrigin(sender);
  if (!origin) return undefined;
  if (origin === ownOrigin) return { audience: 'extension', origin };
  if (!sender.tab || sender.tab.id === undefined) return undefined;
  if (!/^https?:$/.test(new URL(origin).protocol)) return undefined;
  const top = sender.frameId && sender.tab.url ? originOf(sender.tab.url) : undefined;
  return {
    audience: 'page',
    origin,
    tabId: sender.tab.id,
    frameId: sender.frameId,
    ...(top !== undefined ? { topOrigin: top } : {}),
    ...(sender.url !== undefined ? { url: sender.url } : {}),
  };
}
