/**
 * `npm run bench:card`: the card service under load. N authorizations (each then captured), with
 * C requests in flight, on two instances sharing a throwaway PostgreSQL cluster (durable: fsync
 * on), and the same on one instance of the embedded engine (PGlite in a data directory). Prints
 * throughput and p50/p99 latency per engine, and checks every request's outcome against the Stripe
 * stand-in's records: one PaymentIntent per challenge, captured for its amount, nothing lost or
 * doubled. Then the cost of one write (a payment row inserted) with 1 000 and with 100 000
 * payments stored, and the ratio (it must not grow with the table).
 *
 *   BENCH_N (default 400), BENCH_CONCURRENCY (default 20), BENCH_WRITES (default 300)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CardDb } from '../server/card/db';
import { generateReceiptKey } from '../server/card/keys';
import { startPostgresCluster } from '../server/dev/postgres-cluster';
import type { StripeStandin } from '../server/standins/stripe/index';
import { api, type CardStack, challengeId, linkCard } from '../test/unit/card/helpers';
import { startInstancePair } from '../test/unit/card/instances-stack';
import { startClockedStack } from '../test/unit/card/settlement-stack';

const N = Number(process.env.BENCH_N ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const WRITES = Number(process.env.BENCH_WRITES ?? 300);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};
const median = (xs: number[]) => quantile(xs, 0.5);

interface Target {
  label: string;
  stripe: StripeStandin;
  /** The instances' URLs; request i goes to urls[i % length], its capture to the next one. */
  urls: string[];
  stack: CardStack;
}

async function load(target: Target): Promise<void> {
  const token = await linkCard(target.stack);
  const jobs = Array.from({ length: N }, (_, i) => ({ i, cid: challengeId(), amount: 100 + (i % 50) }));
  const latencies: number[] = [];
  const outcomes = new Map<string, { pi: string; captured: number }>();
  const failures: string[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const urls = target.urls;
      let t = performance.now();
      const paid = await api(urls[job.i % urls.length]!, token, 'POST', '/api/payments', {
        challengeId: job.cid,
        amount: job.amount,
        currency: 'usd',
        destination: target.stack.merchant.accountId,
      });
      latencies.push(performance.now() - t);
      if (paid.status !== 201) {
        failures.push(`authorize ${job.cid}: ${paid.status}`);
        continue;
      }
      const pi = (paid.json.payment as { id: string }).id;
      t = performance.now();
      const captured = await api(
        urls[(job.i + 1) % urls.length]!,
        token,
        'POST',
        `/api/payments/${pi}/capture`,
        {},
      );
      latencies.push(performance.now() - t);
      if (captured.status !== 200) failures.push(`capture ${pi}: ${captured.status}`);
      else
        outcomes.set(job.cid, {
          pi,
          captured: (captured.json.payment as { amountCaptured: number }).amountCaptured,
        });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;

  // Every answer against Stripe's own records.
  const byChallenge = new Map<string, { id: string; status: string; received: number }[]>();
  for (const pi of target.stripe.state.paymentIntents.values()) {
    const cid = (pi.metadata as Record<string, string>).paybound_challenge_id;
    if (!cid) continue;
    const list = byChallenge.get(cid) ?? [];
    list.push({ id: pi.id, status: pi.status, received: Number(pi.amount_received) });
    byChallenge.set(cid, list);
  }
  let lost = 0;
  let doubled = 0;
  let mismatched = 0;
  for (const job of jobs) {
    const atStripe = byChallenge.get(job.cid) ?? [];
    const answered = outcomes.get(job.cid);
    if (atStripe.length > 1) doubled++;
    if (!answered || atStripe.length === 0) lost++;
    else if (
      atStripe[0]!.id !== answered.pi ||
      atStripe[0]!.status !== 'succeeded' ||
      atStripe[0]!.received !== job.amount ||
      answered.captured !== job.amount
    )
      mismatched++;
  }
  const requests = latencies.length;
  console.log(
    `${target.label.padEnd(34)} ${String(requests).padStart(5)} requests in ${seconds.toFixed(2)} s: ` +
      `${(requests / seconds).toFixed(0)} req/s, p50 ${median(latencies).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms; ` +
      `lost ${lost}, doubled ${doubled}, mismatched ${mismatched}, refused ${failures.length}`,
  );
  if (lost || doubled || mismatched || failures.length) {
    console.error(failures.slice(0, 5).join('\n'));
    process.exitCode = 1;
  }
}

/** Median time of one payment insert with `stored` payments in the table. */
async function writeCost(db: CardDb, stored: number): Promise<number> {
  const have = Number((await db.get('SELECT count(*) AS n FROM payments'))?.n ?? 0);
  if (have < stored) {
    await db.run(
      `INSERT INTO payments (payment_intent_id, challenge_id, device_id, destination, currency,
         amount_authorized, description, status, created_at, updated_at)
       SELECT 'pi_seed' || g, 'seed-' || g, 'dev_seed', 'acct_seed', 'usd', 100, '', 'succeeded', 1, 1
       FROM generate_series(?::bigint, ?::bigint) AS g`,
      [have + 1, stored],
    );
  }
  const times: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const id = randomBytes(9).toString('hex');
    const t = performance.now();
    await db.run(
      `INSERT INTO payments (payment_intent_id, challenge_id, device_id, destination, currency,
         amount_authorized, description, status, created_at, updated_at)
       VALUES (?, ?, 'dev_w', 'acct_w', 'usd', 100, '', 'requires_capture', 1, 1)`,
      [`pi_w${id}`, `w-${id}`],
    );
    times.push(performance.now() - t);
  }
  // Back to `stored` rows for the next measurement.
  await db.run("DELETE FROM payments WHERE device_id = 'dev_w'");
  return median(times);
}

