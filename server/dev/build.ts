/** Builds the extension, optionally pre-configured with a provisioning file (development only). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ProvisionInput } from '../../src/core/config/provisioning';

export const ROOT = resolve(import.meta.dirname, '../..');

export function buildExtension(opts: { outDir: string; provision?: ProvisionInput }): string {
  const outDir = resolve(ROOT, opts.outDir);
  const env: NodeJS.ProcessEnv = { ...process.env, PAYBOUND_OUT_DIR: outDir };
  delete env.PAYBOUND_PROVISION;
  if (opts.provision) {
    const file = join(dirname(outDir), `${outDir.split('/').pop()}.provision.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(opts.provision, null, 2));
    env.PAYBOUND_PROVISION = file;
  }
  execFileSync(
    join(ROOT, 'node_modules/.bin/vite'),
    ['build', '--mode', 'development', '--logLevel', 'warn'],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return outDir;
}
