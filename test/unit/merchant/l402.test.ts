// The L402 primitives and the gate, against the stand-in's LNbits API.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeCaveat,
  decodeIdentifier,
  encodeCaveat,
  encodeIdentifier,
  formatChallenge,
  L402Gate,
  parseAuthorization,
} from '../../../server/merchant/kit/l402';
import { LnbitsClient } from '../../../server/merchant/kit/lnbits-client';
import {
  exportMacaroonBinary,
  importBinaryMacaroon,
  newMacaroon,
} from '../../../server/merchant/kit/macaroon-lib';
import {
  decodeInvoice,
  macaroonIdentifier,
  payInvoice,
  type Standin,
  startStandin,
  type WalletKeys,
} from './helpers';

let standin: Standin;
let user: WalletKeys;
let wallet: LnbitsClient;

beforeAll(async () => {
  const started = await startStandin();
  standin = started.standin;
  user = started.user;
  wallet = new LnbitsClient({ url: standin.url, invoiceKey: started.app.invoiceKey });
});

afterAll(async () => {
  await standin?.close();
});

describe('identifier', () => {
  it('is version 0 || payment hash || token id, and round-trips', () => {
    const hash = randomBytes(32);
    const tokenId = randomBytes(32);
    const id = encodeIdentifier(hash, tokenId);
    expect(id.length).toBe(66);
    expect([id[0], id[1]]).toEqual([0, 0]);
    expect(Buffer.from(id.subarray(2, 34)).equals(hash)).toBe(true);
    const back = decodeIdentifier(id);
    expect(back && Buffer.from(back.paymentHash).equals(hash)).toBe(true);
    expect(back && Buffer.from(back.tokenId).equals(tokenId)).toBe(true);
  });

  it('rejects other versions and lengths', () => {
    const id = encodeIdentifier(randomBytes(32), randomBytes(32));
    id[1] = 1;
    expect(decodeIdentifier(id)).toBeNull();
    expect(decodeIdentifier(new Uint8Array(65))).toBeNull();
  });
});

describe('caveats and header syntax', () => {
  it('encodes condition=value and splits on the first "="', () => {
    expect(encodeCaveat({ condition: 'services', value: 'demo:0' })).toBe('services=demo:0');
    expect(decodeCaveat('a=b=c')).toEqual({ condition: 'a', value: 'b=c' });
    expect(decodeCaveat('novalue')).toBeNull();
    expect(() => encodeCaveat({ condition: 'bad=cond', value: 'x' })).toThrow(RangeError);
  });

  it('formats the challenge as aperture does', () => {
    expect(formatChallenge('L402', 'AgE=', 'lnbcrt1')).toBe('L402 macaroon="AgE=", invoice="lnbcrt1"');
  });

  it('tells a missing credential from a malformed one', () => {
    expect(parseAuthorization(undefined)).toEqual({ kind: 'none' });
    expect(parseAuthorization('Bearer x')).toEqual({ kind: 'none' });
    expect(parseAuthorization('L402 x').kind).toBe('invalid');
    expect(parseAuthorization(`LSAT AAAA:${'0'.repeat(64)}`).kind).toBe('invalid');
  });
});

