// Smaller holes (issue item 7), over real HTTP against the Stripe stand-in: inputs that used to end
// in a 500, the admin token, CORS, the kit's receipt keys, and a report changed behind the payer's
// back. The fuzz run sends arbitrary bodies to every card-service endpoint and wants no 500.
// Longer run: PAYBOUND_FUZZ_RUNS=5000 npx vitest run --project unit test/unit/card/hardening.test.ts
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretEquals } from '../../../server/card/http';
import { devExtensionOrigins, unpackedExtensionId } from '../../../server/dev/stack';
import { type CardServiceClient, type ReceiptKey, receiptKeySource } from '../../../server/merchant/kit/card';
import { api, challengeId, linkCard } from './helpers';
import { type ClockedStack, startClockedStack } from './settlement-stack';

const EXTENSION = 'chrome-extension://aeeaephommfdaecffgplinhnccahildp';

let stack: ClockedStack;
let token: string;

beforeAll(async () => {
  stack = await startClockedStack({ extensionOrigins: [EXTENSION] });
  token = await linkCard(stack);
});

afterAll(async () => {
  await stack?.close();
});

function raw(request: string): Promise<string> {
  const { port } = new URL(stack.card.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(request));
    let out = '';
    socket.on('data', (d) => {
      out += d.toString();
    });
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

describe('inputs that used to answer 500', () => {
  it('a lone surrogate or a NUL in a description is a 400, not a crash inside the Stripe SDK or Postgres', async () => {
    for (const description of ['\uD800', 'a\uDC00b', 'tail \uD83D', 'a\u0000b']) {
      const res = await api(stack.card.url, token, 'POST', '/api/payments', {
        challengeId: challengeId(),
        amount: 250,
        currency: 'usd',
        destination: stack.merchant.accountId,
        description,
      });
      expect(res).toMatchObject({ status: 400, json: { error: { code: 'invalid_description' } } });
    }
    // A real emoji (a surrogate pair) is fine.
    const ok = await api(stack.card.url, token, 'POST', '/api/payments', {
      challengeId: challengeId(),
      amount: 250,
      currency: 'usd',
      destination: stack.merchant.accountId,
      description: 'draft ✍️ 🙂',
    });
    expect(ok.status).toBe(201);
    const admin = await api(
      stack.card.url,
      'admin-token-for-tests-0123456789',
      'POST',
      '/api/admin/merchants',
      {
        name: 'bad \uDFFF name',
      },
    );
    expect(admin.status).toBe(400);
  });

  it('a request target that is not a URL (GET http://[) is a 400', async () => {
    const answer = await raw('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('bad_request');
  });
});

describe('secrets and origins', () => {
  it('compares the admin token in constant time, and still only accepts the right one', async () => {
    expect(secretEquals('admin-token-for-tests-0123456789', 'admin-token-for-tests-0123456789')).toBe(true);
    expect(secretEquals('admin-token-for-tests-012345678', 'admin-token-for-tests-0123456789')).toBe(false);
    expect(secretEquals(undefined, 'x')).toBe(false);
    const wrong = await api(
      stack.card.url,
      'admin-token-for-tests-0123456780',
      'POST',
      '/api/admin/merchants',
      {
        name: 'x',
      },
    );
    expect(wrong.status).toBe(401);
  });

  it('grants CORS only to the configured extension, never to another extension or a page', async () => {
    const probe = (origin: string) =>
      fetch(`${stack.card.url}/api/device`, { headers: { origin, authorization: `Bearer ${token}` } });
    expect((await probe(EXTENSION)).headers.get('access-control-allow-origin')).toBe(EXTENSION);
    expect(
      (await probe('chrome-extension://abcdefghijklmnopabcdefghijklmnop')).headers.get(
        'access-control-allow-origin',
      ),
    ).toBeNull();
    expect(
      (await probe('moz-extension://0d2f1e5c-1111-2222-3333-444455556666')).headers.get(
        'access-control-allow-origin',
      ),
    ).toBeNull();
    expect((await probe('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe("the dev stack's extension origins", () => {
  it("are the ids Chromium gives the unpacked builds (sha256 of the directory's path, spelled a–p)", () => {
    // The id this machine's Chromium gave the e2e build in /work/main/.out/e2e/dist.
    expect(unpackedExtensionId('/work/main/.out/e2e/dist')).toBe('aeeaephommfdaecffgplinhnccahildp');
    const origins = devExtensionOrigins({
      PAYBOUND_CARD_EXTENSION_IDS: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, nope',
    });
    expect(origins).toHaveLength(3);
    expect(origins[2]).toBe('chrome-extension://bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb');
    expect(origins.every((o) => /^chrome-extension:\/\/[a-p]{32}$/.test(o))).toBe(true);
  });
});

describe("the kit's receipt keys", () => {
  it('fetches again on an unknown kid (the card service rotated), and after their lifetime', async () => {
    let t = 0;
    let published: ReceiptKey[] = [{ kid: 'a', publicKey: new Uint8Array(32) }];
    let fetches = 0;
    const client = {
      receiptKeys: async () => {
        fetches++;
        return published;
      },
    } as unknown as CardServiceClient;
    const keys = receiptKeySource(client, undefined, { ttlMs: 60_000, refetchMs: 5_000, now: () => t });
    expect((await keys('a')).map((k) => k.kid)).toEqual(['a']);
    expect((await keys('a')).length).toBe(1);
    expect(fetches).toBe(1);
    published = [{ kid: 'b', publicKey: new Uint8Array(32) }, ...published];
    t = 6_000;
    expect((await keys('b')).map((k) => k.kid)).toEqual(['b', 'a']);
    expect(fetches).toBe(2);
    // Forged kids do not make it fetch on every request.
    t = 7_000;
    await keys('zzz');
    await keys('yyy');
    expect(fetches).toBe(2);
    t = 70_000;
    await keys();
    expect(fetches).toBe(3);
  });

  it('the card service publishes the signing key first, with its kid', async () => {
    const jwks = (await (await fetch(`${stack.card.url}/api/receipt-keys`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual(stack.card.receiptKeys.map((k) => k.kid));
    expect(jwks.keys[0]?.kid).toBe(stack.card.receiptKeyId);
  });
});

describe('reports', () => {
  it('a report cannot be raised after it was made (the payer reviews the first one)', async () => {
    const cid = challengeId();
    const paid = await api(stack.card.url, token, 'POST', '/api/payments', {
      challengeId: cid,
      amount: 500,
      currency: 'usd',
      destination: stack.merchant.accountId,
    });
    expect(paid.status).toBe(201);
    const report = (amount: number) =>
      api(stack.card.url, stack.merchant.apiKey, 'POST', '/api/merchant/report', {
        challengeId: cid,
        amount,
      });
    expect((await report(200)).status).toBe(200);
    expect(await report(450)).toMatchObject({
      status: 409,
      json: { error: { code: 'report_final', reported: 200 } },
    });
    expect((await report(150)).json.payment).toMatchObject({ amountReported: 150 });
    const id = (paid.json.payment as { id: string }).id;
    const captured = await api(stack.card.url, token, 'POST', `/api/payments/${id}/capture`, {});
    expect(captured.json.payment).toMatchObject({ amountCaptured: 150 });
  });
});

describe('fuzz: no body makes the card service answer 500', () => {
  const runs = Number(process.env.PAYBOUND_FUZZ_RUNS ?? 300);
  const json = fc.jsonValue({ maxDepth: 3 });
  const nasty = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.constantFrom('\uD800', '\uDFFF', '', ' ', '0', '-1', '1e309', '9'.repeat(30), 'pi_', 'acct_x', 'usd'),
    // Values that pass the first checks, so the fuzz reaches Stripe and the settlement rules.
    fc.stringMatching(/^[A-Za-z0-9_-]{8,24}$/),
    fc.integer({ min: 50, max: 1200 }),
    fc.constantFrom(0, 60, 3600, 'requested_by_customer'),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    json,
  );
  const field = (names: string[]) =>
    fc.dictionary(fc.constantFrom(...names), nasty, { maxKeys: names.length });
  const fields = [
    'challengeId',
    'amount',
    'currency',
    'destination',
    'description',
    'reviewWindowSeconds',
    'paymentIntent',
    'reason',
    'state',
    'secret',
    'name',
    'email',
    'country',
    'url',
    'payerRefundSeconds',
    'perChargeMinor',
    'perDayMinor',
  ];

  it(`over every POST endpoint (${runs} bodies)`, async () => {
    const cid = challengeId();
    const paid = await api(stack.card.url, token, 'POST', '/api/payments', {
      challengeId: cid,
      amount: 900,
      currency: 'usd',
      destination: stack.merchant.accountId,
    });
    const pi = (paid.json.payment as { id: string }).id;
    const device = `Bearer ${token}`;
    const merchant = `Bearer ${stack.merchant.apiKey}`;
    const endpoints: [string, string][] = [
      ['/api/payments', device],
      [`/api/payments/${pi}/capture`, device],
      [`/api/payments/${pi}/cancel`, device],
      [`/api/payments/${pi}/refund`, device],
      ['/api/device/limits', device],
      ['/api/devices/claim', ''],
      ['/api/merchant/accept', merchant],
      ['/api/merchant/report', merchant],
      ['/api/merchant/capture', merchant],
      ['/api/merchant/cancel', merchant],
      ['/api/merchant/refund', merchant],
      ['/api/admin/merchants', 'Bearer admin-token-for-tests-0123456789'],
      ['/webhooks/stripe', ''],
    ];
    const body = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            fc.oneof(fc.constant(cid), fc.stringMatching(/^[A-Za-z0-9_-]{8,24}$/)),
            fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('\uD800x', 'x\uDC00')),
            field(fields),
          )
          .map(([challengeId, description, o]) =>
            JSON.stringify({
              challengeId,
              paymentIntent: pi,
              amount: 300,
              currency: 'usd',
              destination: stack.merchant.accountId,
              description,
              ...o,
            }),
          ),
      },
      { weight: 2, arbitrary: field(fields).map((o) => JSON.stringify(o)) },
      { weight: 1, arbitrary: json.map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...endpoints),
        body,
        fc.boolean(),
        async ([path, auth], text, typed) => {
          const res = await fetch(stack.card.url + path, {
            method: 'POST',
            headers: {
              ...(auth ? { authorization: auth } : {}),
              ...(typed ? { 'content-type': 'application/json' } : { 'content-type': 'text/plain' }),
              'idempotency-key': 'fuzz-key-0001',
            },
            body: text,
          });
          const answer = await res.text();
          if (res.status >= 500 && !/stripe_unreachable|stripe_rate_limited/.test(answer)) {
            throw new Error(`${path} answered ${res.status} ${answer} for ${text}`);
          }
        },
      ),
      { numRuns: runs },
    );
  }, 120_000);

  it('over request targets and methods', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS', 'PUT'),
        fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
        async (method, tail) => {
          const target = `/${tail.replace(/[\s]/g, '')}`;
          const answer = await raw(
            `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
          );
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
          if (status >= 500) throw new Error(`${method} ${target} answered ${status}`);
        },
      ),
      { numRuns: Math.ceil(runs / 3) },
    );
  }, 60_000);
});
