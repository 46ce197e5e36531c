/**
 * RFC 9110 §11.6.1 `WWW-Authenticate` parser.
 *
 * One header value may hold several challenges, and `Headers.get()` joins repeated headers with
 * ", ", so commas separate both challenges and parameters. A comma starts a new challenge when
 * what follows is a token that is not followed by "=" (i.e. a scheme, not a parameter name).
 *
 * A header we cannot parse is refused whole: paying on a guess is worse than not paying.
 */

export interface AuthChallenge {
  /** The scheme as sent. */
  scheme: string;
  /** The scheme lower-cased: schemes are case-insensitive. */
  schemeKey: string;
  /** token68 form (`Basic dXNlcg==`), when the challenge uses it instead of parameters. */
  token68?: string;
  /** Parameters with lower-cased names; a Map so that names like `__proto__` are harmless. */
  params: Map<string, string>;
}

export class ChallengeSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} (at character ${position})`);
    this.name = 'ChallengeSyntaxError';
  }
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;
const MAX_HEADER_LENGTH = 32 * 1024;

class Cursor {
  pos = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  skipWhitespace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  skipWhitespaceAndCommas(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (!this.done && TCHAR.test(this.peek())) this.pos++;
    return this.s.slice(start, this.pos);
  }
  fail(message: string): never {
    throw new ChallengeSyntaxError(message, this.pos);
  }
}

/** Reads a token68 at the cursor if the rest of this challenge is exactly one token68. */
function tryToken68(c: Cursor): string | undefined {
  const start = c.pos;
  while (!c.done && TOKEN68_CHAR.test(c.peek())) c.pos++;
  if (c.pos === start) return undefined;
  while (c.peek() === '=') c.pos++;
  const value = c.s.slice(start, c.pos);
  c.skipWhitespace();
  if (c.done || c.peek() === ',') return value;
  c.pos = start;
  return undefined;
}

function quotedString(c: Cursor): string {
  c.pos++; // opening quote
  let out = '';
  for (;;) {
    if (c.done) c.fail('unterminated quoted string');
    const ch = c.peek();
    if (ch === '"') {
      c.pos++;
      return out;
    }
    if (ch === '\\') {
      c.pos++;
      if (c.done) c.fail('dangling escape in quoted string');
    }
    const code = c.peek().charCodeAt(0);
    // qdtext / quoted-pair: HTAB, SP, VCHAR, obs-text; no other control characters.
    if (code !== 0x09 && (code < 0x20 || code === 0x7f)) c.fail('control character in quoted string');
    out += c.peek();
    c.pos++;
  }
}

/** True when the cursor stands at `token BWS "="`, i.e. a parameter rather than a new scheme. */
function atParam(c: Cursor): boolean {
  const save = c.pos;
  const name = c.token();
  c.skipWhitespace();
  const isParam = name.length > 0 && c.peek() === '=';
  c.pos = save;
  return isParam;
}

function params(c: Cursor, into: Map<string, string>): void {
  for (;;) {
    const name = c.token().toLowerCase();
    if (!name) c.fail('expected a parameter name');
    c.skipWhitespace();
    if (c.peek() !== '=') c.fail(`expected "=" after parameter ${name}`);
    c.pos++;
    c.skipWhitespace();
    const value = c.peek() === '"' ? quotedString(c) : c.token();
    if (into.has(name)) c.fail(`parameter ${name} given twice`);
    into.set(name, value);
    c.skipWhitespace();
    if (c.done) return;
    if (c.peek() !== ',') c.fail('expected "," between parameters');
    const beforeComma = c.pos;
    c.skipWhitespaceAndCommas();
    if (c.done) return;
    if (!atParam(c)) {
      c.pos = beforeComma;
      return;
    }
  }
}

export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  if (header.length > MAX_HEADER_LENGTH) throw new ChallengeSyntaxError('header too long', MAX_HEADER_LENGTH);
  const c = new Cursor(header);
  const challenges: AuthChallenge[] = [];
  for (;;) {
    c.skipWhitespaceAndCommas();
    if (c.done) break;
    const scheme = c.token();
    if (!scheme) c.fail('expected an authentication scheme');
    const challenge: AuthChallenge = { scheme, schemeKey: scheme.toLowerCase(), params: new Map() };
    challenges.push(challenge);
    if (c.done || c.peek() === ',') continue;
    if (c.peek() !== ' ' && c.peek() !== '\t') c.fail('expected a space after the scheme');
    c.skipWhitespace();
    if (c.done || c.peek() === ',') continue;
    const t68 = tryToken68(c);
    if (t68 !== undefined) challenge.token68 = t68;
    else params(c, challenge.params);
  }
  return challenges;
}

/**
 * All challenges of a response, from its header list (repeated headers are allowed). Firefox
 * joins repeated WWW-Authenticate headers with a newline (webRequest, XMLHttpRequest): each line
 * is one header. A header value cannot hold a newline of its own, so nothing else is split.
 */
export function challengesFromHeaders(headers: ReadonlyArray<readonly [string, string]>): AuthChallenge[] {
  const values = headers
    .filter(([name]) => name.toLowerCase() === 'www-authenticate')
    .flatMap(([, v]) => v.split(/\r?\n/));
  return values.flatMap((v) => parseWwwAuthenticate(v));
}
