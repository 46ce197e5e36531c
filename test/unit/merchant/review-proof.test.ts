// Only the payer decides a Lightning charge's review (item 4). The preimage is no proof: every
// routing node on the payment's path learns it. The review endpoint takes the credential the charge
// was paid with: the L402 macaroon (signed with the app's root key, for this payment hash) with its
// preimage, or the MPP credential (a challenge id the app's secret binds, for this payment hash).
// Over real HTTP: the demo app (L402 and MPP Lightning drafts) and the Lightning stand-in, with a
// third wallet that plays the node that learned the preimage.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import { ReviewDesk } from '../../../server/merchant/kit/review';
import {
  balanceMsat,
  challengeList,
  decodeInvoice,
  makeInvoice,
  mintL402,
  payInvoice,
  review,
  type Standin,
  startStandin,
  type WalletKeys,
} from './helpers';

const ROOT_KEY = '5e'.repeat(32);
const PROMPT = 'a short note';

let lightning: Standin;
let user: WalletKeys;
let thief: WalletKeys;
let app: DemoApp;

beforeAll(async () => {
  const started = await startStandin(['thief']);
  lightning = started.standin;
  user = started.user;
  thief = lightning.wallets.thief!;
  app = await startDemoApp({
    port: 0,
    lnbitsUrl: lightning.url,
    invoiceKey: started.app.invoiceKey,
    adminKey: started.app.adminKey,
    rootKey: ROOT_KEY,
    mppLightning: true,
  });
});

afterAll(async () => {
  await app?.close();
  await lightning?.close();
});

const reviewUrl = () => `${app.url}/paybound/review`;

