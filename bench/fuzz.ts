/**
 * `npm run bench:fuzz -- [--runs N] [--seed S] [--only name,name] [--no-shrink]`: the full run of the
 * parser fuzz properties (test/fuzz/parsers.fuzz.ts). By default each property runs enough inputs
 * for the total to reach 100 000; prints one line per property and a total, and exits non-zero on
 * any failure.
 *
 * The properties run in a child process that reports every input: a parser call that never returns
 * cannot be interrupted from inside its own thread, so the parent watches for progress and stops the
 * child when it stalls.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FuzzFailure, fuzzProperties, type PropertyResult, runFuzz } from '../test/fuzz/parsers.fuzz';

const TOTAL_INPUTS = 100_000;
/** No input for this long: a hang, not a slow call (each call is bounded at 200 ms, timed twice). */
const STALL_MS = 30_000;
const CHILD_ENV = 'PAYBOUND_FUZZ_CHILD';

interface Args {
  runs: number;
  seed: number;
  only?: string[];
  shrink: boolean;
}

type Message =
  | { kind: 'start'; name: string }
  | { kind: 'beat' }
  | { kind: 'result'; result: PropertyResult }
  | { kind: 'done' };

function parseArgs(argv: readonly string[]): Args {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const runs = Number(value('--runs') ?? Math.ceil(TOTAL_INPUTS / fuzzProperties.length));
  const seed = Number(value('--seed') ?? Math.floor(Math.random() * 2 ** 31));
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');
  const only = value('--only')?.split(',');
  const unknown = only?.filter((n) => !fuzzProperties.some((p) => p.name === n)) ?? [];
  if (unknown.length) throw new Error(`no such property: ${unknown.join(', ')}`);
  return { runs, seed, shrink: !argv.includes('--no-shrink'), ...(only ? { only } : {}) };
}

function child(args: Args): void {
  const send = (m: Message, then?: () => void) => (then ? process.send?.(m, then) : process.send?.(m));
  let lastBeat = 0;
  try {
    runFuzz(args.runs, {
      seed: args.seed,
      endOnFailure: !args.shrink,
      ...(args.only ? { only: args.only } : {}),
      onStart: (name) => send({ kind: 'start', name }),
      onResult: (result) => send({ kind: 'result', result }),
      onInput: () => {
        const now = performance.now();
        if (now - lastBeat > 250) {
          lastBeat = now;
          send({ kind: 'beat' });
        }
      },
    });
  } catch (e) {
    if (!(e instanceof FuzzFailure)) throw e;
  }
  send({ kind: 'done' }, () => process.disconnect());
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
// Counterexamples may hold strings of tens of kilobytes.
const clip = (s: string, n = 600) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);

function parent(args: Args): void {
  console.log(
    `fuzz: ${args.runs} runs per property, seed ${args.seed} ` +
      `(replay one: npx tsx bench/fuzz.ts --seed ${args.seed} --runs ${args.runs} --only <name>)`,
  );
  const childArgs = ['--runs', String(args.runs), '--seed', String(args.seed)];
  if (args.only) childArgs.push('--only', args.only.join(','));
  if (!args.shrink) childArgs.push('--no-shrink');
  const worker: ChildProcess = fork(fileURLToPath(import.meta.url), childArgs, {
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  const results: PropertyResult[] = [];
  let current = '';
  let lastProgress = Date.now();
  let done = false;
  const started = Date.now();

  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress < STALL_MS) return;
    const where = current || 'start-up';
    console.log(`${where}: no input finished for ${seconds(STALL_MS)}: a hang (seed ${args.seed})`);
    clearInterval(watchdog);
    worker.kill('SIGKILL');
    process.exitCode = 1;
  }, 1_000);

  worker.on('message', (m: Message) => {
    lastProgress = Date.now();
    if (m.kind === 'start') current = m.name;
    else if (m.kind === 'result') {
      const r = m.result;
      results.push(r);
      console.log(
        `${r.name.padEnd(32)} ${String(r.inputs).padStart(7)} inputs ${String(r.accepted).padStart(7)} accepted ` +
          `${seconds(r.ms).padStart(8)}${r.failure !== undefined ? '  FAILED' : ''}`,
      );
      if (r.failure !== undefined) {
        // The counterexample and the error, without the stack frames.
        const report = r.failure.replace(/^\s+at .*\n?/gm, '');
        console.log(
          `  ${report
            .split('\n')
            .map((line) => clip(line))
            .join('\n  ')}`,
        );
      }
    } else if (m.kind === 'done') done = true;
  });

  worker.on('exit', (code, signal) => {
    clearInterval(watchdog);
    const inputs = results.reduce((n, r) => n + r.inputs, 0);
    const failures = results.filter((r) => r.failure !== undefined).length;
    if (!done && process.exitCode !== 1) {
      console.log(`${current || 'start-up'}: the fuzz process ended early (${signal ?? `exit ${code}`})`);
    }
    const incomplete = !done ? 1 : 0;
    console.log(
      `fuzz: ${inputs} inputs, ${failures + incomplete} failures (${seconds(Date.now() - started)})`,
    );
    if (failures + incomplete > 0) process.exitCode = 1;
  });
}

const args = parseArgs(process.argv.slice(2));
if (process.env[CHILD_ENV] === '1') child(args);
else parent(args);
