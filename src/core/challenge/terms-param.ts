/**
 * What the `paybound` auth-param's readers share: decoding it (base64url JSON object), and the
 * rule for URLs it names that the wallet itself will call (the review endpoint, a plan's
 * `subscribe` URL): only places the paying page could have sent the same request to.
 */

import { base64urlnopad } from '@scure/base';
import { isLoopbackHost, isPrivateHost, sameSite } from '../site/site';
import { stripPadding } from '../text/base64';

const textDecoder = new TextDecoder();

export type DecodedTerms = { ok: true; value: Record<string, unknown> } | { ok: false; why: string };

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The param → its JSON object, or why it is not one. The version is the caller's to check. */
export function decodeTermsParam(raw: string): DecodedTerms {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(base64urlnopad.decode(stripPadding(raw))));
  } catch {
    return { ok: false, why: 'not base64url JSON' };
  }
  if (!isObject(parsed)) return { ok: false, why: 'not a JSON object' };
  return { ok: true, value: parsed };
}

/**
 * Why the wallet may not call `url` for a charge of `requestUrl` asked by `pageOrigin`, or
 * undefined when it may: https (http only on loopback), the same origin as the charged request,
 * the same site as the page, no user name or password, and no private-network address unless
 * the charged request itself went to one. `what` names the URL in the reason ("the refund URL").
 */
export function appUrlProblem(
  url: string,
  requestUrl: string,
  pageOrigin: string,
  what: string,
): string | undefined {
  let target: URL;
  let request: URL;
  try {
    target = new URL(url);
    request = new URL(requestUrl);
  } catch {
    return `${what} is not a URL`;
  }
  const host = target.hostname;
  if (target.protocol !== 'https:' && !(target.protocol === 'http:' && isLoopbackHost(host)))
    return `${what} must use https`;
  if (target.username || target.password) return `${what} must not carry a user name or password`;
  // The wallet sends proof of payment there: only the site that was paid may have it.
  if (target.origin !== request.origin) return `${what} is on another site than the charge`;
  if (!sameSite(target.href, pageOrigin)) return `${what} is on another site than the page that paid`;
  if (isPrivateHost(host) && !isPrivateHost(request.hostname)) return `${what} is a private network address`;
  return undefined;
}
