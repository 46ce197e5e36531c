// The review service against real parts in node: the demo app's estimated route and review
// endpoint, the Lightning stand-in's LNbits API, the worker's own LNbits rail, and the ledger in
// fake-indexeddb. What the browser tests cannot do: race decisions, and move the clock.
import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DemoApp, startDemoApp } from '../../../server/merchant/demo/app';
import { writeDraft } from '../../../server/merchant/demo/generator';
import { countWords, draftActualMsat } from '../../../server/merchant/demo/pricing';
import type { ApprovalService } from '../../../src/background/services/approvals';
import { DisputeService } from '../../../src/background/services/disputes';
import { PaymentService } from '../../../src/background/services/payments';
import { LnbitsRail } from '../../../src/background/services/rails/lnbits';
import type { RateService } from '../../../src/background/services/rates';
import { ReviewError, ReviewService } from '../../../src/background/services/review';
import { type RuleApi, TokenService } from '../../../src/background/services/tokens';
import { defaultRules } from '../../../src/core/policy/rules';
import {
  type LightningPayment,
  PayboundDb,
  type PaymentRecord,
  type RailRecord,
} from '../../../src/db/schema';
import { balanceMsat, payInvoice, type Standin, startStandin, type WalletKeys } from '../merchant/helpers';

let lightning: Standin;
let user: WalletKeys;
let appKeys: WalletKeys;
let appOffsetMs = 0; // how far ahead of the real clock the demo app runs
let app: DemoApp;

beforeAll(async () => {
  const started = await startStandin();
  lightning = started.standin;
  user = started.user;
  appKeys = started.app;
  app = await startDemoApp({
    port: 0,
    lnbitsUrl: lightning.url,
    invoiceKey: started.app.invoiceKey,
    adminKey: started.app.adminKey,
    now: () => Date.now() + appOffsetMs,
  });
});

afterAll(async () => {
  await app?.close();
  await lightning?.close();
});

/** The Lightning details of a payment these tests made (all are Lightning). */
function lightningOf(p: PaymentRecord | undefined): LightningPayment['lightning'] {
  if (p?.kind !== 'lightning') throw new Error('not a Lightning payment');
  return p.lightning;
}

const actualMsat = (prompt: string) => draftActualMsat(prompt, countWords(writeDraft(prompt, 100)));

