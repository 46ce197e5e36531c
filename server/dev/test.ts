/**
 * `npm test`: every stage in order, stopping at the first that fails, and one closing line for
 * all of them: `N passed, N failed` (tests of every vitest project, plus one for each check
 * stage). The browsers are looked for first, so a machine without one hears it before anything runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './build';
import { findChromium } from './chromium';
import { findFirefox } from './firefox';

const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);
const reports = join(ROOT, '.out/test');

let passed = 0;
let failed = 0;

function close(code: number): never {
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exit(code);
}

function run(label: string, cmd: string, args: string[]): boolean {
  console.log(`\n— ${label}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
  return r.status === 0;
}

/** A check that is one pass or one failure: the type checker, the linter. */
function check(label: string, cmd: string, args: string[]): void {
  if (run(label, cmd, args)) passed += 1;
  else {
    failed += 1;
    console.error(`npm test: ${label} failed (above); later stages did not run`);
    close(1);
  }
}

/** A vitest project: its own counts, read from its JSON report. */
function tests(project: 'unit' | 'unit-pg' | 'e2e' | 'e2e-firefox'): void {
  const out = join(reports, `${project}.json`);
  rmSync(out, { force: true });
  const ok = run(`${project} tests`, bin('vitest'), [
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
  ]);
  let counts = { numPassedTests: 0, numFailedTests: 0 };
  try {
    counts = JSON.parse(readFileSync(out, 'utf8')) as typeof counts;
  } catch {
    // No report: the run itself broke (a setup error); count it as one failure.
    counts.numFailedTests = ok ? 0 : 1;
  }
  passed += counts.numPassedTests;
  failed += counts.numFailedTests + (ok || counts.numFailedTests > 0 ? 0 : 1);
  if (!ok) {
    console.error(`npm test: the ${project} tests failed (above); later stages did not run`);
    close(1);
  }
}

mkdirSync(reports, { recursive: true });
// Both browsers are needed (the Chrome suite, then the Firefox one): each missing one is named.
for (const [name, find] of [
  ['Chromium', findChromium],
  ['Firefox', findFirefox],
] as const) {
  try {
    console.log(`npm test: ${name} at ${find()}`);
  } catch (e) {
    console.error(`npm test: ${e instanceof Error ? e.message : String(e)}`);
    failed += 1;
  }
}
if (failed > 0) close(1);
check('typecheck (tsc --noEmit)', bin('tsc'), ['--noEmit', '-p', '.']);
check('lint (biome)', bin('biome'), ['check', '.']);
tests('unit');
// The card service and review desk suites again, on a throwaway PostgreSQL cluster.
tests('unit-pg');
tests('e2e');
tests('e2e-firefox');
close(0);
