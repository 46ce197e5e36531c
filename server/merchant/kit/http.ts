// Small node:http helpers shared by the paywall and apps built on the kit (no framework).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** CORS for a paid API: any origin may call it and read the challenge; no cookies are involved. */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Paybound-Subscriber',
  'Access-Control-Expose-Headers': 'WWW-Authenticate, Payment-Receipt, Paybound-Usage',
  'Access-Control-Max-Age': '600',
};

export function applyCors(res: ServerResponse): void {
  for (const [name, value] of Object.entries(CORS_HEADERS)) {
    res.setHeader(name, value);
  }
}

/** Answers a CORS preflight. */
export function answerPreflight(res: ServerResponse): void {
  applyCors(res);
  res.writeHead(204).end();
}

// JSON never carries a float for money: bigints become decimal strings.
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, replacer);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Cache-Control': 'no-store',
  });
  res.end(html);
}

export type JsonBody = { ok: true; value: unknown } | { ok: false; status: 400 | 413; error: string };

/** Reads and parses a JSON request body of at most `limitBytes`. Never throws for client mistakes. */
export async function readJsonBody(req: IncomingMessage, limitBytes = 64 * 1024): Promise<JsonBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limitBytes) {
      return { ok: false, status: 413, error: `request body larger than ${limitBytes} bytes` };
    }
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    return { ok: false, status: 400, error: 'request body is empty: expected JSON' };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, status: 400, error: 'request body is not valid JSON' };
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The origin the client used to reach this server: the scheme of the connection and the Host
 * header, so a URL built on it is same-origin with the request (e.g. a review endpoint's refund URL).
 * Behind a proxy that terminates TLS, build the URL from the app's configured public origin instead.
 */
export function requestOrigin(req: IncomingMessage): string {
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  const host = req.headers.host;
  const authority =
    host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)
      ? host
      : `${bracketed(req.socket.localAddress ?? '127.0.0.1')}:${req.socket.localPort ?? (secure ? 443 : 80)}`;
  return `${secure ? 'https' : 'http'}://${authority}`;
}

const bracketed = (address: string) => (address.includes(':') ? `[${address}]` : address);
