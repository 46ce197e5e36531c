/**
 * Paid but refused: the first use of a valid proof answered 401/402/403. The payment is marked as
 * having delivered nothing, its token goes, a dispute opens with the evidence, the user is told,
 * and the challenge is never paid or presented again. The page's word is only ever the page's.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LightningNode } from '../../../server/standins/lightning/node';
import type { SenderContext } from '../../../src/background/sender';
import type { ApprovalService } from '../../../src/background/services/approvals';
import { DisputeService } from '../../../src/background/services/disputes';
import { PaymentService } from '../../../src/background/services/payments';
import type { LightningRail } from '../../../src/background/services/rails/types';
import type { RateService } from '../../../src/background/services/rates';
import { type RuleApi, TokenService } from '../../../src/background/services/tokens';
import { defaultRules } from '../../../src/core/policy/rules';
import { PayboundDb, type PaymentRecord, type RailRecord } from '../../../src/db/schema';
import { l402Header, macaroonFor } from '../../fixtures/l402';

const RAIL: RailRecord = {
  id: 'lnbits-test',
  kind: 'lnbits',
  label: 'test',
  network: 'regtest',
  config: { url: 'http://wallet.invalid', adminKey: 'x'.repeat(16) },
  createdAt: 0,
};
const APP = 'https://app.example';
const URL_ = `${APP}/api/generate`;
const TAB = 3;
const PAGE = { audience: 'page' as const, tabId: TAB, origin: APP };
const SHA = 'ab'.repeat(32);

function setup() {
  const db = new PayboundDb(`refused-${Math.random()}`);
  const node = new LightningNode();
  const user = node.createWallet({ name: 'user', balanceMsat: 10_000_000n });
  const app = node.createWallet({ name: 'app' });
  const pay = vi.fn(async (invoice: string) => ({
    preimage: (await node.payInvoice(user.id, invoice)).preimage ?? '',
  }));
  const rail: LightningRail = {
    id: RAIL.id,
    network: 'regtest',
    sendPayment: pay,
    lookup: async () => ({ status: 'not_found' }),
    balance: async () => 0n,
    makeInvoice: async () => {
      throw new Error('not in these tests');
    },
    received: async () => false,
  };
  const rules: RuleApi = {
    updateSessionRules: vi.fn(async () => {}),
    getSessionRules: vi.fn(async () => []),
  };
  const tokens = new TokenService(db, rules);
  const disputes = new DisputeService(db);
  const approvals = {
    request: vi.fn(async (p: { id: string }) => {
      await db.payments.update(p.id, { approval: 'approved' });
      return 'approved' as const;
    }),
    withdraw: vi.fn(async () => {}),
  } as unknown as ApprovalService;
  const rates = {
    current: async () => ({
      rate: { currency: 'USD', minorPerBtc: 10_000_000n, source: 'test', asOf: Date.now() - 5000 },
      ageMs: 5000,
      stale: false,
    }),
  } as unknown as RateService;
  const refusedNotice = vi.fn(async (_p: PaymentRecord) => {});
  const service = new PaymentService({
    db,
    rates,
    approvals,
    tokens,
    defaultRail: async () => RAIL,
    railFor: async () => rail,
    openRail: async (r) => r,
    rules: async () => ({ ...defaultRules('UTC'), autoMaxMinor: 0n }),
    openDispute: (p, reason, source) => disputes.open(p, reason, undefined, source),
    notify: {
      paidAutomatically: async () => {},
      afterCommit: async () => {},
      refused: refusedNotice,
    },
  });
  const inv = node.createInvoice(app.id, { amountMsat: 21_000n, memo: 'a haiku' });
  const challenge = [['www-authenticate', l402Header(macaroonFor(inv.paymentHash), inv.bolt11)]] as const;
  const present = (via: 'fetch' | 'navigation' = 'fetch') =>
    service.onChallenge({ url: URL_, method: 'GET', headers: challenge, origin: APP, tabId: TAB, via });
  /** Pays the challenge and gives the paid payment's id (what the page is told with the retry). */
  const paid = async (via: 'fetch' | 'navigation' = 'fetch') => {
    const verdict = await present(via);
    if (verdict.action !== 'retry' || !verdict.paymentId) throw new Error('expected a paid retry');
    return verdict.paymentId;
  };
  const report = (
    paymentId: string,
    status: number,
    from: SenderContext = PAGE,
    headers?: [string, string][],
  ) => service.delivered({ paymentId, status, sha256: SHA, ...(headers ? { headers } : {}) }, from);
  const balance = () => node.wallet(user.id)?.balanceMsat;
  return { db, node, pay, rules, service, challenge, present, paid, report, refusedNotice, balance };
}

let env: ReturnType<typeof setup>;
beforeEach(async () => {
  env = setup();
  await env.db.rails.put(RAIL);
});
afterEach(async () => {
  await env.db.delete();
});