async function writeCosts(label: string, db: CardDb): Promise<void> {
  const small = await writeCost(db, 1_000);
  const large = await writeCost(db, 100_000);
  console.log(
    `${label.padEnd(34)} one write: ${small.toFixed(3)} ms with 1 000 payments, ${large.toFixed(3)} ms with 100 000: ratio ${(large / small).toFixed(2)}`,
  );
}

const cluster = await startPostgresCluster({ durable: true });
const dir = mkdtempSync(join(tmpdir(), 'paybound-bench-card-'));
try {
  console.log(`card service load: ${N} authorizations + ${N} captures, ${CONCURRENCY} in flight`);
  const pair = await startInstancePair(await cluster.createDatabase('bench'));
  try {
    await load({
      label: 'PostgreSQL, two instances',
      stripe: pair.stripe,
      urls: [pair.a.url, pair.b.url],
      // Linked through the balancer: the link flow returns to the public URL.
      stack: {
        stripe: pair.stripe,
        card: { ...pair.a, url: pair.lb.url },
        merchant: pair.merchant,
        webhookSecret: pair.webhookSecret,
        close: pair.close,
      },
    });
  } finally {
    await pair.close();
  }
  const embedded = await startClockedStack({
    dbPath: join(dir, 'load-db'),
    receiptKeys: [generateReceiptKey()],
  });
  try {
    await load({
      label: 'embedded (PGlite), one instance',
      stripe: embedded.stripe,
      urls: [embedded.card.url],
      stack: embedded,
    });
  } finally {
    await embedded.close();
  }

  const pg = await CardDb.open({ databaseUrl: await cluster.createDatabase('writes') });
  try {
    await writeCosts('PostgreSQL', pg);
  } finally {
    await pg.close();
  }
  const lite = await CardDb.open({ dataDir: join(dir, 'writes-db') });
  try {
    await writeCosts('embedded (PGlite)', lite);
  } finally {
    await lite.close();
  }
} finally {
  cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
