// The demo AI app over real HTTP, paid through the Lightning stand-in's LNbits API.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoApp } from '../../../server/merchant/demo/app';
import { generateText } from '../../../server/merchant/demo/generator';
import { quoteArticleMsat, quoteGenerateMsat } from '../../../server/merchant/demo/pricing';
import { encodeIdentifier } from '../../../server/merchant/kit/l402';
import {
  exportMacaroonBinary,
  importBinaryMacaroon,
  newMacaroon,
} from '../../../server/merchant/kit/macaroon-lib';
import {
  balanceMsat,
  decodeInvoice,
  macaroonIdentifier,
  type ParsedChallenge,
  parseChallenges,
  payInvoice,
  type Standin,
  startStandin,
  type WalletKeys,
} from './helpers';

const ROOT_KEY = 'a1'.repeat(32);
const PROMPT = 'Write a friendly welcome note for new customers of a small bakery';

let standin: Standin;
let user: WalletKeys;
let appWallet: WalletKeys;
let app: { url: string; close(): Promise<void> };

beforeAll(async () => {
  const started = await startStandin();
  standin = started.standin;
  user = started.user;
  appWallet = started.app;
  app = await startDemoApp({
    port: 0,
    lnbitsUrl: standin.url,
    invoiceKey: started.app.invoiceKey,
    rootKey: ROOT_KEY,
  });
});

afterAll(async () => {
  await app?.close();
  await standin?.close();
});

function generate(prompt: unknown, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  return fetch(`${app.url}/api/generate`, { method: 'POST', headers, body: JSON.stringify({ prompt }) });
}

async function challengeOf(res: Response): Promise<ParsedChallenge> {
  expect(res.status).toBe(402);
  const challenges = parseChallenges(res.headers.get('www-authenticate'));
  const l402 = challenges.find((c) => c.scheme === 'L402');
  expect(l402).toBeDefined();
  return l402!;
}

/** Asks for a challenge for `prompt`, pays it from the user wallet, returns the credential parts. */
async function buyToken(prompt: string): Promise<{ challenge: ParsedChallenge; preimage: string }> {
  const challenge = await challengeOf(await generate(prompt));
  const preimage = await payInvoice(standin.url, user, challenge.invoice);
  return { challenge, preimage };
}