function setup() {
  const db = new PayboundDb(`review-${Math.random()}`);
  let now = Date.now();
  const clock = () => now;
  const rail: RailRecord = {
    id: 'lnbits-user',
    kind: 'lnbits',
    label: 'user',
    network: 'regtest',
    config: { url: lightning.url, adminKey: user.adminKey },
    createdAt: 0,
  };
  const disputes = new DisputeService(db, clock);
  const wakeAt = vi.fn(async () => {});
  const review = new ReviewService({
    db,
    disputes,
    openRail: async (r) => r,
    railFor: async (r) => new LnbitsRail(r as Extract<RailRecord, { kind: 'lnbits' }>),
    wakeAt,
    now: clock,
  });
  const rules: RuleApi = { updateSessionRules: async () => {}, getSessionRules: async () => [] };
  const payments = new PaymentService({
    db,
    rates: {
      current: async () => ({
        rate: { currency: 'USD', minorPerBtc: 10_000_000n, source: 'test', asOf: now },
        ageMs: 0,
        stale: false,
      }),
    } as unknown as RateService,
    // The user approves every quote (first payments to a site ask; the policy has its own tests).
    approvals: {
      request: async (p: { id: string }) => {
        await db.payments.update(p.id, { approval: 'approved' });
        return 'approved';
      },
      withdraw: async () => {},
    } as unknown as ApprovalService,
    tokens: new TokenService(db, rules),
    defaultRail: async () => rail,
    railFor: async (r) => new LnbitsRail(r as Extract<RailRecord, { kind: 'lnbits' }>),
    openRail: async (r) => r,
    // Everything is paid at once here: the policy has its own tests.
    rules: async () => ({ ...defaultRules('UTC'), autoMaxMinor: 100_000n, confirmMaxMinor: 100_000n }),
    onPaid: (id) => review.started(id),
    now: clock,
  });

  /** What the page and the worker do together: 402, pay, retry with the credential. */
  async function buy(prompt: string): Promise<string> {
    const url = `${app.url}/drafts/generate`;
    const send = (authorization?: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ prompt }),
      });
    const first = await send();
    expect(first.status).toBe(402);
    const verdict = await payments.onChallenge({
      url,
      method: 'POST',
      headers: [...first.headers],
      origin: new URL(app.url).origin,
      tabId: 1,
      via: 'fetch',
    });
    if (verdict.action !== 'retry') throw new Error(`not paid: ${verdict.reason}`);
    expect((await send(verdict.credential.value)).status).toBe(200);
    return verdict.paymentId ?? '';
  }
  const spent = async () => (await db.spend.toArray()).map((r) => r.committedMinor);
  return {
    db,
    rail,
    payments,
    review,
    wakeAt,
    buy,
    spent,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

let env: ReturnType<typeof setup>;
beforeEach(async () => {
  env = setup();
  await env.db.rails.put(env.rail);
});
afterEach(async () => {
  appOffsetMs = 0;
  await env.db.delete();
});

describe('ReviewService', () => {
  it('starts the window when paid and asks for a wake-up at its end', async () => {
    const id = await env.buy('a window');
    const p = await env.db.payments.get(id);
    expect(p?.review?.endsAt).toBe((p?.paidAt ?? 0) + 600_000);
    expect(env.wakeAt).toHaveBeenCalledWith(id, p?.review?.endsAt);
  });

  it('the user and the end of the window accepting at once decide once: the difference comes back once', async () => {
    const before = await balanceMsat(lightning.url, user);
    const id = await env.buy('a race');
    const [a, b] = await Promise.all([env.review.accept(id, 'user'), env.review.accept(id, 'window')]);
    expect(a.state).toBe('accepted');
    expect(b.state).toBe('accepted');
    expect(before - (await balanceMsat(lightning.url, user))).toBe(actualMsat('a race'));
    const p = await env.db.payments.get(id);
    expect(p?.settlement?.decidedBy).toBe('user');
    // Budgets count the actual, once, however often the sweep looks again.
    const spentNow = await env.spent();
    await env.review.sweep();
    await env.review.sweep();
    expect(await env.spent()).toEqual(spentNow);
    expect(spentNow[0]).toBe((p?.amountMinor ?? 0n) - (p?.settlement?.countedMinor ?? 0n));
  });

  it('an accept cut short after the app paid the difference counts that refund, and asks for nothing more', async () => {
    const before = await balanceMsat(lightning.url, user);
    const id = await env.buy('cut short');
    const p = await env.db.payments.get(id);
    const back = (p?.amount.value ?? 0n) - actualMsat('cut short');
    // What the first attempt left behind: an invoice written down, and paid by the app.
    const invoice = await new LnbitsRail(env.rail as Extract<RailRecord, { kind: 'lnbits' }>).makeInvoice(
      back,
      'difference',
    );
    await payInvoice(lightning.url, appKeys, invoice.paymentRequest);
    await env.db.payments.update(id, {
      settlement: {
        refunded: 0n,
        pendingRefund: {
          invoice: invoice.paymentRequest,
          paymentHash: invoice.paymentHash,
          amount: back,
          requestedAt: 0,
        },
      },
    });
    const accepted = await env.review.accept(id, 'window');
    expect(accepted.settlement?.refunded).toBe(back);
    expect(accepted.settlement?.pendingRefund).toBeUndefined();
    expect(before - (await balanceMsat(lightning.url, user))).toBe(actualMsat('cut short'));
  });

  it('a refund settles the dispute it answers, not the over-report dispute of the same charge', async () => {
    const id = await env.buy('greedy then refunded #overcharge');
    await env.review.accept(id, 'user');
    // Both sides past the window: a late request, which the demo queues for its operator.
    env.advance(600_001);
    appOffsetMs = 600_001;
    const late = await env.review.requestRefund(id, 'asked back later', undefined);
    expect(late.answer?.status).toBe('refund_queued');
    await app.desk.payQueued(lightningOf(await env.db.payments.get(id)).paymentHash);
    await env.review.sweep();
    const byId = new Map((await env.db.disputes.toArray()).map((d) => [d.source, d.status]));
    expect(byId).toEqual(
      new Map([
        ['app', 'escalated'],
        ['user', 'refunded'],
      ]),
    );
  });

  it('two rejects at once make one dispute and one refund', async () => {
    const before = await balanceMsat(lightning.url, user);
    const id = await env.buy('a double reject');
    const [d1, d2] = await Promise.all([
      env.review.reject(id, 'bad', undefined),
      env.review.reject(id, 'bad again', undefined),
    ]);
    expect(d1.id).toBe(d2.id);
    expect(await env.db.disputes.count()).toBe(1);
    expect(await balanceMsat(lightning.url, user)).toBe(before);
    expect((await env.db.payments.get(id))?.state).toBe('refunded');
    expect(await env.spent()).toEqual([0n]);
  });

  it('the sweep accepts what the window left behind (a worker that slept through the alarm)', async () => {
    const id = await env.buy('slept through');
    await env.review.sweep();
    expect((await env.db.payments.get(id))?.state).toBe('paid');
    env.advance(600_001);
    await env.review.sweep();
    const p = await env.db.payments.get(id);
    expect(p?.state).toBe('accepted');
    expect(p?.settlement?.decidedBy).toBe('window');
  });

  it('refuses a reject after the window, and an accept of a rejected charge', async () => {
    const late = await env.buy('too late');
    const rejected = await env.buy('rejected first');
    await env.review.reject(rejected, 'bad', undefined);
    env.advance(600_001);
    await expect(env.review.reject(late, 'late', undefined)).rejects.toThrow(/review window closed/);
    await expect(env.review.accept(rejected, 'user')).rejects.toBeInstanceOf(ReviewError);
  });

  it('a refund queued longer than its invoice lives gets a fresh invoice, and is found once paid', async () => {
    const before = await balanceMsat(lightning.url, user);
    const id = await env.buy('queued for long #hold-refunds');
    const d = await env.review.reject(id, 'bad', undefined);
    expect(d.status).toBe('open');
    const first = (await env.db.payments.get(id))?.settlement?.pendingRefund;
    env.advance(8 * 24 * 3600 * 1000);
    await env.review.sweep();
    const renewed = (await env.db.payments.get(id))?.settlement?.pendingRefund;
    expect(renewed?.paymentHash).not.toBe(first?.paymentHash);
    expect(renewed?.amount).toBe(first?.amount);
    const p = await env.db.payments.get(id);
    await app.desk.payQueued(lightningOf(p).paymentHash);
    await env.review.sweep();
    expect((await env.db.payments.get(id))?.state).toBe('refunded');
    expect(await balanceMsat(lightning.url, user)).toBe(before);
  });

  it('proves a Lightning charge with the L402 credential it was paid with, never the bare preimage', async () => {
    const sent: Record<string, unknown>[] = [];
    const realFetch = globalThis.fetch;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      if (String(input).endsWith('/paybound/review') && typeof init?.body === 'string')
        sent.push(JSON.parse(init.body) as Record<string, unknown>);
      return realFetch(input, init);
    });
    try {
      const id = await env.buy('proof please');
      const p = await env.db.payments.get(id);
      const accepted = await env.review.accept(id, 'user');
      expect(accepted.state).toBe('accepted');
      expect(accepted.settlement?.refunded).toBeGreaterThan(0n);
      expect(sent.length).toBeGreaterThan(0);
      const macaroon = p?.challenge.protocol === 'l402' ? p.challenge.macaroon : '';
      for (const body of sent) expect(body.proof).toBe(`${macaroon}:${lightningOf(p).preimage}`);
    } finally {
      spy.mockRestore();
    }
  });

  it('proves an MPP Lightning charge with the MPP credential it was paid with', async () => {
    const mpp = await startDemoApp({
      port: 0,
      lnbitsUrl: lightning.url,
      invoiceKey: appKeys.invoiceKey,
      adminKey: appKeys.adminKey,
      mppLightning: true,
    });
    const sent: Record<string, unknown>[] = [];
    const realFetch = globalThis.fetch;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      if (String(input).endsWith('/paybound/review') && typeof init?.body === 'string')
        sent.push(JSON.parse(init.body) as Record<string, unknown>);
      return realFetch(input, init);
    });
    try {
      const url = `${mpp.url}/drafts/generate`;
      const send = (authorization?: string) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: JSON.stringify({ prompt: 'by mpp' }),
        });
      const first = await send();
      // Only the Payment challenge: the wallet pays L402 first when it is offered.
      const headers = [...first.headers].map(([k, v]): [string, string] =>
        k === 'www-authenticate'
          ? [
              k,
              v
                .split(/, (?=(?:L402|LSAT|Payment) )/)
                .filter((c) => c.startsWith('Payment '))
                .join(', '),
            ]
          : [k, v],
      );
      const verdict = await env.payments.onChallenge({
        url,
        method: 'POST',
        headers,
        origin: new URL(mpp.url).origin,
        tabId: 1,
        via: 'fetch',
      });
      if (verdict.action !== 'retry') throw new Error(`not paid: ${verdict.reason}`);
      expect(verdict.credential).toMatchObject({
        header: 'Authorization',
        value: expect.stringMatching(/^Payment /),
      });
      expect((await send(verdict.credential.value)).status).toBe(200);
      const accepted = await env.review.accept(verdict.paymentId ?? '', 'user');
      expect(accepted.state).toBe('accepted');
      expect(accepted.settlement?.refunded).toBeGreaterThan(0n);
      expect(sent.length).toBeGreaterThan(0);
      for (const body of sent) expect(body.proof).toBe(verdict.credential.value);
    } finally {
      spy.mockRestore();
      await mpp.close();
    }
  });

  it('refuses to refund more than was paid', async () => {
    const id = await env.buy('too much');
    const p = await env.db.payments.get(id);
    await expect(env.review.reject(id, 'all and more', (p?.amountMinor ?? 0n) + 1n)).rejects.toThrow(
      /at most what was paid/,
    );
    expect(await env.db.disputes.count()).toBe(0);
  });
});
