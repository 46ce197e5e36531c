/**
 * Browser differences, in one place. Chrome needs `extraHeaders` to show `WWW-Authenticate` to
 * webRequest listeners; Firefox has no such option and rejects it.
 */
import type { WebRequest } from 'webextension-polyfill';

export function headersReceivedOptions(): WebRequest.OnHeadersReceivedOptions[] {
  const chromeWebRequest = (
    globalThis as { chrome?: { webRequest?: { OnHeadersReceivedOptions?: { EXTRA_HEADERS?: string } } } }
  ).chrome?.webRequest;
  const extra = chromeWebRequest?.OnHeadersReceivedOptions?.EXTRA_HEADERS;
  return extra ? ['responseHeaders', extra as WebRequest.OnHeadersReceivedOptions] : ['responseHeaders'];
}