describe('a paid retry the app refused (the page reports it)', () => {
  it('marks the payment as having delivered nothing, opens a dispute with the evidence, tells the user and drops the token', async () => {
    const id = await env.paid();
    expect(await env.db.tokens.count()).toBe(1);
    const balance = env.balance();
    const challenge = env.challenge[0][1];
    expect(
      await env.report(id, 402, PAGE, [
        ['WWW-Authenticate', challenge],
        ['Set-Cookie', 'session=secret'],
        ['Content-Type', 'application/json'],
      ]),
    ).toEqual({ recorded: true });

    const p = await env.db.payments.get(id);
    // Paid is paid: the money moved and stays counted; the dispute is how it may come back.
    expect(p).toMatchObject({ state: 'paid', reservationState: 'committed' });
    expect(p?.delivery).toMatchObject({ status: 402, sha256: SHA, by: 'page', refused: true });
    expect(p?.delivery?.headers).toEqual([
      ['www-authenticate', challenge],
      ['content-type', 'application/json'],
    ]);
    expect(env.balance()).toBe(balance);

    const disputes = await env.db.disputes.toArray();
    expect(disputes).toHaveLength(1);
    expect(disputes[0]).toMatchObject({
      paymentId: id,
      source: 'refused',
      status: 'open',
      reason: 'the app answered the paid request with HTTP 402 and delivered nothing (as the page reported)',
      reasonSaid: { key: 'disputeRefusedByPage', args: ['402'] },
      evidence: {
        url: URL_,
        challengeHeaders: [['www-authenticate', challenge]],
        proof: { preimage: p?.kind === 'lightning' ? p.lightning.preimage : 'none' },
        delivery: { status: 402, by: 'page', refused: true },
      },
    });
    expect(disputes[0]?.evidence.delivery?.headers).toContainEqual(['www-authenticate', challenge]);

    expect(env.refusedNotice).toHaveBeenCalledTimes(1);
    expect(env.refusedNotice.mock.calls[0]?.[0]).toMatchObject({ id, delivery: { status: 402 } });
    // The worthless token is gone, from the database and from the browser's rules.
    expect(await env.db.tokens.count()).toBe(0);
    expect(vi.mocked(env.rules.updateSessionRules).mock.calls.at(-1)?.[0]).toMatchObject({
      removeRuleIds: [expect.any(Number)],
    });
  });

  it.each([401, 403])('counts HTTP %i as a refusal too', async (status) => {
    const id = await env.paid();
    await env.report(id, status);
    expect((await env.db.payments.get(id))?.delivery).toMatchObject({ status, refused: true });
    expect((await env.db.disputes.toArray()).map((d) => d.source)).toEqual(['refused']);
  });

  it('never pays the same challenge again, nor hands out the refused credential: the page is told why', async () => {
    const id = await env.paid();
    await env.report(id, 402);
    const verdict = await env.present();
    expect(verdict).toMatchObject({
      action: 'pass',
      said: { key: 'refusedDeliveredNothing' },
      refusedBeforeLedger: true,
    });
    expect(env.pay).toHaveBeenCalledTimes(1);
    expect(await env.db.payments.count()).toBe(1);
    // The request's log says why nothing was paid.
    const log = await env.db.challenges.toArray();
    expect(log.at(-1)?.errorSaid).toEqual({ key: 'refusedDeliveredNothing' });
  });

  it('a 200 delivery is only evidence: nothing disputed, the token kept, the credential handed out again', async () => {
    const id = await env.paid();
    expect(await env.report(id, 200)).toEqual({ recorded: true });
    expect((await env.db.payments.get(id))?.delivery).toMatchObject({ status: 200 });
    expect((await env.db.payments.get(id))?.delivery?.refused).toBeUndefined();
    expect(await env.db.disputes.count()).toBe(0);
    expect(env.refusedNotice).not.toHaveBeenCalled();
    expect(await env.db.tokens.count()).toBe(1);
    expect((await env.present()).action).toBe('retry');
  });
});

