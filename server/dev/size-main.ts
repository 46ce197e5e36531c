/**
 * `npm run size`: a production Chrome build with source maps in a temporary folder, and what its
 * worker and page scripts weigh gzipped, with the worker's bytes by package and project folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './build';
import { bundleSizes, sourceShares } from './bundle-size';

const dir = mkdtempSync(join(tmpdir(), 'paybound-size-'));
try {
  // A release build plus source maps, which add no code: the minified files are those it ships.
  const env: NodeJS.ProcessEnv = { ...process.env, PAYBOUND_TARGET: 'chrome', PAYBOUND_OUT_DIR: dir };
  delete env.PAYBOUND_PROVISION;
  execFileSync(join(ROOT, 'node_modules/.bin/vite'), ['build', '--sourcemap', '--logLevel', 'error'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const sizes = bundleSizes(dir);
  const row = (gzip: number, bytes: number, name: string) =>
    console.log(`${String(gzip).padStart(9)} ${String(bytes).padStart(9)}  ${name}`);
  console.log('    gzip     bytes  file');
  for (const f of sizes.worker) row(f.gzip, f.bytes, f.file);
  row(
    sizes.workerGzip,
    sizes.worker.reduce((s, f) => s + f.bytes, 0),
    'the worker, in all',
  );
  for (const f of sizes.contentScripts) row(f.gzip, f.bytes, f.file);
  for (const f of sizes.quoteWindow) row(f.gzip, f.bytes, f.file);
  row(
    sizes.quoteWindowGzip,
    sizes.quoteWindow.reduce((s, f) => s + f.bytes, 0),
    'the quote window, in all',
  );
  console.log('\n    gzip     bytes  the worker by source (each gzipped alone)');
  for (const s of sourceShares(
    dir,
    sizes.worker.map((f) => f.file),
  ))
    row(s.gzip, s.bytes, s.source);
} catch (e) {
  console.error(`paybound: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
