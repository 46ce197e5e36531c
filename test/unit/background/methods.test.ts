import { describe, expect, it } from 'vitest';
import { LightningNode } from '../../../server/standins/lightning/node';
import { METHODS, methodFor } from '../../../src/background/methods';
import { isQuote } from '../../../src/background/methods/types';
import { detectChallenges } from '../../../src/core/challenge/detect';
import type { RailKind, RailRecord } from '../../../src/db/schema';
import { l402Header, macaroonFor } from '../../fixtures/l402';

const RAILS: RailKind[] = ['lnbits', 'nwc', 'webln', 'card', 'ethereum'];
const NOW = Date.now();
const RATE = { currency: 'USD', minorPerBtc: 10_000_000n, source: 'test', asOf: NOW };
const LNBITS: RailRecord = {
  id: 'l',
  kind: 'lnbits',
  label: 'l',
  network: 'regtest',
  config: { url: 'http://wallet.invalid', adminKey: 'k' },
  createdAt: 0,
};
const CARD: RailRecord = {
  id: 'c',
  kind: 'card',
  label: 'c',
  network: 'regtest',
  config: { serviceUrl: 'http://card.invalid', token: 't' },
  createdAt: 0,
};

describe('payment methods', () => {
  it('one method pays through each rail kind, and each rail kind has one', () => {
    expect(RAILS.map((r) => methodFor(r).kind)).toEqual([
      'lightning-worker',
      'lightning-worker',
      'lightning-page',
      'card',
      'x402-page',
    ]);
    expect(METHODS.flatMap((m) => m.rails).sort()).toEqual([...RAILS].sort());
  });

  it('only the page wallets take a report from the page; only they need no unlocking', () => {
    expect(METHODS.filter((m) => m.fromPage).map((m) => m.kind)).toEqual(['lightning-page', 'x402-page']);
    expect(METHODS.filter((m) => !m.sealed).map((m) => m.kind)).toEqual(['lightning-page', 'x402-page']);
  });

  it('a card record keeps minor units, a Lightning one msat', async () => {
    const node = new LightningNode();
    const app = node.createWallet({ name: 'app' });
    const inv = node.createInvoice(app.id, { amountMsat: 21_000n, memo: 'a haiku' });
    const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const expires = new Date(NOW + 600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const headers: Record<string, string> = {
      l402: l402Header(macaroonFor(inv.paymentHash), inv.bolt11),
      mpp: `Payment id="m1", realm="r", method="lightning", intent="charge", expires="${expires}", request="${b64url({ amount: '21', currency: 'sat', methodDetails: { invoice: inv.bolt11 } })}"`,
      card: `Payment id="c1", realm="r", method="card", intent="charge", expires="${expires}", request="${b64url({ amount: '250', currency: 'usd', recipient: 'acct_1' })}"`,
      legacyCard: `Payment id="c2", realm="r", method="paybound-card", intent="charge", expires="${expires}", request="${b64url({ amount: '250', currency: 'usd', recipient: 'acct_1' })}"`,
    };
    const units: Record<string, [string, bigint, string]> = {};
    for (const [name, header] of Object.entries(headers)) {
      const detected = detectChallenges([['www-authenticate', header]]);
      const rail = name.endsWith('ard') ? CARD : LNBITS;
      const quote = await methodFor(rail.kind).quote(
        {
          url: 'https://app.example/x',
          origin: 'https://app.example',
          detected,
          protocols: [...new Set(detected.map((d) => d.protocol))],
          currency: async () => 'usd',
          rate: async () => undefined,
          method: 'GET',
          headers: [['www-authenticate', header]],
          nowMs: NOW,
        },
        rail,
      );
      if (!isQuote(quote)) throw new Error(`not quoted: ${JSON.stringify(quote.error)}`);
      const part = quote.part(RATE, NOW);
      units[name] = [part.amount.unit, part.amount.value, part.kind];
    }
    expect(units).toEqual({
      l402: ['msat', 21_000n, 'lightning'],
      mpp: ['msat', 21_000n, 'lightning'],
      card: ['minor', 250n, 'card'],
      legacyCard: ['minor', 250n, 'card'],
    });
    expect(methodFor('card').unit).toBe('minor');
    expect(methodFor('lnbits').unit).toBe('msat');
  });

  it('offers a method only the challenges it can pay', () => {
    // `card` is the conformant id (1*LOWERALPHA); `paybound-card` is what older card services issue.
    for (const id of ['card', 'paybound-card']) {
      const card = detectChallenges([
        ['www-authenticate', `Payment id="x", realm="r", method="${id}", intent="charge", request="e30"`],
      ]);
      expect(methodFor('card').offered(card)).toBe(true);
      expect(methodFor('lnbits').offered(card)).toBe(false);
      expect(methodFor('webln').offered(card)).toBe(false);
    }
  });
});