function draft(prompt: string, authorization?: string): Promise<Response> {
  return fetch(`${app.url}/drafts/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ prompt }),
  });
}

function mppCredential(c: { params: Record<string, string> }, payload: Record<string, unknown>): string {
  const { id, realm, method, intent, request, expires } = c.params;
  const json = JSON.stringify({ challenge: { id, realm, method, intent, request, expires }, payload });
  return `Payment ${Buffer.from(json).toString('base64url')}`;
}

/** A draft paid over L402 by the user wallet. */
async function buyL402(prompt = PROMPT) {
  const res = await draft(prompt);
  const l402 = challengeList(res.headers.get('www-authenticate')).find((c) => c.scheme === 'L402')!;
  const preimage = await payInvoice(lightning.url, user, l402.params.invoice!);
  const paid = await draft(prompt, `L402 ${l402.params.macaroon}:${preimage}`);
  expect(paid.status).toBe(200);
  const served = (await paid.json()) as { charge: string; max: string; actual: string };
  return {
    ...served,
    preimage,
    macaroon: l402.params.macaroon!,
    proof: `${l402.params.macaroon}:${preimage}`,
  };
}

/** A draft paid over MPP Lightning by the user wallet. */
async function buyMpp(prompt = PROMPT) {
  const res = await draft(prompt);
  const ln = challengeList(res.headers.get('www-authenticate')).find((c) => c.params.method === 'lightning')!;
  const request = JSON.parse(Buffer.from(ln.params.request!, 'base64url').toString()) as {
    methodDetails: { invoice: string };
  };
  const preimage = await payInvoice(lightning.url, user, request.methodDetails.invoice);
  const credential = mppCredential(ln, { preimage });
  const paid = await draft(prompt, credential);
  expect(paid.status).toBe(200);
  const served = (await paid.json()) as { charge: string; max: string; actual: string };
  return { ...served, preimage, credential, challenge: ln };
}

describe('L402 charges (item 4)', () => {
  it('a third wallet that learned the preimage cannot reject and take the refund; the payer then accepts', async () => {
    const bought = await buyL402();
    const thiefInvoice = await makeInvoice(lightning.url, thief, Number(BigInt(bought.max) / 1000n));
    const stolen = await review(reviewUrl(), {
      v: 1,
      action: 'reject',
      charge: bought.charge,
      proof: bought.preimage,
      amount: bought.max,
      reason: 'mine now',
      invoice: thiefInvoice.bolt11,
    });
    expect(stolen).toMatchObject({
      status: 403,
      json: {
        error: { code: 'bad_proof', message: expect.stringMatching(/preimage alone.*L402 credential/) },
      },
    });
    expect(await balanceMsat(lightning.url, thief)).toBe(0n);
    // Status with the preimage only tells nothing either.
    expect(
      (await review(reviewUrl(), { v: 1, action: 'status', charge: bought.charge, proof: bought.preimage }))
        .status,
    ).toBe(403);

    const owedSat = Number((BigInt(bought.max) - BigInt(bought.actual)) / 1000n);
    const invoice = await makeInvoice(lightning.url, user, owedSat);
    const before = await balanceMsat(lightning.url, user);
    const accepted = await review(reviewUrl(), {
      v: 1,
      action: 'accept',
      charge: bought.charge,
      proof: bought.proof,
      invoice: invoice.bolt11,
    });
    expect(accepted).toMatchObject({
      status: 200,
      json: { status: 'accepted', refunded: String(owedSat * 1000) },
    });
    expect(await balanceMsat(lightning.url, user)).toBe(before + BigInt(owedSat) * 1000n);
  });

  it('takes the credential as "<macaroon>:<preimage>", with its scheme, or as {macaroon, preimage}', async () => {
    const bought = await buyL402('three ways');
    for (const proof of [
      bought.proof,
      `L402 ${bought.proof}`,
      `LSAT ${bought.proof}`,
      { macaroon: bought.macaroon, preimage: bought.preimage },
    ]) {
      const res = await review(reviewUrl(), { v: 1, action: 'status', charge: bought.charge, proof });
      expect(res, JSON.stringify(proof)).toMatchObject({ status: 200, json: { status: 'provisional' } });
    }
  });

  it('refuses a macaroon of another charge, one another key signed, and a wrong preimage', async () => {
    const mine = await buyL402('mine');
    const other = await buyL402('other');
    const status = (proof: string) =>
      review(reviewUrl(), { v: 1, action: 'status', charge: mine.charge, proof });
    // Someone who paid another charge, and learned this one's preimage on the way.
    expect(await status(`${other.macaroon}:${mine.preimage}`)).toMatchObject({
      status: 403,
      json: { error: { code: 'bad_proof', message: expect.stringMatching(/another charge/) } },
    });
    expect((await status(other.proof)).json).toMatchObject({ error: { code: 'bad_proof' } });
    // A macaroon for this payment hash, minted with a key that is not the app's.
    const forged = mintL402(randomBytes(32).toString('hex'), Buffer.from(mine.preimage, 'hex'));
    expect(forged.charge).toBe(mine.charge);
    expect(await status(forged.proof)).toMatchObject({
      status: 403,
      json: { error: { code: 'bad_proof', message: expect.stringMatching(/not minted by this app/) } },
    });
    expect(await status(`${mine.macaroon}:${randomBytes(32).toString('hex')}`)).toMatchObject({
      status: 403,
      json: { error: { code: 'bad_proof' } },
    });
    expect(await status(`${mine.macaroon}`)).toMatchObject({
      status: 403,
      json: { error: { code: 'bad_proof' } },
    });
  });

  it('a desk without the root key cannot check L402 credentials, and says so', async () => {
    const desk = new ReviewDesk({ network: 'regtest' });
    const { charge, proof } = mintL402(ROOT_KEY);
    await desk.open({
      charge,
      method: 'l402',
      proof: 'lightning',
      unit: 'msat',
      max: 1000n,
      windowSeconds: 60,
    });
    expect(await desk.review({ v: 1, action: 'status', charge, proof })).toMatchObject({
      status: 403,
      body: { error: { code: 'bad_proof', message: expect.stringMatching(/cannot check L402/) } },
    });
  });
});

describe('MPP Lightning charges (item 4)', () => {
  it('a preimage alone is refused; the MPP credential proves the charge; an altered one does not', async () => {
    const bought = await buyMpp();
    expect(bought.charge).toBe(
      decodeInvoice(
        (
          JSON.parse(Buffer.from(bought.challenge.params.request!, 'base64url').toString()) as {
            methodDetails: { invoice: string };
          }
        ).methodDetails.invoice,
      ).paymentHash,
    );
    const thiefInvoice = await makeInvoice(lightning.url, thief, Number(bought.max));
    const stolen = await review(reviewUrl(), {
      v: 1,
      action: 'reject',
      charge: bought.charge,
      proof: bought.preimage,
      amount: bought.max,
      reason: 'mine now',
      invoice: thiefInvoice.bolt11,
    });
    expect(stolen).toMatchObject({
      status: 403,
      json: {
        error: { code: 'bad_proof', message: expect.stringMatching(/preimage alone.*MPP credential/) },
      },
    });
    expect(await balanceMsat(lightning.url, thief)).toBe(0n);

    const status = (proof: string) =>
      review(reviewUrl(), { v: 1, action: 'status', charge: bought.charge, proof });
    // The echoed challenge altered (a later expiry): its id no longer binds it.
    const altered = mppCredential(
      { params: { ...bought.challenge.params, expires: '2099-01-01T00:00:00Z' } },
      { preimage: bought.preimage },
    );
    expect((await status(altered)).json).toMatchObject({ error: { code: 'bad_proof' } });
    // Another MPP charge's credential, whatever preimage it carries.
    const other = await buyMpp('another one');
    expect((await status(other.credential)).json).toMatchObject({
      error: { code: 'bad_proof', message: expect.stringMatching(/another charge/) },
    });
    expect((await status(mppCredential(other.challenge, { preimage: bought.preimage }))).json).toMatchObject({
      error: { code: 'bad_proof' },
    });
    // Without the scheme word the credential is read the same.
    expect((await status(bought.credential.replace(/^Payment /, ''))).status).toBe(200);

    const owed = BigInt(bought.max) - BigInt(bought.actual);
    const invoice = await makeInvoice(lightning.url, user, Number(owed));
    const before = await balanceMsat(lightning.url, user);
    const accepted = await review(reviewUrl(), {
      v: 1,
      action: 'accept',
      charge: bought.charge,
      proof: bought.credential,
      invoice: invoice.bolt11,
    });
    expect(accepted.json).toMatchObject({ status: 'accepted', refunded: owed.toString() });
    expect(await balanceMsat(lightning.url, user)).toBe(before + owed * 1000n);
  });
});
