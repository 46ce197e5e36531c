/**
 * What a "site" is for Paybound: the registrable domain (eTLD+1) of an origin, from the Public
 * Suffix List (tldts, private section included, so `alice.github.io` and `bob.github.io` are two
 * sites). Budgets, site rules, consent, the runaway guard and token scopes all count by it, so
 * subdomains of one site share one allowance and cannot multiply it.
 *
 * IP addresses and single-label hosts (`localhost`) are each their own site. Hosts are in their
 * ASCII form (punycode), as the browser's URL parser gives them.
 */
import { getDomain, parse } from 'tldts';

/** The host of an origin or URL, lower case, ASCII (punycode), without brackets or port. */
export function hostOf(originOrUrl: string): string | undefined {
  try {
    const u = new URL(originOrUrl);
    if (!u.hostname) return undefined;
    return u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return undefined;
  }
}

/** The site of a host: its registrable domain, or the host itself for IPs and bare names. */
export function siteOfHost(host: string): string {
  const h = host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  const info = parse(h, { allowPrivateDomains: true });
  if (info.isIp) return h;
  const domain = getDomain(h, { allowPrivateDomains: true });
  // A public suffix itself (`github.io`, `co.uk`) or a bare name has no registrable domain.
  return domain ?? h;
}

/** The site of an origin or URL; undefined when it is not a URL with a host. */
export function siteOf(originOrUrl: string): string | undefined {
  const host = hostOf(originOrUrl);
  return host === undefined ? undefined : siteOfHost(host);
}

/** True when two origins or URLs belong to the same site. */
export function sameSite(a: string, b: string): boolean {
  const sa = siteOf(a);
  return sa !== undefined && sa === siteOf(b);
}

/** A site written with international characters (an IDN: some label starts `xn--`). */
export function isInternationalName(site: string): boolean {
  return site.split('.').some((label) => label.startsWith('xn--'));
}

/** IPv4 literal → its four octets, or undefined. */
function ipv4(host: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

/** Loopback: `localhost` (and its subdomains), 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  const v4 = ipv4(h);
  return v4 !== undefined && v4[0] === 127;
}

/**
 * A private-network or local address written as a literal: loopback, RFC 1918, link-local,
 * carrier-grade NAT, unique-local and link-local IPv6, 0.0.0.0. A name that merely resolves to
 * such an address cannot be told from here (no DNS in an extension); the same-site rule covers it.
 */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopbackHost(h)) return true;
  const v4 = ipv4(h);
  if (v4) {
    const [a = 0, b = 0] = v4;
    return (
      a === 0 ||
      a === 10 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (h.includes(':')) {
    // IPv4-mapped IPv6 (::ffff:a.b.c.d or its hex form) is judged by the IPv4 inside.
    const mapped = /^::ffff:(.+)$/.exec(h);
    if (mapped?.[1]) {
      if (ipv4(mapped[1])) return isPrivateHost(mapped[1]);
      const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(mapped[1]);
      if (hex?.[1] && hex[2]) {
        const hi = Number.parseInt(hex[1], 16);
        const lo = Number.parseInt(hex[2], 16);
        return isPrivateHost(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
      }
    }
    return h === '::' || /^f[cd][0-9a-f]{2}:/.test(h) || /^fe[89ab][0-9a-f]:/.test(h);
  }
  return false;
}
