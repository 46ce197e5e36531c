/**
 * `npm run bench:x402`: an auto-approved x402 round trip beside an auto-approved L402 one, in the
 * same browser and the same demo app, interleaved round by round (absolute times are noise on
 * these machines; the ratio is what to compare).
 *
 *   L402: the page's fetch → 402 → the worker pays the invoice through LNbits → retry → 200
 *   x402: the page's fetch → 402 → the page's Ethereum wallet (the stand-in) gives its account,
 *         its chain and a signature, each a round trip through the page → retry → the app's
 *         facilitator settles → 200
 */
import { pathToFileURL } from 'node:url';
import { buildExtension } from '../server/dev/build';
import { extensionUrl, launchWithExtension } from '../server/dev/chromium';
import { provisionFor, type StackInfo, startStack } from '../server/dev/stack';
import { installEthWallet } from '../server/standins/eth-wallet';
import { siteOf } from '../src/core/site/site';
import { clearTokenTable } from '../test/e2e/harness/flows';
import { FRESH } from './tokens';

const ROUNDS = Number(process.env.BENCH_X402_ROUNDS ?? 15);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/**
 * The figure, against a running stack (its facilitator stand-in funds the page's wallet). Prints
 * one line and returns the median ratio.
 */
export async function benchX402(
  info: StackInfo,
  fund: (address: string, amount: bigint) => void,
  rounds = ROUNDS,
): Promise<number> {
  // The demo site is known and pays automatically, both payees too: no window on either path.
  const provision = {
    ...provisionFor(info),
    sites: [
      {
        site: siteOf(info.demo) ?? '127.0.0.1',
        payees: [
          { kind: 'node' as const, id: info.payees.node },
          { kind: 'address' as const, id: info.x402.payTo.toLowerCase() },
        ],
        autoPay: { perChargeMinor: '1000', perDayMinor: '1000000' },
      },
    ],
    autoDayCapMinor: '1000000',
  };
  const extensionDir = buildExtension({ outDir: '.out/bench-x402/dist', provision });
  const browser = await launchWithExtension({ extensionDir });
  try {
    const wallet = await installEthWallet(browser.context);
    fund(wallet.address, 100_000_000n);
    // Every charge automatic, and the runaway guard out of the way (as bench/run.ts does).
    const popup = await browser.context.newPage();
    await popup.goto(extensionUrl(browser.extensionId, 'src/ui/popup/index.html'));
    const set = await popup.evaluate(async () => {
      const current = (await chrome.runtime.sendMessage({ type: 'rules.get', payload: {} })) as {
        data: Record<string, unknown>;
      };
      return chrome.runtime.sendMessage({
        type: 'rules.set',
        payload: {
          ...current.data,
          autoMaxMinor: '1000',
          confirmMaxMinor: '1000',
          runaway: { maxAuto: 1000, windowMs: 1000 },
          budgets: [],
        },
      });
    });
    if ((set as { ok?: boolean }).ok === false) throw new Error(`rules.set refused: ${JSON.stringify(set)}`);
    await popup.close();
    const page = await browser.context.newPage();
    await page.goto(info.demo);
    /** One paid request, timed in the page from fetch() to its answer; throws unless 200. */
    const roundTrip = (path: string, prompt: string) =>
      Promise.race([
        paidRequest(path, prompt),
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`${path} did not answer in 20 s (not paid automatically?)`)),
            20_000,
          ),
        ),
      ]);
    const paidRequest = (path: string, prompt: string) =>
      page.evaluate(
        async ([p, q, fresh]) => {
          const t0 = performance.now();
          const res = await fetch(p, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...fresh },
            body: JSON.stringify({ prompt: q }),
          });
          await res.text();
          return { ms: performance.now() - t0, status: res.status };
        },
        [path, prompt, FRESH] as const,
      );
    // L402 tokens would answer the next request without a payment: drop them before each one.
    const dropTokens = () => clearTokenTable(browser.serviceWorker);
    const l402: number[] = [];
    const x402: number[] = [];
    // One of each first, unmeasured: the worker and the routes warm.
    await dropTokens();
    await roundTrip('/api/generate', 'warm');
    await roundTrip('/x402/generate', 'warm');
    for (let i = 0; i < rounds; i++) {
      await dropTokens();
      const a = await roundTrip('/api/generate', `bench ${i}`);
      const b = await roundTrip('/x402/generate', `bench ${i}`);
      if (a.status !== 200 || b.status !== 200) throw new Error(`answered ${a.status} / ${b.status}`);
      l402.push(a.ms);
      x402.push(b.ms);
    }
    const ratios = x402.map((x, i) => x / (l402[i] ?? x));
    console.log(
      `auto-approved round trip, ${rounds} interleaved rounds: L402 median ${median(l402).toFixed(1)} ms, x402 median ${median(x402).toFixed(1)} ms; x402 / L402 per round: median ${median(ratios).toFixed(2)} (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`,
    );
    console.log(`the wallet was asked ${wallet.requests.length} times for ${rounds + 1} x402 payments`);
    return median(ratios);
  } finally {
    await browser.close();
  }
}

// Run directly: its own stack.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const stack = await startStack({
    ports: { demo: 0, lnbits: 0, rates: 0, relay: 0, stripe: 0, card: 0, facilitator: 0 },
  });
  try {
    await benchX402(stack.info, (a, n) => stack.facilitator.fund(a, n));
  } finally {
    await stack.close();
  }
}
