/**
 * `npm run bench:ledger`: does the decision + reservation stay fast as the ledger grows? The same
 * auto-paid request (402 → policy → reserve → pay → 200) is timed in real Chromium with 1 000 and
 * then 100 000 payments in the extension's IndexedDB, alternating, and the ratio of medians printed.
 * The decision reads running totals and an index range, never the history, so the ratio should
 * stay near 1 (target ≤ 1.5).
 */
import type { Page } from 'playwright-core';
import { buildExtension } from '../server/dev/build';
import { extensionUrl, launchWithExtension } from '../server/dev/chromium';
import { provisionFor, startStack } from '../server/dev/stack';
import { clearTokenTable } from '../test/e2e/harness/flows';
import { demoAlreadyKnown } from '../test/e2e/harness/provision';
import { setRules } from './rules';
import { FRESH } from './tokens';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 15);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

/** Adds `count` old payments straight into the extension's database (same shape as real rows). */
async function seed(page: Page, from: number, count: number, origin: string) {
  await page.evaluate(
    async ([start, n, o]) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open('paybound');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const tx = db.transaction('payments', 'readwrite');
      const store = tx.objectStore('payments');
      const monthAgo = Date.now() - 40 * 24 * 3600 * 1000;
      for (let i = start; i < start + n; i++) {
        store.put({
          id: `seed-${i}`,
          key: `l402:seed-${i}`,
          protocol: 'l402',
          origin: i % 3 === 0 ? o : `https://site${i % 97}.example`,
          url: `${o}/api/generate`,
          method: 'POST',
          via: 'fetch',
          railId: 'lnbits-standin',
          state: 'paid',
          approval: 'auto',
          amountMsat: 2_010_000n,
          amountMinor: 201n,
          invoice: 'lnbcrt',
          paymentHash: `seed-${i}`,
          invoiceExpiresAt: 0,
          macaroon: '',
          scheme: 'L402',
          tier: 'auto',
          reasons: [],
          budgetEffects: [],
          reservations: [],
          reservationState: 'committed',
          createdAt: monthAgo - i * 1000,
          updatedAt: monthAgo,
        });
      }
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    },
    [from, count, origin] as const,
  );
}

/** A browser with Paybound whose ledger holds `rows` old payments, set to pay every charge automatically. */
async function prepared(extensionDir: string, demoUrl: string, rows: number) {
  const browser = await launchWithExtension({ extensionDir });
  // Every charge pays automatically, and the runaway guard never trips (it would ask).
  await setRules(browser, {
    autoMaxMinor: '500',
    confirmMaxMinor: '500',
    runaway: { maxAuto: 1000, windowMs: 1000 },
    budgets: [],
  });
  const popup = await browser.context.newPage();
  await popup.goto(extensionUrl(browser.extensionId, 'src/ui/popup/index.html'));
  const origin = new URL(demoUrl).origin;
  for (let from = 0; from < rows; from += 10_000)
    await seed(popup, from, Math.min(10_000, rows - from), origin);
  const demo = await browser.context.newPage();
  await demo.goto(demoUrl);
  const paidRoundTrip = async () => {
    await clearTokenTable(popup);
    return demo.evaluate(async (fresh) => {
      const t0 = performance.now();
      const res = await fetch('/api/generate', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...fresh },
        body: '{"prompt":"x"}',
      });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return performance.now() - t0;
    }, FRESH);
  };
  return { browser, paidRoundTrip };
}

const stack = await startStack({ ports: { demo: 0, lnbits: 0, rates: 0, relay: 0 } });
// The demo is a site the user already let pay (its first charge would ask, as any new site's does).
const extensionDir = buildExtension({
  outDir: '.out/bench/dist',
  provision: { ...provisionFor(stack.info), ...demoAlreadyKnown(stack.info) },
});
const t0 = Date.now();
const small = await prepared(extensionDir, stack.info.demo, 1000);
const large = await prepared(extensionDir, stack.info.demo, 100_000);
const seedMs = Date.now() - t0;
try {
  for (let i = 0; i < 5; i++) {
    await small.paidRoundTrip();
    await large.paidRoundTrip();
  }
  // Side by side: the two ledgers alternate, so machine noise hits both alike.
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    a.push(await small.paidRoundTrip());
    b.push(await large.paidRoundTrip());
  }
  console.log(
    `auto-paid 402 round trip (decision + reservation inside), ${SAMPLES} samples each, alternating:`,
  );
  console.log(`  with 1 000 ledger rows:   median ${median(a).toFixed(1)} ms`);
  console.log(
    `  with 100 000 ledger rows: median ${median(b).toFixed(1)} ms (seeding both took ${seedMs} ms)`,
  );
  console.log(`  ratio 100k / 1k: ${(median(b) / median(a)).toFixed(2)}`);
} finally {
  await small.browser.close();
  await large.browser.close();
  await stack.close();
}
