import { describe, expect, it } from 'vitest';
import { LightningNode } from '../../../server/standins/lightning/node';
import { readL402Challenge } from '../../../src/core/challenge/l402';
import { parseWwwAuthenticate } from '../../../src/core/challenge/www-authenticate';
import { preflightL402 } from '../../../src/core/payments/l402-preflight';
import { l402Header, macaroonFor } from '../../fixtures/l402';

const node = new LightningNode();
const wallet = node.createWallet({ name: 'app' });
const now = Math.floor(Date.now() / 1000);
const opts = { network: 'regtest' as const, nowSeconds: now, marginSeconds: 30 };

function challengeFor(header: string) {
  return readL402Challenge(parseWwwAuthenticate(header));
}

describe('preflightL402', () => {
  it('quotes a consistent challenge with the exact invoice amount', () => {
    const inv = node.createInvoice(wallet.id, { amountMsat: 2_100_000n, memo: 'x' });
    const q = preflightL402(challengeFor(l402Header(macaroonFor(inv.paymentHash), inv.bolt11)), opts);
    expect(q).toMatchObject({ ok: true, amountMsat: 2_100_000n, paymentHash: inv.paymentHash });
  });

  it('reads LSAT and token= the same way, and keeps the scheme for the credential', () => {
    const inv = node.createInvoice(wallet.id, { amountMsat: 1000n });
    const c = challengeFor(`LSAT token="${macaroonFor(inv.paymentHash)}", invoice="${inv.bolt11}"`);
    expect(c.scheme).toBe('LSAT');
    expect(preflightL402(c, opts).ok).toBe(true);
  });

  it.each([
    ['no_amount', () => node.createInvoice(wallet.id, {}), undefined],
    ['hash_mismatch', () => node.createInvoice(wallet.id, { amountMsat: 1000n }), 'ab'.repeat(32)],
    // Valid for 20 s more: inside the 30 s margin needed to approve and pay.
    ['expired', () => node.createInvoice(wallet.id, { amountMsat: 1000n, expirySeconds: 20 }), undefined],
  ] as const)('refuses: %s', (code, make, otherHash) => {
    const inv = make();
    const q = preflightL402(
      challengeFor(l402Header(macaroonFor(otherHash ?? inv.paymentHash), inv.bolt11)),
      opts,
    );
    expect(q).toMatchObject({ ok: false, code });
  });

  it('refuses a regtest invoice on a mainnet rail', () => {
    const inv = node.createInvoice(wallet.id, { amountMsat: 1000n });
    const q = preflightL402(challengeFor(l402Header(macaroonFor(inv.paymentHash), inv.bolt11)), {
      ...opts,
      network: 'mainnet',
    });
    expect(q).toMatchObject({ ok: false, code: 'wrong_network' });
  });

  it('refuses an amount that differs from a price stated elsewhere', () => {
    const inv = node.createInvoice(wallet.id, { amountMsat: 1000n });
    const c = challengeFor(l402Header(macaroonFor(inv.paymentHash), inv.bolt11));
    expect(preflightL402(c, { ...opts, expectedAmountMsat: 999n })).toMatchObject({
      ok: false,
      code: 'amount_mismatch',
    });
  });

  it('refuses an unreadable macaroon and a garbage invoice', () => {
    const inv = node.createInvoice(wallet.id, { amountMsat: 1000n });
    expect(preflightL402(challengeFor(l402Header('bm90IGEgbWFjYXJvb24=', inv.bolt11)), opts)).toMatchObject({
      ok: false,
      code: 'bad_macaroon',
    });
    expect(
      preflightL402(challengeFor(l402Header(macaroonFor(inv.paymentHash), 'lnbcrt1garbage')), opts),
    ).toMatchObject({
      ok: false,
      code: 'bad_invoice',
    });
  });
});