describe("the page's word: hostile reports", () => {
  it('a report from another tab, or from another site in the same tab, changes nothing', async () => {
    const id = await env.paid();
    expect(await env.report(id, 402, { ...PAGE, tabId: TAB + 1 })).toEqual({ recorded: false });
    expect(await env.report(id, 402, { ...PAGE, origin: 'https://rival.example' })).toEqual({
      recorded: false,
    });
    expect((await env.db.payments.get(id))?.delivery).toBeUndefined();
    expect(await env.db.disputes.count()).toBe(0);
    expect(await env.db.tokens.count()).toBe(1);
    expect(env.refusedNotice).not.toHaveBeenCalled();
  });

  it('a second report, after or alongside the first, opens no second dispute and no second notice', async () => {
    const id = await env.paid();
    const both = await Promise.all([env.report(id, 402), env.report(id, 403)]);
    expect(both.filter((r) => r.recorded)).toHaveLength(1);
    expect(await env.report(id, 401)).toEqual({ recorded: false });
    expect(await env.db.disputes.count()).toBe(1);
    expect(env.refusedNotice).toHaveBeenCalledTimes(1);
  });

  it('a 200 report after a refusal does not undo it', async () => {
    const id = await env.paid();
    await env.report(id, 402);
    expect(await env.report(id, 200)).toEqual({ recorded: false });
    expect((await env.db.payments.get(id))?.delivery).toMatchObject({ status: 402, refused: true });
    expect((await env.present()).action).toBe('pass');
  });

  it('a refusal reported after a 200 was recorded changes nothing: the first use delivered', async () => {
    const id = await env.paid();
    await env.report(id, 200);
    expect(await env.report(id, 402)).toEqual({ recorded: false });
    expect(await env.db.disputes.count()).toBe(0);
    expect(await env.db.tokens.count()).toBe(1);
  });

  it('a report for an unknown payment, or one not paid yet, is refused', async () => {
    expect(await env.report('00000000-0000-4000-8000-000000000000', 402)).toEqual({ recorded: false });
    const id = await env.paid();
    await env.db.payments.update(id, { paidAt: undefined });
    expect(await env.report(id, 402)).toEqual({ recorded: false });
    expect(await env.db.disputes.count()).toBe(0);
  });

  it("on a page load's payment only the tab's top frame reports (Chromium: it fetched the page paid)", async () => {
    const id = await env.paid('navigation');
    // A frame of the same origin in that tab, or a frame that does not say, is not the page load.
    expect(await env.report(id, 402)).toEqual({ recorded: false });
    expect(await env.report(id, 402, { ...PAGE, frameId: 2 })).toEqual({ recorded: false });
    expect(await env.report(id, 402, { ...PAGE, frameId: 0, tabId: TAB + 1 })).toEqual({ recorded: false });
    expect(await env.db.disputes.count()).toBe(0);
    expect(await env.db.tokens.count()).toBe(1);
    expect(await env.report(id, 200, { ...PAGE, frameId: 0 })).toEqual({ recorded: true });
  });
});

describe('a page load the app refused (the browser sees it)', () => {
  const load = (status: number, tabId = TAB, url = URL_) =>
    env.service.pageLoadAnswered({
      url,
      origin: new URL(url).origin,
      tabId,
      status,
      headers: [
        ['WWW-Authenticate', 'L402 macaroon="x", invoice="y"'],
        ['Cookie', 'no'],
      ],
    });

  it('the reload carrying the token answered 402: delivered nothing, seen by the browser, the token dropped, disputed', async () => {
    const id = await env.paid('navigation');
    expect(await env.db.tokens.count()).toBe(1);
    expect(await load(402)).toBe(true);
    expect((await env.db.payments.get(id))?.delivery).toMatchObject({
      status: 402,
      by: 'browser',
      refused: true,
      headers: [['www-authenticate', 'L402 macaroon="x", invoice="y"']],
    });
    expect((await env.db.payments.get(id))?.delivery?.sha256).toBeUndefined();
    expect(await env.db.tokens.count()).toBe(0);
    expect(await env.db.disputes.toArray()).toMatchObject([
      { source: 'refused', reasonSaid: { key: 'disputeRefusedByBrowser', args: ['402'] } },
    ]);
    expect(env.refusedNotice).toHaveBeenCalledTimes(1);
    // The next load meets the same challenge: not paid, not reloaded with the refused token.
    expect(await env.present('navigation')).toMatchObject({
      action: 'pass',
      said: { key: 'refusedDeliveredNothing' },
    });
    expect(env.pay).toHaveBeenCalledTimes(1);
  });

  it('a first load that delivered is kept as such: a later 402 (the token expired) is no refusal', async () => {
    const id = await env.paid('navigation');
    expect(await load(200)).toBe(false);
    expect((await env.db.payments.get(id))?.delivery).toMatchObject({ status: 200, by: 'browser' });
    expect(await load(402)).toBe(false);
    expect(await env.db.disputes.count()).toBe(0);
    expect(await env.db.tokens.count()).toBe(1);
  });

  it("another tab's load, or a load outside the token's scope, is not the token's first use", async () => {
    const id = await env.paid('navigation');
    expect(await load(402, TAB + 1)).toBe(false);
    expect(await load(402, TAB, `${APP}/other/page`)).toBe(false);
    expect((await env.db.payments.get(id))?.delivery).toBeUndefined();
    expect(await env.db.tokens.count()).toBe(1);
  });

  it("a page's fetch token is no page-load token: a page load is never its first use", async () => {
    const id = await env.paid('fetch');
    expect(await load(402)).toBe(false);
    expect((await env.db.payments.get(id))?.delivery).toBeUndefined();
  });
});
