/**
 * `npm run bench:tours [-- N]`: the headless tour of `npm start`, N times in a row (10 by default),
 * beside two CPU-bound processes — the busy machine a newcomer may have. Prints each run and the
 * count that passed; exits non-zero if any failed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../server/dev/build';

const runs = Number(process.argv[2] ?? 10);
const burners = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
let passed = 0;
try {
  for (let n = 1; n <= runs; n++) {
    const started = Date.now();
    const r = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), ['server/dev/start.ts'], {
      cwd: ROOT,
      env: { ...process.env, PAYBOUND_HEADLESS: '1' },
      encoding: 'utf8',
    });
    const ok = r.status === 0;
    if (ok) passed += 1;
    const last = (ok ? r.stdout : r.stderr).trim().split('\n').at(-1) ?? '';
    console.log(
      `tour ${n}: ${ok ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s — ${last}`,
    );
  }
} finally {
  for (const b of burners) b.kill();
}
console.log(`${passed} of ${runs} tours passed beside two CPU-bound processes`);
process.exitCode = passed === runs ? 0 : 1;
