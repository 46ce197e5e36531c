/** Builds the extension, optionally pre-configured with a provisioning file (development only). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Target } from '../../manifest.config';
import type { ProvisionInput } from '../../src/core/config/provisioning';

export const ROOT = resolve(import.meta.dirname, '../..');

/**
 * A development build (source maps; the provisioning baked in) for Chrome, or for Firefox; or, with
 * `production`, the build a user installs (no provisioning at all).
 */
export function buildExtension(opts: {
  outDir: string;
  provision?: ProvisionInput;
  target?: Target;
  production?: boolean;
}): string {
  if (opts.production && opts.provision) throw new Error('a production build carries no provisioning');
  const outDir = resolve(ROOT, opts.outDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PAYBOUND_OUT_DIR: outDir,
    PAYBOUND_TARGET: opts.target ?? 'chrome',
    // Libraries ship what a release ships (React's production build), also when the test runner
    // has set NODE_ENV=test for itself: the mode only adds source maps and the provisioning.
    NODE_ENV: 'production',
  };
  delete env.PAYBOUND_PROVISION;
  if (opts.provision) {
    const file = join(dirname(outDir), `${outDir.split('/').pop()}.provision.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(opts.provision, null, 2));
    env.PAYBOUND_PROVISION = file;
  }
  execFileSync(
    join(ROOT, 'node_modules/.bin/vite'),
    ['build', '--mode', opts.production ? 'production' : 'development', '--logLevel', 'warn'],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return outDir;
}
