/**
 * Browser differences, in one place. Chrome needs `extraHeaders` to show `WWW-Authenticate` to
 * webRequest listeners; Firefox shows every header without it and rejects the option.
 */
import type { WebRequest } from 'webextension-polyfill';

type Target = 'chrome' | 'firefox';

/**
 * The options for `webRequest.onHeadersReceived`. A Firefox build never asks for `extraHeaders`;
 * a Chrome build asks only when the browser names the option (older Chromes lack it).
 */
export function headersReceivedOptions(
  target: Target = __PAYBOUND_TARGET__,
  api: unknown = (globalThis as { chrome?: unknown }).chrome,
): WebRequest.OnHeadersReceivedOptions[] {
  if (target === 'firefox') return ['responseHeaders'];
  const extra = (
    api as { webRequest?: { OnHeadersReceivedOptions?: { EXTRA_HEADERS?: unknown } } } | undefined
  )?.webRequest?.OnHeadersReceivedOptions?.EXTRA_HEADERS;
  return typeof extra === 'string'
    ? ['responseHeaders', extra as WebRequest.OnHeadersReceivedOptions]
    : ['responseHeaders'];
}