describe('L402Gate', () => {
  const rootKey = randomBytes(32);

  it('issues an invoice for exactly the price and a macaroon bound to its hash', async () => {
    const gate = new L402Gate({
      wallet,
      rootKey,
      location: 'test',
      service: 'svc',
      legacyLsatChallenge: false,
    });
    const challenge = await gate.issue({ priceMsat: 21_000n, memo: 'twenty-one', capabilities: ['a', 'b'] });
    expect(challenge.headerValues).toEqual([
      `L402 macaroon="${challenge.macaroonBase64}", invoice="${challenge.invoice}"`,
    ]);
    const invoice = decodeInvoice(challenge.invoice);
    expect(invoice.amountMsat).toBe(21_000n);
    expect(invoice.description).toBe('twenty-one');
    expect(invoice.paymentHash).toBe(challenge.paymentHash);
    expect(macaroonIdentifier(challenge.macaroonBase64).subarray(2, 34).toString('hex')).toBe(
      challenge.paymentHash,
    );
    const caveats = Buffer.from(challenge.macaroonBase64, 'base64').toString('latin1');
    expect(caveats).toContain('services=svc:0');
    expect(caveats).toContain('svc_capabilities=a,b');
    expect(caveats).toContain(`svc_valid_until=${challenge.validUntil}`);
  });

  it('refuses a price the LNbits API cannot invoice exactly', async () => {
    const gate = new L402Gate({ wallet, rootKey, location: 'test', service: 'svc' });
    await expect(gate.issue({ priceMsat: 1_500n, memo: 'x', capabilities: ['a'] })).rejects.toThrow(
      /whole-sat/,
    );
    await expect(gate.issue({ priceMsat: 1.5, memo: 'x', capabilities: ['a'] })).rejects.toThrow(RangeError);
  });

  it('accepts a paid token until its valid_until, then reports it expired', async () => {
    let nowMs = Date.UTC(2030, 0, 1);
    const gate = new L402Gate({
      wallet,
      rootKey,
      location: 'test',
      service: 'svc',
      tokenLifetimeSeconds: 60,
      now: () => nowMs,
    });
    const challenge = await gate.issue({ priceMsat: 5_000n, memo: 'x', capabilities: ['a'] });
    const preimage = await payInvoice(standin.url, user, challenge.invoice);
    const header = `L402 ${challenge.macaroonBase64}:${preimage}`;

    expect(await gate.verify(header, { capability: 'a' })).toMatchObject({
      ok: true,
      scheme: 'L402',
      paymentHash: challenge.paymentHash,
    });
    expect(await gate.verify(header, { capability: 'b' })).toMatchObject({
      ok: false,
      code: 'caveat_not_satisfied',
    });
    nowMs += 59_000;
    expect((await gate.verify(header, { capability: 'a' })).ok).toBe(true);
    nowMs += 1_000;
    expect(await gate.verify(header, { capability: 'a' })).toMatchObject({
      ok: false,
      code: 'token_expired',
    });
  });

  it('checks the payment with the wallet until it is settled', async () => {
    const gate = new L402Gate({ wallet, rootKey, location: 'test', service: 'svc' });
    const challenge = await gate.issue({ priceMsat: 3_000n, memo: 'x', capabilities: ['a'] });
    // A preimage for another hash: the cheap checks fail before the wallet is asked.
    const wrong = `L402 ${challenge.macaroonBase64}:${randomBytes(32).toString('hex')}`;
    expect(await gate.verify(wrong, { capability: 'a' })).toMatchObject({
      ok: false,
      code: 'wrong_preimage',
    });
    const preimage = await payInvoice(standin.url, user, challenge.invoice);
    expect(createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex')).toBe(
      challenge.paymentHash,
    );
    expect((await gate.verify(`L402 ${challenge.macaroonBase64}:${preimage}`, { capability: 'a' })).ok).toBe(
      true,
    );
  });

  it('runs app-specific caveat checks, and only for the conditions it is given', async () => {
    const gate = new L402Gate({ wallet, rootKey, location: 'test', service: 'svc' });
    const challenge = await gate.issue({
      priceMsat: 2_000n,
      memo: 'x',
      capabilities: ['a'],
      caveats: [{ condition: 'svc_doc', value: 'one' }],
    });
    const preimage = await payInvoice(standin.url, user, challenge.invoice);
    const header = `L402 ${challenge.macaroonBase64}:${preimage}`;
    const check = (want: string) => ({ svc_doc: (v: string) => (v === want ? null : `bound to ${v}`) });
    expect((await gate.verify(header, { capability: 'a', caveatChecks: check('one') })).ok).toBe(true);
    expect(await gate.verify(header, { capability: 'a', caveatChecks: check('two') })).toMatchObject({
      ok: false,
      reason: 'bound to one',
    });
    expect((await gate.verify(header, { capability: 'a' })).ok).toBe(true);
  });

  it('lets wallet outages surface as errors rather than as an unpaid token', async () => {
    const down = new LnbitsClient({ url: 'http://127.0.0.1:1', invoiceKey: 'k' });
    const gate = new L402Gate({ wallet: down, rootKey, location: 'test', service: 'svc' });
    await expect(gate.issue({ priceMsat: 1_000n, memo: 'x', capabilities: ['a'] })).rejects.toMatchObject({
      name: 'LnbitsError',
      code: 'network',
    });
  });
});

describe('exportMacaroonBinary', () => {
  it('writes the v2 binary format the macaroon library reads back, signature intact', () => {
    const rootKey = randomBytes(32);
    const mac = newMacaroon({
      identifier: encodeIdentifier(randomBytes(32), randomBytes(32)),
      location: 'here',
      rootKey,
      version: 2,
    });
    for (const caveat of [
      'services=a:0',
      'a_capabilities=x',
      'a_valid_until=99999999999',
      'extra=1',
      'more=2',
    ]) {
      mac.addFirstPartyCaveat(caveat);
    }
    const back = importBinaryMacaroon(exportMacaroonBinary(mac));
    expect(back.location).toBe('here');
    expect(Buffer.from(back.identifier).equals(Buffer.from(mac.identifier))).toBe(true);
    expect(back.caveats.map((c) => Buffer.from(c.identifier).toString())).toEqual([
      'services=a:0',
      'a_capabilities=x',
      'a_valid_until=99999999999',
      'extra=1',
      'more=2',
    ]);
    expect(() => back.verify(rootKey, () => null)).not.toThrow();
  });

  it('matches the library encoder where that one still works (two caveats)', () => {
    const mac = newMacaroon({ identifier: 'id', location: 'loc', rootKey: randomBytes(32), version: 2 });
    mac.addFirstPartyCaveat('a=1');
    mac.addFirstPartyCaveat('b=2');
    const libraryBytes = (mac as unknown as { exportBinary(): Uint8Array }).exportBinary();
    expect(Buffer.from(exportMacaroonBinary(mac)).equals(Buffer.from(libraryBytes))).toBe(true);
  });
});
