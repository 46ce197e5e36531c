import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LightningNode } from '../../../server/standins/lightning/node';
import { lightningWorker } from '../../../src/background/methods/lightning-worker';
import type { SenderContext } from '../../../src/background/sender';
import type { ApprovalService, Decision } from '../../../src/background/services/approvals';
import { PaymentService, retryVerdict, TAB_RATE } from '../../../src/background/services/payments';
import { type LightningRail, RailError } from '../../../src/background/services/rails/types';
import type { RateService } from '../../../src/background/services/rates';
import { type RuleApi, TokenService } from '../../../src/background/services/tokens';
import type { RetryHeader } from '../../../src/core/payments/retry-credential';
import { defaultRules, type Rules } from '../../../src/core/policy/rules';
import { said } from '../../../src/core/text/said';
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
const URL_ = 'https://app.example/api/generate';

// Every charge asks, unless a test says otherwise: these tests are about the payment flow.
const askingRules: Rules = { ...defaultRules('UTC'), autoMaxMinor: 0n };

function setup(
  opts: {
    decision?: Decision;
    rules?: Rules;
    rail?: RailRecord;
    now?: () => number;
    wakeAt?: (id: string, when: number) => Promise<void>;
    /** No session rules, as in Chromium: pages attach the tokens they are handed. */
    noRules?: boolean;
  } = {},
) {
  const spendingRules = opts.rules ?? askingRules;
  const db = new PayboundDb(`t-${Math.random()}`);
  const node = new LightningNode();
  const user = node.createWallet({ name: 'user', balanceMsat: 10_000_000n });
  const app = node.createWallet({ name: 'app' });
  const pay = vi.fn(async (invoice: string) => ({
    preimage: (await node.payInvoice(user.id, invoice)).preimage ?? '',
  }));
  const lookup = vi.fn<LightningRail['lookup']>(async () => ({ status: 'not_found' }));
  const rail: LightningRail = {
    id: RAIL.id,
    network: 'regtest',
    sendPayment: pay,
    lookup,
    balance: async () => 0n,
    makeInvoice: async (amountMsat, memo) => {
      const inv = node.createInvoice(user.id, { amountMsat, memo });
      return { paymentRequest: inv.bolt11, paymentHash: inv.paymentHash };
    },
    received: async (hash) => node.invoiceState(node.invoice(hash)!) === 'settled',
  };
  const rules: RuleApi = {
    updateSessionRules: vi.fn(async () => {}),
    getSessionRules: vi.fn(async () => []),
  };
  const tokens = new TokenService(db, opts.noRules ? undefined : rules);
  const approvals = {
    request: vi.fn(async (p: { id: string }) => {
      const decision = opts.decision ?? 'approved';
      await db.payments.update(p.id, { approval: decision });
      return decision;
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
  const deps: ConstructorParameters<typeof PaymentService>[0] = {
    db,
    rates,
    approvals,
    tokens,
    defaultRail: async () => opts.rail ?? RAIL,
    railFor: async () => rail,
    openRail: async (r) => r,
    rules: async () => spendingRules,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.wakeAt ? { wakeAt: opts.wakeAt } : {}),
  };
  const service = new PaymentService(deps);
  // A worker started again: the same database and wallet, nothing of the last one's memory.
  const restart = () => new PaymentService(deps);
  const challenge = (amountMsat = 21_000n) => {
    const inv = node.createInvoice(app.id, { amountMsat, memo: 'a haiku' });
    return {
      inv,
      headers: [['www-authenticate', l402Header(macaroonFor(inv.paymentHash), inv.bolt11)]] as const,
    };
  };
  const present = (
    headers: ReadonlyArray<readonly [string, string]>,
    extra: Partial<
      Pick<Parameters<PaymentService['onChallenge']>[0], 'answerEarly' | 'carried' | 'origin'>
    > = {},
  ) =>
    service.onChallenge({
      url: URL_,
      method: 'POST',
      headers,
      origin: 'https://app.example',
      tabId: 3,
      via: 'fetch',
      ...extra,
    });
  return { db, node, user, app, pay, lookup, rules, approvals, service, restart, challenge, present };
}

let env: ReturnType<typeof setup>;
beforeEach(async () => {
  env = setup();
  await env.db.rails.put(RAIL);
});
afterEach(async () => {
  await env.db.delete();
});

describe('PaymentService', () => {
  it('pays an approved challenge once, records every figure, and answers with the L402 credential', async () => {
    const { inv, headers } = env.challenge();
    const verdict = await env.present(headers);
    expect(verdict.action).toBe('retry');
    const [row] = await env.db.payments.toArray();
    expect(row).toMatchObject({
      state: 'paid',
      approval: 'approved',
      kind: 'lightning',
      amount: { unit: 'msat', value: 21_000n },
      amountMinor: 3n, // 21 sat at $100 000/BTC is 2.1 cents, rounded up
      rate: { currency: 'USD', minorPerBtc: 10_000_000n, source: 'test' },
      lightning: { paymentHash: inv.paymentHash },
      origin: 'https://app.example',
      description: 'a haiku',
    });
    expect(verdict.action === 'retry' && verdict.credential).toEqual({
      header: 'Authorization',
      value: `L402 ${row?.challenge.protocol === 'l402' ? row.challenge.macaroon : ''}:${inv.preimage}`,
    });
    expect(env.node.wallet(env.user.id)?.balanceMsat).toBe(10_000_000n - 21_000n);
  });

  it('pays the same challenge presented twice at once only once', async () => {
    const { headers } = env.challenge();
    const [a, b] = await Promise.all([env.present(headers), env.present(headers)]);
    expect(a).toEqual(b);
    expect(a.action).toBe('retry');
    expect(env.pay).toHaveBeenCalledTimes(1);
    expect(await env.db.payments.count()).toBe(1);
  });

  it('answers a challenge it already paid with the stored credential, paying nothing', async () => {
    const { headers } = env.challenge();
    const first = await env.present(headers);
    const again = await env.present(headers);
    expect(again).toMatchObject({
      action: 'retry',
      credential: first.action === 'retry' ? first.credential : {},
    });
    expect(env.pay).toHaveBeenCalledTimes(1);
  });

  it('never pays a denied challenge, even when it is presented again', async () => {
    await env.db.delete();
    env = setup({ decision: 'denied' });
    await env.db.rails.put(RAIL);
    const { headers } = env.challenge();
    expect(await env.present(headers)).toMatchObject({ action: 'pass', reason: 'you denied the payment' });
    expect(await env.present(headers)).toMatchObject({ action: 'pass' });
    expect(env.pay).not.toHaveBeenCalled();
    expect((await env.db.payments.toArray())[0]).toMatchObject({
      state: 'failed',
      failure: { code: 'denied' },
    });
  });

  it('flags a wrong preimage from the wallet and stores no token', async () => {
    env.pay.mockResolvedValueOnce({ preimage: '00'.repeat(32) });
    const { headers } = env.challenge();
    expect(await env.present(headers)).toMatchObject({ action: 'pass' });
    expect((await env.db.payments.toArray())[0]).toMatchObject({ state: 'proof_failed' });
    expect(await env.db.tokens.count()).toBe(0);
  });

  it('keeps a timed-out payment as unknown and settles it from the wallet later', async () => {
    const { inv, headers } = env.challenge();
    env.pay.mockRejectedValueOnce(new RailError('timeout', said('walletTimeout')));
    expect(await env.present(headers)).toMatchObject({ action: 'pass' });
    expect((await env.db.payments.toArray())[0]?.state).toBe('unknown');
    // The wallet did pay after all.
    env.lookup.mockResolvedValueOnce({ status: 'paid', preimage: inv.preimage });
    await env.service.reconcile();
    expect((await env.db.payments.toArray())[0]?.state).toBe('paid');
    expect(await env.db.tokens.count()).toBe(1);
    expect(env.pay).toHaveBeenCalledTimes(1);
  });

  it('records a payment paid only once its token rule is in the browser', async () => {
    // The rule update is the last step of caching the token; note the ledger's state while it runs.
    const states: (string | undefined)[] = [];
    vi.mocked(env.rules.updateSessionRules).mockImplementation(async () => {
      states.push((await env.db.payments.toArray())[0]?.state);
    });
    expect((await env.present(env.challenge().headers)).action).toBe('retry');
    expect(states).toEqual(['paying']);
    expect((await env.db.payments.toArray())[0]?.state).toBe('paid');
  });

  it('without session rules, the page hears its verdict before the token is kept, and the token comes before the record', async () => {
    await env.db.delete();
    env = setup({ noRules: true });
    await env.db.rails.put(RAIL);
    let atAnswer: Promise<number> | undefined;
    const states: (string | undefined)[] = [];
    const store = TokenService.prototype.store;
    const spy = vi.spyOn(TokenService.prototype, 'store').mockImplementation(async function (
      this: TokenService,
      ...a
    ) {
      states.push((await env.db.payments.toArray())[0]?.state);
      return store.apply(this, a);
    });
    try {
      const flow = env.present(env.challenge().headers, {
        answerEarly: () => {
          atAnswer = env.db.tokens.count();
        },
      });
      expect(await flow).toMatchObject({ action: 'retry', keep: { pathPrefix: '/api/' } });
      expect(await atAnswer).toBe(0);
      // Kept while the payment was still paying: whoever sees it paid finds the token.
      expect(states).toEqual(['paying']);
      expect(await env.db.tokens.count()).toBe(1);
      expect((await env.db.payments.toArray())[0]?.state).toBe('paid');
    } finally {
      spy.mockRestore();
    }
  });

  it('answers the page before the paid record is written, and `recorded` settles only once it is', async () => {
    expect(env.service.recorded()).toBeUndefined();
    let early: ((v: unknown) => void) | undefined;
    const heard = new Promise((r) => {
      early = r;
    });
    const { headers } = env.challenge();
    const flow = env.present(headers, { answerEarly: (v) => early?.(v) });
    expect(await heard).toMatchObject({ action: 'retry' });
    // The page has its credential: whoever asks next waits for the record.
    const waiting = env.service.recorded();
    expect(waiting).toBeDefined();
    await waiting;
    expect((await env.db.payments.toArray())[0]?.state).toBe('paid');
    expect(env.service.recorded()).toBeUndefined();
    expect(await flow).toMatchObject({ action: 'retry' });
  });

  it('with session rules (Firefox) the browser attached the token: a 402 in its scope refuses it and is paid anew', async () => {
    await env.present(env.challenge().headers);
    const again = await env.present(env.challenge().headers);
    expect(again).toMatchObject({ action: 'retry' });
    expect(again).not.toMatchObject({ held: true });
    expect(env.pay).toHaveBeenCalledTimes(2);
  });

  it('without session rules, answers a 402 in a held token’s scope with that token, paying nothing; only the site that paid', async () => {
    await env.db.delete();
    env = setup({ noRules: true });
    await env.db.rails.put(RAIL);
    const paid = await env.present(env.challenge().headers);
    // A new page of the site met the 402 without the token: it is handed the token it paid for.
    const held = await env.present(env.challenge().headers);
    expect(held).toMatchObject({
      action: 'retry',
      held: true,
      keep: { origin: 'https://app.example', pathPrefix: '/api/' },
      credential: { header: 'Authorization' },
    });
    expect(held.action === 'retry' && paid.action === 'retry' && held.credential.value).toBe(
      paid.action === 'retry' && paid.credential.value,
    );
    expect(env.pay).toHaveBeenCalledTimes(1);
    // A 402 in that scope asking for another protocol is not answered with the L402 token.
    expect(await env.present([['payment-required', 'e30=']])).not.toMatchObject({ held: true });
    // Another site's page asking for the same API gets nothing of it.
    const other = await env.present(env.challenge().headers, { origin: 'https://evil.example' });
    expect(other.action === 'retry' && paid.action === 'retry' && other.credential.value).not.toBe(
      paid.action === 'retry' && paid.credential.value,
    );
  });

  it('drops a cached token the server rejected and pays the new challenge', async () => {
    await env.present(env.challenge().headers);
    expect(await env.db.tokens.count()).toBe(1);
    // The request carried the token, and the server answered 402 again with a fresh challenge.
    const verdict = await env.present(env.challenge().headers, { carried: true });
    expect(verdict.action).toBe('retry');
    expect(env.pay).toHaveBeenCalledTimes(2);
    const tokens = await env.db.tokens.toArray();
    expect(tokens).toHaveLength(1);
    expect(verdict.action === 'retry' && tokens[0]?.authorization).toBe(
      verdict.action === 'retry' && verdict.credential.value,
    );
  });

  it('refuses without a quote when no wallet is linked', async () => {
    await env.db.rails.clear();
    const service = new PaymentService({
      db: env.db,
      rates: {} as RateService,
      approvals: env.approvals,
      tokens: new TokenService(env.db, env.rules),
      defaultRail: async () => undefined,
      railFor: async () => {
        throw new Error('unreachable');
      },
      openRail: async (r) => r,
      rules: async () => askingRules,
    });
    const verdict = await service.onChallenge({
      url: URL_,
      method: 'POST',
      headers: env.challenge().headers,
      origin: 'https://app.example',
      via: 'fetch',
    });
    expect(verdict).toEqual({ action: 'pass', reason: 'no wallet linked', said: { key: 'refusedNoWallet' } });
    expect(env.approvals.request).not.toHaveBeenCalled();
  });

  it('a flood from one tab is rate-limited: one log row for the burst, not one per request', async () => {
    // A clock that does not move: the bucket refills with time, and this test is about the count.
    const frozen = setup({ now: () => 1_700_000_000_000 });
    const junk = [['www-authenticate', 'L402 macaroon="m", invoice="lnbcrt1x"']] as const;
    for (let i = 0; i < TAB_RATE.burst + 30; i++) await frozen.present(junk);
    const log = await frozen.db.challenges.toArray();
    expect(log.filter((c) => c.error?.includes('too many payment requests'))).toHaveLength(1);
    // The burst is logged one row each; everything after it, one row in all.
    expect(log).toHaveLength(TAB_RATE.burst + 1);
    await frozen.db.delete();
  });

  it('a page wallet that says it failed keeps the amount reserved until the invoice expires; then it is released', async () => {
    const webln: RailRecord = {
      id: 'webln-page',
      kind: 'webln',
      label: 'page',
      network: 'regtest',
      config: {},
      createdAt: 0,
    };
    let now = Date.now();
    const wakes: [string, number][] = [];
    await env.db.delete();
    env = setup({
      rail: webln,
      now: () => now,
      wakeAt: async (id, when) => {
        wakes.push([id, when]);
      },
    });
    await env.db.rails.bulkPut([RAIL, webln]);
    const service = env.service;
    const { headers, inv } = env.challenge(21_000n);
    const handed = await service.onChallenge({
      url: URL_,
      method: 'POST',
      headers,
      origin: 'https://app.example',
      tabId: 3,
      via: 'fetch',
    });
    expect(handed).toMatchObject({
      action: 'pay-in-page',
      wallet: 'webln',
      request: { method: 'sendPayment', params: [inv.bolt11] },
    });
    const id = handed.action === 'pay-in-page' ? handed.paymentId : '';
    const sender = { audience: 'page' as const, origin: 'https://app.example', tabId: 3 };
    expect(
      await service.pageResult({ paymentId: id, wallet: 'webln', error: 'User rejected' }, sender),
    ).toMatchObject({
      action: 'pass',
    });
    const row = await env.db.payments.get(id);
    expect(row).toMatchObject({
      state: 'unknown',
      reservationState: 'held',
      failure: { code: 'page_wallet_unconfirmed' },
    });
    const expiresAt = (row?.expiresAt ?? 0) * 1000;
    expect(wakes).toContainEqual([id, expiresAt]);
    // Before the invoice expires, nothing changes; after, the amount is given back, and it says why.
    await service.expire(id);
    expect((await env.db.payments.get(id))?.reservationState).toBe('held');
    now = expiresAt + 1;
    await service.tidy();
    expect(await env.db.payments.get(id)).toMatchObject({ state: 'failed', reservationState: 'released' });
    expect(inv.paymentHash).toBeTruthy();
  });

  it('a denial that nobody waits on (the worker restarted) is released by the start-up tidy', async () => {
    // A quote that waits forever: the flow of this worker is "gone" with it.
    const waiting = setup({ decision: 'approved' });
    await waiting.db.rails.put(RAIL);
    (
      waiting.approvals.request as unknown as { mockImplementation(f: () => Promise<Decision>): void }
    ).mockImplementation(() => new Promise<Decision>(() => {}));
    void waiting.present(waiting.challenge().headers);
    await vi.waitFor(async () => expect(await waiting.db.payments.count()).toBe(1));
    const [p] = await waiting.db.payments.toArray();
    expect(p?.reservationState).toBe('held');
    await waiting.db.payments.update(p?.id ?? '', { approval: 'denied' });
    await waiting.service.tidy();
    expect(await waiting.db.payments.get(p?.id ?? '')).toMatchObject({
      state: 'failed',
      reservationState: 'released',
    });
    expect((await waiting.db.spend.toArray()).every((r) => r.reservedMinor === 0n)).toBe(true);
    await waiting.db.delete();
  });
});

describe('page wallet results: the page is untrusted', () => {
  const WEBLN: RailRecord = {
    id: 'webln-page',
    kind: 'webln',
    label: 'page',
    network: 'regtest',
    config: {},
    createdAt: 0,
  };
  const APP = { audience: 'page' as const, origin: 'https://app.example', tabId: 3 };
  let page: ReturnType<typeof setup>;
  beforeEach(async () => {
    page = setup({ rail: WEBLN });
    await page.db.rails.bulkPut([RAIL, WEBLN]);
  });
  afterEach(async () => {
    await page.db.delete();
  });

  /** A challenge presented by tab 3 of app.example, handed to its page wallet. */
  async function handed() {
    const { inv, headers } = page.challenge();
    const verdict = await page.present(headers);
    if (verdict.action !== 'pay-in-page') throw new Error(`not handed over: ${verdict.action}`);
    return { inv, paymentId: verdict.paymentId };
  }
  const state = async (id: string) => (await page.db.payments.get(id))?.state;

  it('an honest preimage pays: the retry carries the Authorization credential and the token is cached', async () => {
    const { inv, paymentId } = await handed();
    const verdict = await page.service.pageResult(
      { paymentId, wallet: 'webln', answer: { preimage: inv.preimage.toUpperCase(), route: {} } },
      APP,
    );
    const row = await page.db.payments.get(paymentId);
    expect(verdict).toEqual({
      action: 'retry',
      credential: {
        header: 'Authorization',
        value: `L402 ${row?.challenge.protocol === 'l402' ? row.challenge.macaroon : ''}:${inv.preimage}`,
      },
      reason: 'paid',
      paymentId,
      // The page sends its token on its later requests in the scope.
      keep: { origin: 'https://app.example', pathPrefix: '/api/' },
    });
    expect(row).toMatchObject({ state: 'paid', lightning: { preimage: inv.preimage } });
    expect(await page.db.tokens.count()).toBe(1);
  });

  it('a forged preimage (64 hex that does not hash to the invoice) is a failed proof: no token, the page keeps its 402', async () => {
    const { paymentId } = await handed();
    const verdict = await page.service.pageResult(
      { paymentId, wallet: 'webln', answer: { preimage: 'ab'.repeat(32) } },
      APP,
    );
    expect(verdict.action).toBe('pass');
    expect(await page.db.payments.get(paymentId)).toMatchObject({
      state: 'proof_failed',
      failure: { code: 'bad_preimage' },
    });
    expect(await page.db.tokens.count()).toBe(0);
  });

  it('an answer without a preimage (or a malformed one) proves nothing: the amount stays reserved', async () => {
    for (const answer of [
      { preimage: 'zz'.repeat(32) },
      { preimage: 'ab'.repeat(31) },
      'ok',
      { paid: true },
    ]) {
      const { paymentId } = await handed();
      expect(await page.service.pageResult({ paymentId, wallet: 'webln', answer }, APP)).toMatchObject({
        action: 'pass',
      });
      expect(await page.db.payments.get(paymentId), JSON.stringify(answer)).toMatchObject({
        state: 'unknown',
        reservationState: 'held',
        failure: { code: 'page_wallet_unconfirmed' },
      });
    }
    expect(await page.db.tokens.count()).toBe(0);
  });

  it("a result for another tab's payment, or from another site in the same tab, is refused and changes nothing", async () => {
    const { inv, paymentId } = await handed();
    const honest = { paymentId, wallet: 'webln' as const, answer: { preimage: inv.preimage } };
    const refused = { action: 'pass', reason: 'no payment is waiting for this page wallet' };
    expect(await page.service.pageResult(honest, { ...APP, tabId: 4 })).toEqual(refused);
    expect(await page.service.pageResult(honest, { ...APP, origin: 'https://evil.example' })).toEqual(
      refused,
    );
    expect(await page.service.pageResult(honest, { audience: 'page', origin: APP.origin })).toEqual(refused);
    expect(await state(paymentId)).toBe('paying');
    expect(await page.db.tokens.count()).toBe(0);
  });

  it('a result for a payment that was never handed to a page wallet, or naming another wallet kind, is refused', async () => {
    const { inv, paymentId } = await handed();
    const refused = { action: 'pass', reason: 'no payment is waiting for this page wallet' };
    // No such payment.
    const unknownId = '00000000-0000-4000-8000-000000000000';
    expect(
      await page.service.pageResult(
        { paymentId: unknownId, wallet: 'webln', answer: { preimage: inv.preimage } },
        APP,
      ),
    ).toEqual(refused);
    // The right payment, reported as another kind of wallet's answer.
    expect(
      await page.service.pageResult(
        { paymentId, wallet: 'eip1193', answer: { preimage: inv.preimage } },
        APP,
      ),
    ).toEqual(refused);
    expect(await state(paymentId)).toBe('paying');
  });

  it("a result for a payment the worker's own wallet is paying is refused: it was never the page's", async () => {
    let release = () => {};
    env.pay.mockImplementationOnce(
      () => new Promise((resolve) => (release = () => resolve({ preimage: '' }))),
    );
    const { inv, headers } = env.challenge();
    const flow = env.present(headers);
    await vi.waitFor(() => expect(env.pay).toHaveBeenCalled());
    const [paying] = await env.db.payments.toArray();
    expect(paying?.state).toBe('paying');
    expect(
      await env.service.pageResult(
        { paymentId: paying?.id ?? '', wallet: 'webln', answer: { preimage: inv.preimage } },
        APP,
      ),
    ).toEqual({ action: 'pass', reason: 'no payment is waiting for this page wallet' });
    expect((await env.db.payments.get(paying?.id ?? ''))?.state).toBe('paying');
    release();
    await flow;
  });

  it("a page wallet's payment left unconfirmed does not hold back its scope: only the page could settle it", async () => {
    const { paymentId } = await handed();
    await page.service.pageResult({ paymentId, wallet: 'webln', error: 'User rejected' }, APP);
    expect(await state(paymentId)).toBe('unknown');
    // The user tries again: a new invoice, handed to the page's wallet, not refused as "being checked".
    const again = await page.restart().onChallenge({
      url: URL_,
      method: 'POST',
      headers: page.challenge().headers,
      origin: APP.origin,
      tabId: APP.tabId,
      via: 'fetch',
    });
    expect(again).toMatchObject({ action: 'pay-in-page', wallet: 'webln' });
    expect(again.action === 'pay-in-page' && again.paymentId).not.toBe(paymentId);
    expect(page.lookup).not.toHaveBeenCalled();
  });

  it('a second result is refused, whether it comes after the first or while the first is checked', async () => {
    const { inv, paymentId } = await handed();
    const forged = { paymentId, wallet: 'webln' as const, answer: { preimage: 'ab'.repeat(32) } };
    const honest = { paymentId, wallet: 'webln' as const, answer: { preimage: inv.preimage } };
    // At once: the honest one is checked; the forged one does not get to turn it into a failed proof.
    const [first, second] = await Promise.all([
      page.service.pageResult(honest, APP),
      page.service.pageResult(forged, APP),
    ]);
    expect(first.action).toBe('retry');
    expect(second).toEqual({ action: 'pass', reason: 'no payment is waiting for this page wallet' });
    // After: the payment is paid; nothing a page says now changes it.
    expect(await page.service.pageResult(forged, APP)).toMatchObject({ action: 'pass' });
    expect(await page.service.pageResult({ paymentId, wallet: 'webln', error: 'failed' }, APP)).toMatchObject(
      {
        action: 'pass',
      },
    );
    expect(await page.db.payments.get(paymentId)).toMatchObject({
      state: 'paid',
      lightning: { preimage: inv.preimage },
    });
    expect(await page.db.tokens.count()).toBe(1);
  });
});

describe('retry credentials: only the listed headers leave the worker', () => {
  it('a credential naming another header is refused: paid is paid, but no token and no retry', async () => {
    const { inv, headers } = env.challenge();
    const spy = vi.spyOn(lightningWorker, 'pay');
    spy.mockImplementationOnce(async (p) => {
      if (p.kind !== 'lightning') throw new Error('a Lightning charge was expected');
      await env.node.payInvoice(env.user.id, p.lightning.invoice);
      return {
        kind: 'paid',
        patch: { lightning: { ...p.lightning, preimage: inv.preimage }, paidAt: Date.now() },
        credential: { header: 'Cookie' as RetryHeader, value: 'session=merchant-chosen' },
        reason: 'paid',
      };
    });
    const verdict = await env.present(headers);
    expect(verdict).toMatchObject({ action: 'pass', reason: expect.stringContaining('"Cookie"') });
    expect((await env.db.payments.toArray())[0]?.state).toBe('paid');
    expect(await env.db.tokens.count()).toBe(0);
    expect(env.rules.updateSessionRules).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it('a one-shot x402 header is handed to the page but never becomes a token', async () => {
    const { inv, headers } = env.challenge();
    const spy = vi.spyOn(lightningWorker, 'pay');
    spy.mockImplementationOnce(async () => ({
      kind: 'paid',
      patch: {
        lightning: { invoice: inv.bolt11, paymentHash: inv.paymentHash, preimage: inv.preimage },
        paidAt: Date.now(),
      },
      credential: { header: 'PAYMENT-SIGNATURE', value: 'eyJ4NDAyVmVyc2lvbiI6Mn0' },
      reason: 'paid',
    }));
    expect(await env.present(headers)).toMatchObject({
      action: 'retry',
      credential: { header: 'PAYMENT-SIGNATURE', value: 'eyJ4NDAyVmVyc2lvbiI6Mn0' },
    });
    expect(await env.db.tokens.count()).toBe(0);
    spy.mockRestore();
  });

  it('retryVerdict spells a listed header the canonical way and refuses any other', () => {
    expect(retryVerdict({ header: 'x-payment' as RetryHeader, value: 'abc' }, 'paid', 'p1')).toEqual({
      action: 'retry',
      credential: { header: 'X-PAYMENT', value: 'abc' },
      reason: 'paid',
      paymentId: 'p1',
    });
    for (const header of ['Cookie', 'Host', 'Proxy-Authorization', 'Authorization ', '']) {
      expect(retryVerdict({ header: header as RetryHeader, value: 'abc' }, 'paid', 'p1').action, header).toBe(
        'pass',
      );
    }
  });
});

describe('never paid twice for one request: a payment whose outcome was lost holds back its scope', () => {
  type Env = ReturnType<typeof setup>;
  const ASK = { method: 'POST', origin: 'https://app.example', tabId: 3, via: 'fetch' as const };
  const askOn = (
    service: PaymentService,
    headers: ReadonlyArray<readonly [string, string]>,
    over: Partial<Parameters<PaymentService['onChallenge']>[0]> = {},
  ) => service.onChallenge({ url: URL_, headers, ...ASK, ...over });

  /**
   * The wallet holds its answer to the first payment and the worker "dies" waiting for it: that
   * worker's flow never returns (the page got its 402). The wallet itself has the invoice and,
   * answered a lookup, says what the node says of it.
   */
  async function diesWhilePaying(e: Env, headers: ReadonlyArray<readonly [string, string]>) {
    let held: string | undefined;
    e.pay.mockImplementationOnce(async (invoice: string) => {
      held = invoice;
      return new Promise<never>(() => {});
    });
    void askOn(e.service, headers);
    await vi.waitFor(() => expect(held).toBeDefined());
    const [first] = await e.db.payments.toArray();
    expect(first?.state).toBe('paying');
    return { invoice: held ?? '', first: first! };
  }
  /** The lookup answers as a wallet would: paid (with its preimage), failed, or still in flight. */
  function walletSays(e: Env, answer: 'node' | 'failed' | 'pending') {
    e.lookup.mockImplementation(async (hash) => {
      if (answer === 'failed') return { status: 'failed' };
      const inv = e.node.invoice(hash);
      return answer === 'node' && inv && e.node.invoiceState(inv) === 'settled'
        ? { status: 'paid', preimage: inv.preimage }
        : { status: 'pending' };
    });
  }
  /** An MPP Lightning challenge for a new invoice of the app's. */
  function mppChallenge(e: Env, id: string) {
    const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const expires = new Date(Date.now() + 600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const inv = e.node.createInvoice(e.app.id, { amountMsat: 21_000n, memo: 'a haiku' });
    const request = b64url({ amount: '21', currency: 'sat', methodDetails: { invoice: inv.bolt11 } });
    const header = `Payment id="${id}", realm="r", method="lightning", intent="charge", expires="${expires}", request="${request}"`;
    return { inv, headers: [['www-authenticate', header]] as const };
  }
  const credentialOf = (p: { challenge: { protocol: string; macaroon?: string } }, preimage: string) =>
    `L402 ${p.challenge.protocol === 'l402' ? p.challenge.macaroon : ''}:${preimage}`;

  it('paid by the wallet while the worker was gone: the next challenge for the URL is retried with that payment’s token, and nothing new is paid', async () => {
    const first = env.challenge();
    const { invoice, first: row } = await diesWhilePaying(env, first.headers);
    // The wallet went on and paid.
    await env.node.payInvoice(env.user.id, invoice);
    walletSays(env, 'node');
    const paidOnce = env.node.wallet(env.user.id)?.balanceMsat;
    // A new worker; the page asks again at once, and the server answers with a fresh challenge.
    const worker = env.restart();
    const verdict = await askOn(worker, env.challenge().headers);
    expect(verdict).toMatchObject({
      action: 'retry',
      paymentId: row.id,
      credential: { header: 'Authorization', value: credentialOf(row, first.inv.preimage) },
    });
    expect(env.pay).toHaveBeenCalledTimes(1);
    expect(env.node.wallet(env.user.id)?.balanceMsat).toBe(paidOnce);
    expect(await env.db.payments.toArray()).toEqual([expect.objectContaining({ id: row.id, state: 'paid' })]);
    expect((await env.db.payments.get(row.id))?.credentialUnused).toBeUndefined();
    expect(await env.db.tokens.toArray()).toEqual([
      expect.objectContaining({ paymentId: row.id, authorization: credentialOf(row, first.inv.preimage) }),
    ]);
  });

  it('settled by the start-up check before the page asks again: the challenge takes that unused credential, once', async () => {
    const first = env.challenge();
    const { invoice, first: row } = await diesWhilePaying(env, first.headers);
    await env.node.payInvoice(env.user.id, invoice);
    walletSays(env, 'node');
    const worker = env.restart();
    await worker.reconcile();
    // Its token is a rule now; the page's request left before it was.
    expect(await env.db.payments.get(row.id)).toMatchObject({ state: 'paid' });
    expect(await env.db.tokens.count()).toBe(1);
    expect(await askOn(worker, env.challenge().headers)).toMatchObject({
      action: 'retry',
      paymentId: row.id,
    });
    expect(env.pay).toHaveBeenCalledTimes(1);
    // Used now: a challenge to a request that carried it (the server refused it) is a new charge.
    const next = await askOn(worker, env.challenge().headers, { carried: true });
    expect(next.action === 'retry' && next.paymentId).not.toBe(row.id);
    expect(env.pay).toHaveBeenCalledTimes(2);
    expect(await env.db.payments.count()).toBe(2);
  });

  it('an L402 token an earlier worker settled is not offered again where the browser attaches it: a 402 in its scope means it was refused', async () => {
    const { invoice, first: row } = await diesWhilePaying(env, env.challenge().headers);
    await env.node.payInvoice(env.user.id, invoice);
    walletSays(env, 'node');
    await env.restart().reconcile();
    expect((await env.db.payments.get(row.id))?.credentialUnused).toBeUndefined();
    const verdict = await askOn(env.restart(), env.challenge().headers);
    expect(verdict.action === 'retry' && verdict.paymentId).not.toBe(row.id);
    expect(env.pay).toHaveBeenCalledTimes(2);
  });

  it('without session rules, an L402 token an earlier worker settled is held for its scope: a new page is handed it, and a request that carried it and met a 402 pays anew', async () => {
    await env.db.delete();
    env = setup({ noRules: true });
    await env.db.rails.put(RAIL);
    const { invoice, first: row } = await diesWhilePaying(env, env.challenge().headers);
    await env.node.payInvoice(env.user.id, invoice);
    walletSays(env, 'node');
    await env.restart().reconcile();
    expect((await env.db.payments.get(row.id))?.credentialUnused).toBeUndefined();
    expect(await askOn(env.restart(), env.challenge().headers)).toMatchObject({
      action: 'retry',
      held: true,
      paymentId: row.id,
    });
    expect(env.pay).toHaveBeenCalledTimes(1);
    const verdict = await askOn(env.restart(), env.challenge().headers, { carried: true });
    expect(verdict.action === 'retry' && verdict.paymentId).not.toBe(row.id);
    expect(env.pay).toHaveBeenCalledTimes(2);
  });

  it('an MPP credential settled by an earlier worker is kept on the record, and offered to the next challenge once', async () => {
    const { inv, headers } = mppChallenge(env, 'm1');
    const { invoice, first: row } = await diesWhilePaying(env, headers);
    expect(invoice).toBe(inv.bolt11);
    await env.node.payInvoice(env.user.id, invoice);
    walletSays(env, 'node');
    await env.restart().reconcile();
    expect(await env.db.payments.get(row.id)).toMatchObject({ state: 'paid', credentialUnused: true });
    const worker = env.restart();
    const [a, b] = await Promise.all([
      askOn(worker, mppChallenge(env, 'm2').headers),
      askOn(worker, mppChallenge(env, 'm3').headers),
    ]);
    // One of the two gets the unused credential; the other is its own charge.
    expect([a, b].filter((v) => v.action === 'retry' && v.paymentId === row.id)).toHaveLength(1);
    expect([a, b].every((v) => v.action === 'retry')).toBe(true);
    expect(env.pay).toHaveBeenCalledTimes(2);
    expect((await env.db.payments.get(row.id))?.credentialUnused).toBeUndefined();
  });

  it('an MPP credential no page has used is retried once: the next challenge after that is paid', async () => {
    const mpp = (id: string) => mppChallenge(env, id);
    const first = mpp('m1');
    const { invoice, first: row } = await diesWhilePaying(env, first.headers);
    await env.node.payInvoice(env.user.id, invoice);
    walletSays(env, 'node');
    const worker = env.restart();
    const retried = await askOn(worker, mpp('m2').headers);
    expect(retried).toMatchObject({ action: 'retry', paymentId: row.id });
    expect(retried.action === 'retry' && retried.credential.value).toMatch(/^Payment /);
    expect(env.pay).toHaveBeenCalledTimes(1);
    // MPP credentials are single use, and no token serves the scope: the next one is its own charge.
    const next = await askOn(worker, mpp('m3').headers);
    expect(next.action === 'retry' && next.paymentId).not.toBe(row.id);
    expect(env.pay).toHaveBeenCalledTimes(2);
  });

  it('failed at the wallet: the next challenge is paid as a new charge', async () => {
    const { first: row } = await diesWhilePaying(env, env.challenge().headers);
    walletSays(env, 'failed');
    const worker = env.restart();
    const second = env.challenge();
    const verdict = await askOn(worker, second.headers);
    expect(verdict).toMatchObject({ action: 'retry' });
    expect(verdict.action === 'retry' && verdict.paymentId).not.toBe(row.id);
    expect(env.pay).toHaveBeenCalledTimes(2);
    expect(await env.db.payments.get(row.id)).toMatchObject({
      state: 'failed',
      reservationState: 'released',
      failure: { code: 'not_paid' },
    });
    expect(env.node.invoiceState(second.inv)).toBe('settled');
  });

  it('still not known to the wallet: the next challenge is refused with the reason and nothing is paid; once the wallet says paid, it is served', async () => {
    const first = env.challenge();
    const { invoice, first: row } = await diesWhilePaying(env, first.headers);
    walletSays(env, 'pending');
    const before = env.node.wallet(env.user.id)?.balanceMsat;
    const worker = env.restart();
    expect(await askOn(worker, env.challenge().headers)).toEqual({
      action: 'pass',
      reason: 'a payment for this is still being checked with your wallet; ask again in a moment',
      said: { key: 'refusedStillChecking' },
      refusedBeforeLedger: true,
    });
    expect(env.pay).toHaveBeenCalledTimes(1);
    expect(env.lookup).toHaveBeenCalledTimes(1);
    expect(env.node.wallet(env.user.id)?.balanceMsat).toBe(before);
    expect(await env.db.payments.toArray()).toEqual([
      expect.objectContaining({ id: row.id, state: 'unknown', reservationState: 'held' }),
    ]);
    // The request log says why, in the words a person reads.
    const logged = await env.db.challenges.toArray();
    expect(logged.at(-1)).toMatchObject({ errorSaid: { key: 'refusedStillChecking' } });
    // The same challenge presented again is checked too, and refused the same way.
    expect(await askOn(worker, first.headers)).toMatchObject({ said: { key: 'refusedStillChecking' } });
    // The wallet finishes: asking again is served by that payment.
    await env.node.payInvoice(env.user.id, invoice);
    walletSays(env, 'node');
    expect(await askOn(worker, env.challenge().headers)).toMatchObject({
      action: 'retry',
      paymentId: row.id,
    });
    expect(env.pay).toHaveBeenCalledTimes(1);
  });

  it('another scope is not held back: another path, a page load, another paying site', async () => {
    await diesWhilePaying(env, env.challenge().headers);
    walletSays(env, 'pending');
    const worker = env.restart();
    const elsewhere = [
      { url: 'https://app.example/other/generate' },
      { url: 'https://api.example/api/generate' },
      { via: 'navigation' as const },
      { origin: 'https://other.example' },
    ];
    for (const over of elsewhere) {
      expect((await askOn(worker, env.challenge().headers, over)).action, JSON.stringify(over)).toBe('retry');
    }
    expect(env.pay).toHaveBeenCalledTimes(1 + elsewhere.length);
    expect(env.lookup).not.toHaveBeenCalled();
  });

  it('a payment this worker is still paying does not hold back the next challenge: its own flow answers its page', async () => {
    let release = () => {};
    env.pay.mockImplementationOnce(async (invoice: string) => {
      await new Promise<void>((go) => (release = go));
      return { preimage: (await env.node.payInvoice(env.user.id, invoice)).preimage ?? '' };
    });
    const first = env.present(env.challenge().headers);
    await vi.waitFor(() => expect(env.pay).toHaveBeenCalledTimes(1));
    expect((await env.present(env.challenge().headers)).action).toBe('retry');
    expect(env.lookup).not.toHaveBeenCalled();
    release();
    expect((await first).action).toBe('retry');
    expect(env.pay).toHaveBeenCalledTimes(2);
  });

  it('nor does one just moved to paying, before its wallet answers: the next challenge never reconciles it', async () => {
    // The first flow is held at its wallet call, after its move into `paying`.
    let holdNext = false;
    let held: (() => void) | undefined;
    const realPay = env.pay.getMockImplementation();
    const heldNow = new Promise<void>((arrived) => {
      env.pay.mockImplementation(async (invoice: string) => {
        if (!holdNext || !realPay) return realPay!(invoice);
        holdNext = false;
        await new Promise<void>((go) => {
          held = go;
          arrived();
        });
        return realPay(invoice);
      });
    });
    const moves = vi.spyOn(env.db.payments, 'update');
    const one = env.challenge();
    // Arm the hold for the first payment's wallet call.
    let armed = false;
    env.approvals.request = vi.fn(async (p: { id: string }) => {
      await env.db.payments.update(p.id, { approval: 'approved' });
      if (!armed) holdNext = armed = true;
      return 'approved' as const;
    }) as typeof env.approvals.request;
    const first = env.present(one.headers);
    await heldNow;
    expect((await env.db.payments.toArray()).map((p) => p.state)).toContain('paying');
    // A second challenge in the same scope, while the first is paying and its wallet has not answered.
    const second = await env.present(env.challenge().headers);
    expect(second.action).toBe('retry');
    expect(env.lookup).not.toHaveBeenCalled();
    held?.();
    expect((await first).action).toBe('retry');
    const states = (await env.db.payments.toArray()).map((p) => p.state);
    expect(states).toEqual(['paid', 'paid']);
    // The first payment was never taken for a lost one (moved to unknown or failed meanwhile).
    expect(
      moves.mock.calls.some(([, change]) =>
        ['unknown', 'failed'].includes((change as { state?: string }).state ?? ''),
      ),
    ).toBe(false);
  });
});

describe("a quote's window", () => {
  it('is asked for before the reservation is written, and the flow waits on that same window', async () => {
    const order: string[] = [];
    const add = env.db.payments.add.bind(env.db.payments);
    vi.spyOn(env.db.payments, 'add').mockImplementation((row, key) => {
      order.push('reservation written');
      return add(row, key);
    });
    const shown = Promise.resolve(true);
    const open = vi.fn((_p: PaymentRecord, written: Promise<unknown>) => {
      order.push('window asked');
      void written.then(() => order.push('reservation settled'));
      return shown;
    });
    Object.assign(env.approvals, { open });
    const verdict = await env.present(env.challenge().headers);
    expect(verdict.action).toBe('retry');
    expect(order.slice(0, 3)).toEqual(['window asked', 'reservation written', 'reservation settled']);
    expect(open).toHaveBeenCalledWith(
      expect.objectContaining({ tabId: 3, approval: 'waiting' }),
      expect.any(Promise),
    );
    expect(env.approvals.request).toHaveBeenCalledWith(expect.objectContaining({ tabId: 3 }), shown);
  });
});

describe('MPP conformance: refused before paying, evidence kept after', () => {
  const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');
  const BODY = '{"prompt":"a haiku"}';
  const DIGEST = `sha-256=:${createHash('sha256').update(BODY).digest('base64')}:`;
  const OPAQUE = b64url({ pi: 'pi_42' });

  function mppChallenge(extra: string) {
    const inv = env.node.createInvoice(env.app.id, { amountMsat: 21_000n, memo: 'a haiku' });
    const request = b64url({ amount: '21', currency: 'sat', methodDetails: { invoice: inv.bolt11 } });
    const header = `Payment id="m-${inv.paymentHash.slice(0, 8)}", realm="quill", method="lightning", intent="charge", request="${request}"${extra}`;
    return { inv, headers: [['www-authenticate', header]] as [string, string][] };
  }
  const presentWithBody = (headers: [string, string][], bodySha256?: string) =>
    env.service.onChallenge({
      url: URL_,
      method: 'POST',
      headers,
      origin: 'https://app.example',
      tabId: 3,
      via: 'fetch',
      ...(bodySha256 !== undefined ? { bodySha256 } : {}),
    });
  const balance = () => env.node.wallet(env.user.id)?.balanceMsat;

  it('a digest of another body is refused before paying: nothing recorded, nothing charged', async () => {
    const { headers } = mppChallenge(`, digest="${DIGEST}"`);
    const verdict = await presentWithBody(headers, sha256hex('{"prompt":"something else"}'));
    expect(verdict).toMatchObject({ action: 'pass' });
    expect(verdict.action === 'pass' && verdict.reason).toMatch(/another request body/);
    expect(env.pay).not.toHaveBeenCalled();
    expect(await env.db.payments.count()).toBe(0);
    expect(balance()).toBe(10_000_000n);
    const [logged] = await env.db.challenges.toArray();
    expect(logged?.error).toMatch(/another request body/);
  });

  it('a digest with an unknown algorithm, or an opaque that is not base64url, charges nothing', async () => {
    for (const extra of [', digest="md5=:1B2M2Y8AsgTpgAmY7PhCfg==:"', ', opaque="not+base64url="']) {
      const verdict = await presentWithBody(mppChallenge(extra).headers, sha256hex(BODY));
      expect(verdict.action).toBe('pass');
    }
    expect(env.pay).not.toHaveBeenCalled();
    expect(await env.db.payments.count()).toBe(0);
    expect(balance()).toBe(10_000_000n);
  });

  it('the matching body is paid once, and the credential echoes opaque and digest as sent', async () => {
    const { inv, headers } = mppChallenge(`, digest="${DIGEST}", opaque="${OPAQUE}", x-trace="t 1"`);
    const verdict = await presentWithBody(headers, sha256hex(BODY));
    expect(verdict.action).toBe('retry');
    const value = verdict.action === 'retry' ? verdict.credential.value : '';
    const decoded = JSON.parse(Buffer.from(value.slice(8), 'base64url').toString());
    expect(decoded.challenge).toMatchObject({ opaque: OPAQUE, digest: DIGEST, 'x-trace': 't 1' });
    expect(decoded.payload).toEqual({ preimage: inv.preimage });
    expect(balance()).toBe(10_000_000n - 21_000n);
    expect((await env.db.payments.toArray())[0]?.requestBodySha256).toBe(sha256hex(BODY));
  });

  it("keeps the app's Payment-Receipt and the reason of a Problem Details refusal on the delivery", async () => {
    const first = mppChallenge('');
    await presentWithBody(first.headers);
    const second = mppChallenge('');
    await presentWithBody(second.headers);
    const [a, b] = await env.db.payments.orderBy('createdAt').toArray();
    const sender: SenderContext = { audience: 'page', tabId: 3, origin: 'https://app.example', frameId: 0 };
    const receipt = b64url({
      status: 'success',
      method: 'lightning',
      timestamp: '2026-11-25T12:00:00Z',
      reference: 'ref-1',
    });
    expect(
      await env.service.delivered(
        { paymentId: a!.id, status: 200, sha256: 'a'.repeat(64), headers: [['Payment-Receipt', receipt]] },
        sender,
      ),
    ).toEqual({ recorded: true });
    const problem = JSON.stringify({
      type: 'https://paymentauth.org/problems/verification-failed',
      title: 'Verification failed',
      status: 402,
      detail: 'the preimage does not match',
    });
    await env.service.delivered({ paymentId: b!.id, status: 402, sha256: 'b'.repeat(64), problem }, sender);
    expect((await env.db.payments.get(a!.id))?.delivery).toMatchObject({
      status: 200,
      receipt: { raw: receipt, status: 'success', method: 'lightning', reference: 'ref-1' },
    });
    expect((await env.db.payments.get(b!.id))?.delivery).toMatchObject({
      status: 402,
      problem: { title: 'Verification failed', detail: 'the preimage does not match', status: 402 },
    });
  });
});
