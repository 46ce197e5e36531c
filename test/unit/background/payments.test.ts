import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LightningNode } from '../../../server/standins/lightning/node';
import type { ApprovalService, Decision } from '../../../src/background/services/approvals';
import { PaymentService, TAB_RATE } from '../../../src/background/services/payments';
import { type LightningRail, RailError } from '../../../src/background/services/rails/types';
import type { RateService } from '../../../src/background/services/rates';
import { type RuleApi, TokenService } from '../../../src/background/services/tokens';
import { defaultRules, type Rules } from '../../../src/core/policy/rules';
import { said } from '../../../src/core/text/said';
import { PayboundDb, type RailRecord } from '../../../src/db/schema';
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
  const tokens = new TokenService(db, rules);
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
  const service = new PaymentService({
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
  });
  const challenge = (amountMsat = 21_000n) => {
    const inv = node.createInvoice(app.id, { amountMsat, memo: 'a haiku' });
    return {
      inv,
      headers: [['www-authenticate', l402Header(macaroonFor(inv.paymentHash), inv.bolt11)]] as const,
    };
  };
  const present = (headers: ReadonlyArray<readonly [string, string]>) =>
    service.onChallenge({
      url: URL_,
      method: 'POST',
      headers,
      origin: 'https://app.example',
      tabId: 3,
      via: 'fetch',
    });
  return { db, node, user, app, pay, lookup, rules, approvals, service, challenge, present };
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
    expect(verdict.action === 'retry' && verdict.authorization).toBe(
      `L402 ${row?.challenge.protocol === 'l402' ? row.challenge.macaroon : ''}:${inv.preimage}`,
    );
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
      authorization: first.action === 'retry' ? first.authorization : '',
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

  it('drops a cached token the server rejected and pays the new challenge', async () => {
    await env.present(env.challenge().headers);
    expect(await env.db.tokens.count()).toBe(1);
    // The browser attached the token, and the server answered 402 again with a fresh challenge.
    const verdict = await env.present(env.challenge().headers);
    expect(verdict.action).toBe('retry');
    expect(env.pay).toHaveBeenCalledTimes(2);
    const tokens = await env.db.tokens.toArray();
    expect(tokens).toHaveLength(1);
    expect(verdict.action === 'retry' && tokens[0]?.authorization).toBe(
      verdict.action === 'retry' && verdict.authorization,
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
    expect(handed.action).toBe('webln');
    const id = handed.action === 'webln' ? handed.paymentId : '';
    const sender = { audience: 'page' as const, origin: 'https://app.example', tabId: 3 };
    expect(await service.weblnResult({ paymentId: id, error: 'User rejected' }, sender)).toMatchObject({
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