describe('POST /api/generate without a credential', () => {
  it('answers 402 with an L402 challenge (and an LSAT one) whose macaroon commits to the invoice', async () => {
    const res = await generate(PROMPT);
    expect(res.status).toBe(402);
    const body = (await res.json()) as Record<string, unknown>;
    const price = quoteGenerateMsat(PROMPT);
    expect(body).toMatchObject({ error: 'payment_required', price_msat: price.toString() });
    expect(typeof body.description).toBe('string');

    const challenges = parseChallenges(res.headers.get('www-authenticate'));
    expect(challenges.map((c) => c.scheme)).toEqual(['L402', 'LSAT']);
    const [l402, lsat] = challenges as [ParsedChallenge, ParsedChallenge];
    expect(lsat.macaroon).toBe(l402.macaroon);
    expect(lsat.invoice).toBe(l402.invoice);

    const invoice = decodeInvoice(l402.invoice);
    expect(l402.invoice.startsWith('lnbcrt')).toBe(true);
    expect(invoice.amountMsat).toBe(price);
    const id = macaroonIdentifier(l402.macaroon);
    expect(id.length).toBe(66);
    expect(id.readUInt16BE(0)).toBe(0);
    expect(id.subarray(2, 34).toString('hex')).toBe(invoice.paymentHash);
  });

  it('prices by prompt words, deterministically, with a cap', async () => {
    expect(quoteGenerateMsat('one')).toBe(2_010_000n);
    expect(quoteGenerateMsat('one two  three\nfour')).toBe(2_040_000n);
    expect(quoteGenerateMsat('w '.repeat(1000))).toBe(10_000_000n);
    const res = await generate('two words');
    const { invoice } = await challengeOf(res);
    expect(decodeInvoice(invoice).amountMsat).toBe(2_020_000n);
  });

  it('mints a fresh invoice for every challenge', async () => {
    const a = await challengeOf(await generate(PROMPT));
    const b = await challengeOf(await generate(PROMPT));
    expect(decodeInvoice(a.invoice).paymentHash).not.toBe(decodeInvoice(b.invoice).paymentHash);
  });

  it('lets a cross-origin page read the challenge (CORS)', async () => {
    const res = await generate(PROMPT);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/WWW-Authenticate/i);
    const preflight = await fetch(`${app.url}/api/generate`, {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
  });
});

describe('POST /api/generate with a credential', () => {
  it('serves deterministic text once paid, and the token is reused without paying again', async () => {
    const appBefore = await balanceMsat(standin.url, appWallet);
    const { challenge, preimage } = await buyToken(PROMPT);
    expect(await balanceMsat(standin.url, appWallet)).toBe(appBefore + quoteGenerateMsat(PROMPT));
    const credential = `L402 ${challenge.macaroon}:${preimage}`;

    const first = await generate(PROMPT, credential);
    expect(first.status).toBe(200);
    const body = (await first.json()) as { text: string; words: number; price_msat: string };
    expect(body).toEqual({
      text: generateText(PROMPT),
      words: 12,
      price_msat: quoteGenerateMsat(PROMPT).toString(),
    });
    expect(body.text).toContain('bakery');

    const userBefore = await balanceMsat(standin.url, user);
    const again = await generate('Another prompt about sourdough bread', credential);
    expect(again.status).toBe(200);
    expect(((await again.json()) as { text: string }).text).toBe(
      generateText('Another prompt about sourdough bread'),
    );
    const same = await generate(PROMPT, credential);
    expect(((await same.json()) as { text: string }).text).toBe(body.text);
    expect(await balanceMsat(standin.url, user)).toBe(userBefore);
  });

  it('accepts the LSAT scheme, case-insensitively', async () => {
    const { challenge, preimage } = await buyToken(PROMPT);
    expect((await generate(PROMPT, `LSAT ${challenge.macaroon}:${preimage}`)).status).toBe(200);
    expect((await generate(PROMPT, `lsat ${challenge.macaroon}:${preimage}`)).status).toBe(200);
    expect((await generate(PROMPT, `l402 ${challenge.macaroon}:${preimage.toUpperCase()}`)).status).toBe(200);
  });

  it('refuses a wrong preimage with a fresh challenge and the reason', async () => {
    const { challenge } = await buyToken(PROMPT);
    const res = await generate(PROMPT, `L402 ${challenge.macaroon}:${randomBytes(32).toString('hex')}`);
    const fresh = await challengeOf(res);
    expect(fresh.macaroon).not.toBe(challenge.macaroon);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.code).toBe('wrong_preimage');
    expect(body.error).toMatch(/preimage/);
    expect(body.price_msat).toBe(quoteGenerateMsat(PROMPT).toString());
  });

  it('refuses a macaroon whose caveat bytes were edited', async () => {
    const { challenge, preimage } = await buyToken(PROMPT);
    const bytes = Buffer.from(challenge.macaroon, 'base64');
    const at = bytes.indexOf('demo_capabilities=generate');
    expect(at).toBeGreaterThan(0);
    bytes.write('demo_capabilities=generatX', at); // same length, so the encoding stays valid
    const res = await generate(PROMPT, `L402 ${bytes.toString('base64')}:${preimage}`);
    await challengeOf(res);
    expect(await res.json()).toMatchObject({ code: 'bad_signature' });
  });

  it('refuses a macaroon whose signature was edited', async () => {
    const { challenge, preimage } = await buyToken(PROMPT);
    const bytes = Buffer.from(challenge.macaroon, 'base64');
    bytes[bytes.length - 1]! ^= 0x01;
    const res = await generate(PROMPT, `L402 ${bytes.toString('base64')}:${preimage}`);
    await challengeOf(res);
    expect(await res.json()).toMatchObject({ code: 'bad_signature' });
  });

  it('refuses a macaroon minted with another root key, even for a paid invoice', async () => {
    const { challenge, preimage } = await buyToken(PROMPT);
    const paymentHash = Buffer.from(decodeInvoice(challenge.invoice).paymentHash, 'hex');
    const forged = newMacaroon({
      identifier: encodeIdentifier(paymentHash, randomBytes(32)),
      location: 'paybound-demo',
      rootKey: randomBytes(32),
      version: 2,
    });
    forged.addFirstPartyCaveat('services=demo:0');
    forged.addFirstPartyCaveat('demo_capabilities=generate');
    forged.addFirstPartyCaveat(`demo_valid_until=${Math.floor(Date.now() / 1000) + 3600}`);
    const res = await generate(
      PROMPT,
      `L402 ${Buffer.from(exportMacaroonBinary(forged)).toString('base64')}:${preimage}`,
    );
    await challengeOf(res);
    expect(await res.json()).toMatchObject({ code: 'bad_signature' });
  });

  it('refuses a genuine macaroon and matching preimage for a hash the wallet never issued', async () => {
    // The app's own root key signs it and sha256(preimage) is the hash in it; only the payment is missing.
    const preimage = randomBytes(32);
    const paymentHash = createHash('sha256').update(preimage).digest();
    const mac = newMacaroon({
      identifier: encodeIdentifier(paymentHash, randomBytes(32)),
      location: 'paybound-demo',
      rootKey: Buffer.from(ROOT_KEY, 'hex'),
      version: 2,
    });
    mac.addFirstPartyCaveat('services=demo:0');
    mac.addFirstPartyCaveat('demo_capabilities=generate');
    mac.addFirstPartyCaveat(`demo_valid_until=${Math.floor(Date.now() / 1000) + 3600}`);
    const res = await generate(
      PROMPT,
      `L402 ${Buffer.from(exportMacaroonBinary(mac)).toString('base64')}:${preimage.toString('hex')}`,
    );
    await challengeOf(res);
    expect(await res.json()).toMatchObject({ code: 'invoice_not_settled' });
  });

  it('refuses the genuine token and real preimage of an invoice that is still open', async () => {
    const challenge = await challengeOf(await generate(PROMPT));
    const { paymentHash } = decodeInvoice(challenge.invoice);
    // Read the preimage off the node without paying: only the settlement is missing.
    const invoice = standin.node.invoice(paymentHash);
    expect(invoice && standin.node.invoiceState(invoice)).toBe('open');
    const res = await generate(PROMPT, `L402 ${challenge.macaroon}:${invoice!.preimage}`);
    await challengeOf(res);
    expect(await res.json()).toMatchObject({ code: 'invoice_not_settled' });
    // Once paid, the very same credential works.
    await payInvoice(standin.url, user, challenge.invoice);
    expect((await generate(PROMPT, `L402 ${challenge.macaroon}:${invoice!.preimage}`)).status).toBe(200);
  });

  it('honours caveats a holder adds to narrow the token', async () => {
    const { challenge, preimage } = await buyToken(PROMPT);
    const narrow = (caveat: string) => {
      const mac = importBinaryMacaroon(Buffer.from(challenge.macaroon, 'base64'));
      mac.addFirstPartyCaveat(caveat);
      return `L402 ${Buffer.from(exportMacaroonBinary(mac)).toString('base64')}:${preimage}`;
    };
    const readOnly = await generate(PROMPT, narrow('demo_capabilities=read'));
    expect(await readOnly.json()).toMatchObject({ code: 'caveat_not_satisfied' });
    const expired = await generate(PROMPT, narrow('demo_valid_until=1000'));
    expect(await expired.json()).toMatchObject({ code: 'token_expired' });
    const otherService = await generate(PROMPT, narrow('services=other:0'));
    expect(await otherService.json()).toMatchObject({ code: 'caveat_not_satisfied' });
    // A narrowing that still allows this request, and a caveat the app does not know, change nothing.
    expect((await generate(PROMPT, narrow('demo_capabilities=generate'))).status).toBe(200);
    expect((await generate(PROMPT, narrow('someone_else_limit=3'))).status).toBe(200);
  });

  it('refuses malformed credentials with a fresh challenge', async () => {
    const { challenge, preimage } = await buyToken(PROMPT);
    const cases: [string, string][] = [
      [`L402 ${challenge.macaroon}`, 'malformed_credential'],
      [`L402 ${challenge.macaroon}:abc`, 'malformed_credential'],
      [`L402 not-a-macaroon!:${preimage}`, 'malformed_credential'],
      [`L402 AAAA:${preimage}`, 'malformed_credential'],
      [`L402 ${challenge.macaroon},${challenge.macaroon}:${preimage}`, 'malformed_credential'],
      ['L402', 'malformed_credential'],
    ];
    for (const [authorization, code] of cases) {
      const res = await generate(PROMPT, authorization);
      await challengeOf(res);
      expect(await res.json(), authorization).toMatchObject({ code });
    }
    // Another scheme is no L402 credential at all: just a plain challenge.
    const bearer = await generate(PROMPT, 'Bearer abc');
    await challengeOf(bearer);
    expect(await bearer.json()).toMatchObject({ error: 'payment_required' });
  });
});

