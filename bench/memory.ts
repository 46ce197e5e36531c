/**
 * `npm run bench:memory`: the worker's JavaScript heap as payments pile up. One browser with
 * Paybound pays BENCH_MEMORY_PAYMENTS (10 000) automatic L402 charges of the demo app, one after
 * another (each token dropped before the next, so each request pays), and prints the heap the
 * worker uses (the DevTools protocol's Runtime.getHeapUsage, after a collection) at the start and
 * every tenth of the way. A heap that keeps growing with the count is a leak of the payment path.
 * BENCH_MEMORY_PAYMENTS sets the count; BENCH_MEMORY_MUTE=1 mutes the notice of each payment.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { buildExtension } from '../server/dev/build';
import { extensionUrl, launchWithExtension } from '../server/dev/chromium';
import { provisionFor, startStack } from '../server/dev/stack';
import { clearTokenTable } from '../test/e2e/harness/flows';
import { demoAlreadyKnown } from '../test/e2e/harness/provision';
import { setRules } from './rules';
import { FRESH } from './tokens';

const PAYMENTS = Number(process.env.BENCH_MEMORY_PAYMENTS ?? 10_000);
const STEP = Math.max(1, Math.round(PAYMENTS / 10));

/** The worker's heap in bytes after a collection, through a DevTools session attached to it. */
async function workerHeap(context: BrowserContext): Promise<{ used: number; total: number }> {
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  try {
    const { targetInfos } = (await cdp.send('Target.getTargets')) as {
      targetInfos: { targetId: string; type: string; url: string }[];
    };
    const sw = targetInfos.find(
      (t) => t.type === 'service_worker' && t.url.startsWith('chrome-extension://'),
    );
    if (!sw) throw new Error('no extension worker is running');
    const { sessionId } = (await cdp.send('Target.attachToTarget', {
      targetId: sw.targetId,
      flatten: false,
    })) as { sessionId: string };
    let next = 0;
    const ask = (method: string) =>
      new Promise<Record<string, number>>((resolve) => {
        const id = ++next;
        const onMessage = (e: { message: string }) => {
          const m = JSON.parse(e.message) as { id?: number; result?: Record<string, number> };
          if (m.id !== id) return;
          cdp.off('Target.receivedMessageFromTarget', onMessage);
          resolve(m.result ?? {});
        };
        cdp.on('Target.receivedMessageFromTarget', onMessage);
        void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
      });
    await ask('HeapProfiler.collectGarbage');
    const usage = await ask('Runtime.getHeapUsage');
    await cdp.send('Target.detachFromTarget', { sessionId });
    return { used: usage.usedSize ?? 0, total: usage.totalSize ?? 0 };
  } finally {
    await cdp.detach();
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

const stack = await startStack({ ports: { demo: 0, lnbits: 0, rates: 0, relay: 0 } });
// The demo is a site the user let pay automatically, with room for every charge of the run.
const known = demoAlreadyKnown(stack.info);
const extensionDir = buildExtension({
  outDir: '.out/bench/dist',
  provision: {
    ...provisionFor(stack.info),
    sites: (known.sites ?? []).map((s) => ({ ...s, autoPay: { perDayMinor: '1000000000' } })),
    autoDayCapMinor: '1000000000',
  },
});
// The stand-in wallet starts with 1 000 000 sats: enough for a hundred charges, not ten thousand.
const funded = await fetch(`${stack.info.lnbits}/_standin/fund`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ wallet: stack.info.wallets.user.id, amountMsat: String(PAYMENTS * 20_000_000) }),
});
if (!funded.ok) throw new Error(`funding the stand-in wallet answered ${funded.status}`);
const browser = await launchWithExtension({ extensionDir });
try {
  // Every charge pays by itself, and neither the runaway guard nor a daily cap asks.
  await setRules(browser, {
    autoMaxMinor: '500',
    confirmMaxMinor: '500',
    autoDayCapMinor: '1000000000',
    runaway: { maxAuto: 1000, windowMs: 1000 },
    budgets: [],
  });
  const popup = await browser.context.newPage();
  await popup.goto(extensionUrl(browser.extensionId, 'src/ui/popup/index.html'));
  // BENCH_MEMORY_MUTE=1: no notice per automatic payment (to tell the browser's share of the time).
  if (process.env.BENCH_MEMORY_MUTE === '1')
    await popup.evaluate(() =>
      chrome.runtime.sendMessage({ type: 'settings.set', payload: { muteAutoNotices: true } }),
    );
  // A tab may present 5 payment requests a second (a flood guard): the run takes turns in four.
  const tabs: Page[] = [];
  for (let k = 0; k < 4; k++) {
    const tab = await browser.context.newPage();
    await tab.goto(stack.info.demo);
    tabs.push(tab);
  }
  // Pays `n` charges in a row from the page; the worker drops each token so that the next pays.
  const pay = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await clearTokenTable(browser.serviceWorker);
      const demo = tabs[i % tabs.length] as Page;
      const status = await demo.evaluate(async (fresh) => {
        const res = await fetch('/api/generate', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...fresh },
          body: '{"prompt":"memory"}',
        });
        return res.status;
      }, FRESH);
      if (status !== 200) {
        const log = await popup.evaluate(() =>
          chrome.runtime.sendMessage({ type: 'challenges.recent', payload: { limit: 1 } }),
        );
        throw new Error(`payment ${i} answered ${status}: ${JSON.stringify(log)}`);
      }
    }
  };
  await pay(20);
  const start = await workerHeap(browser.context);
  console.log(`worker heap after 20 payments (warm): ${mb(start.used)} used of ${mb(start.total)}`);
  const t0 = Date.now();
  for (let done = 0; done < PAYMENTS; done += STEP) {
    await pay(Math.min(STEP, PAYMENTS - done));
    const heap = await workerHeap(browser.context);
    console.log(
      `  after ${Math.min(done + STEP, PAYMENTS)} payments more: ${mb(heap.used)} used (${heap.used >= start.used ? '+' : ''}${mb(heap.used - start.used)}), ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
} finally {
  await browser.close();
  await stack.close();
}
