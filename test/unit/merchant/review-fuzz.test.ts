// The review endpoint takes whatever a wallet, or anyone, posts: no body may make it answer 500,
// and nothing but the payer's own credential may decide a charge. Bodies are random JSON, random
// bytes, and mutations of real requests for a real paid charge (over HTTP, against the demo app
// and the Lightning stand-in). `PAYBOUND_FUZZ_RUNS` sets the count (default 200 a property).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import {
  challengeList,
  makeInvoice,
  payInvoice,
  type Standin,
  startStandin,
  type WalletKeys,
} from './helpers';

const RUNS = Number(process.env.PAYBOUND_FUZZ_RUNS ?? 200);

let lightning: Standin;
let user: WalletKeys;
let app: DemoApp;
let charge: { charge: string; max: string; proof: string; invoice: string };

beforeAll(async () => {
  const started = await startStandin([]);
  lightning = started.standin;
  user = started.user;
  app = await startDemoApp({
    port: 0,
    lnbitsUrl: lightning.url,
    invoiceKey: started.app.invoiceKey,
    adminKey: started.app.adminKey,
    rootKey: '6f'.repeat(32),
  });
  const first = await fetch(`${app.url}/drafts/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'fuzzed' }),
  });
  const l402 = challengeList(first.headers.get('www-authenticate')).find((c) => c.scheme === 'L402');
  if (!l402) throw new Error('the demo sent no L402 challenge');
  const preimage = await payInvoice(lightning.url, user, l402.params.invoice ?? '');
  const paid = await fetch(`${app.url}/drafts/generate`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `L402 ${l402.params.macaroon}:${preimage}`,
    },
    body: JSON.stringify({ prompt: 'fuzzed' }),
  });
  const served = (await paid.json()) as { charge: string; max: string };
  const refund = await makeInvoice(lightning.url, user, 1);
  charge = { ...served, proof: `${l402.params.macaroon}:${preimage}`, invoice: refund.bolt11 };
});

afterAll(async () => {
  await app?.close();
  await lightning?.close();
});

async function post(body: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${app.url}/paybound/review`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** A field of a real request, replaced by something else of any JSON shape. */
const anyJson = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  fc.string({ unit: fc.constantFrom('=', '"', '\\', ':', '\uD800', '\u202E', '0', 'f'), maxLength: 2000 }),
);

describe('the review endpoint under fuzzing', () => {
  it('random bytes and random JSON never get a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 3000 }), fc.json()), async (body) => {
        const { status } = await post(body);
        expect(status).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
  });

  it('a real request with one field changed is refused or answered, never a 500, never decided without the credential', async () => {
    const fields = ['v', 'action', 'charge', 'proof', 'amount', 'reason', 'invoice'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fields),
        anyJson,
        fc.constantFrom('status', 'reject'),
        async (field, value, action) => {
          const real: Record<string, unknown> = {
            v: 1,
            action,
            charge: charge.charge,
            proof: charge.proof,
            amount: '1',
            reason: 'fuzz',
            invoice: charge.invoice,
          };
          real[field] = value;
          const { status, json } = await post(JSON.stringify(real));
          expect(status).toBeLessThan(500);
          // A reject that went through had the real credential for the real charge.
          if (status === 200 && real.action === 'reject') {
            expect(real.proof).toBe(charge.proof);
            expect(real.charge).toBe(charge.charge);
          }
          expect(typeof json).toBe('object');
        },
      ),
      { numRuns: RUNS },
    );
  });
});