describe('request validation', () => {
  const post = (body: string, contentType = 'application/json') =>
    fetch(`${app.url}/api/generate`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('answers 400 to a body that is not JSON', async () => {
    for (const body of ['{"prompt": ', 'prompt=hi', '']) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      expect(typeof ((await res.json()) as { error: unknown }).error).toBe('string');
    }
  });

  it('answers 422 to JSON without a usable prompt, before any charge', async () => {
    const bodies = [
      '{}',
      '[]',
      'null',
      '"hello"',
      '{"prompt": 5}',
      '{"prompt": ""}',
      '{"prompt": "   "}',
      JSON.stringify({ prompt: 'x'.repeat(2001) }),
    ];
    for (const body of bodies) {
      const res = await post(body);
      expect(res.status, body.slice(0, 30)).toBe(422);
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(typeof ((await res.json()) as { error: unknown }).error).toBe('string');
    }
    expect((await post(JSON.stringify({ prompt: 'é'.repeat(2000) }))).status).toBe(402);
  });

  it('answers 413 to an oversized body', async () => {
    expect((await post(JSON.stringify({ prompt: 'x'.repeat(40_000) }))).status).toBe(413);
  });

  it('answers 405 to other methods and 404 to unknown paths', async () => {
    const get = await fetch(`${app.url}/api/generate`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toContain('POST');
    expect((await fetch(`${app.url}/`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${app.url}/nope`)).status).toBe(404);
    expect((await fetch(`${app.url}/article/no-such-article`)).status).toBe(404);
  });

  it('reports health', async () => {
    const res = await fetch(`${app.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});

describe('the page', () => {
  it('serves the assistant with the ids the end-to-end tests use', async () => {
    const res = await fetch(`${app.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    for (const id of ['prompt', 'generate', 'generate-xhr', 'output', 'status']) {
      expect(html).toContain(`id="${id}"`);
    }
    expect(html).toContain("fetch('/api/generate'");
    expect(html).toContain('XMLHttpRequest');
    expect(html).toContain('Payment required (402)');
  });

  it('states its prices in sats only, as it takes no cards', async () => {
    const html = await (await fetch(`${app.url}/`)).text();
    expect(html).toContain('From 2,000 sats, plus 10 sats a word, at most 10,000 sats<');
    expect(html).toContain('up to 100 words, at most 12,000 sats. You pay the most it can cost');
    expect(html).toContain(
      'id="prompt-price" data-base-sat="2000" data-per-word-sat="10" data-cap-sat="10000">',
    );
    expect(html).not.toContain('data-usd-per-btc');
    expect(html).not.toContain(' · $');
  });
});

describe('GET /article/:slug', () => {
  it('answers 402 with an HTML page and a challenge, then the article once paid', async () => {
    const res = await fetch(`${app.url}/article/prompt-craft`);
    expect(res.status).toBe(402);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toMatch(/Payment required/);
    expect(html).toContain('costs 1,000 sats.');
    const challenge = await challengeOf(res);
    expect(decodeInvoice(challenge.invoice).amountMsat).toBe(quoteArticleMsat());

    const preimage = await payInvoice(standin.url, user, challenge.invoice);
    const credential = `L402 ${challenge.macaroon}:${preimage}`;
    const paid = await fetch(`${app.url}/article/prompt-craft`, { headers: { authorization: credential } });
    expect(paid.status).toBe(200);
    expect(await paid.text()).toContain('Prompt craft in five minutes');

    // The token is bound to its article and to reading, not to other articles or to generating.
    const other = await fetch(`${app.url}/article/paying-per-request`, {
      headers: { authorization: credential },
    });
    expect(other.status).toBe(402);
    expect(await other.text()).toMatch(/refused/);
    expect((await generate(PROMPT, credential)).status).toBe(402);
  });

  it('does not let a generate token open an article', async () => {
    const { challenge, preimage } = await buyToken(PROMPT);
    const res = await fetch(`${app.url}/article/prompt-craft`, {
      headers: { authorization: `L402 ${challenge.macaroon}:${preimage}` },
    });
    expect(res.status).toBe(402);
  });
});

describe('GET|POST /api/refuses: the route that refuses valid credentials', () => {
  const refuses = (as: string, authorization?: string, method = 'GET') =>
    fetch(`${app.url}/api/refuses?as=${encodeURIComponent(as)}`, {
      method,
      ...(authorization ? { headers: { authorization } } : {}),
    });

  it('charges like an L402 route, then answers the paid, valid token 402 with the same challenge', async () => {
    const as = `unit-${randomBytes(4).toString('hex')}`;
    const first = await challengeOf(await refuses(as));
    // Asked again, it presents the very same challenge: a wallet must never pay it twice.
    const again = await challengeOf(await refuses(as, undefined, 'POST'));
    expect(again).toEqual(first);
    expect(decodeInvoice(first.invoice).amountMsat).toBe(quoteArticleMsat());

    const preimage = await payInvoice(standin.url, user, first.invoice);
    const res = await refuses(as, `L402 ${first.macaroon}:${preimage}`);
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ code: 'credential_refused' });
    expect(await challengeOf(res)).toEqual(first);
    // A proof that does not pay is told so, as on any route: only valid ones get `credential_refused`.
    const wrong = await refuses(as, `L402 ${first.macaroon}:${'00'.repeat(32)}`);
    expect(await wrong.json()).toMatchObject({ error: 'payment_required' });
  });

  it('gives each `as` its own challenge, and refuses an `as` beyond 64 characters', async () => {
    const a = await challengeOf(await refuses(`a-${randomBytes(4).toString('hex')}`));
    const b = await challengeOf(await refuses(`b-${randomBytes(4).toString('hex')}`));
    expect(a.invoice).not.toBe(b.invoice);
    expect((await refuses('x'.repeat(65))).status).toBe(422);
    expect((await fetch(`${app.url}/api/refuses`, { method: 'DELETE' })).status).toBe(405);
  });
});
