/**
 * Release packages, from production builds: the zip the Chrome Web Store takes and the Firefox
 * add-on, both written by `web-ext build` (a plain zip with manifest.json at its root). A
 * production build has no source maps and no provisioning; each package is checked for both
 * before it is reported.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TARGETS, type Target } from '../../manifest.config';
import manifest from '../../manifest.json' with { type: 'json' };
import { ROOT } from './build';
import { readZip } from './zip';

export interface ReleasePackage {
  target: Target;
  path: string;
  bytes: number;
}

const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);

/** A production build for one browser into `dir`. A developer's PAYBOUND_PROVISION never reaches it. */
export function buildRelease(target: Target, dir: string, env: NodeJS.ProcessEnv = process.env): string {
  // NODE_ENV as a release has it, also when a test runner set it for itself: libraries read it
  // (React's production build).
  const buildEnv: NodeJS.ProcessEnv = {
    ...env,
    PAYBOUND_TARGET: target,
    PAYBOUND_OUT_DIR: dir,
    NODE_ENV: 'production',
  };
  delete buildEnv.PAYBOUND_PROVISION;
  execFileSync(bin('vite'), ['build', '--mode', 'production', '--logLevel', 'error'], {
    cwd: ROOT,
    env: buildEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return dir;
}

/**
 * What a release package must not carry: source maps (files or references) and any of the
 * `forbidden` strings (e.g. a provisioning file's secrets). Returns the problems found.
 */
export function checkPackage(path: string, forbidden: readonly string[] = []): string[] {
  const problems: string[] = [];
  const entries = readZip(path);
  if (!entries.some((e) => e.name === 'manifest.json')) problems.push('no manifest.json at the root');
  for (const { name, data } of entries) {
    if (name.endsWith('.map')) problems.push(`${name}: a source map`);
    const text = data.toString('latin1');
    if (/[#@]\s*sourceMappingURL=/.test(text)) problems.push(`${name}: refers to a source map`);
    for (const s of forbidden) if (s && text.includes(s)) problems.push(`${name}: contains "${s}"`);
  }
  return problems;
}

/**
 * Builds and packs both browsers into `outDir` (default .out/packages): paybound-<target>-<version>.zip.
 * Throws, naming each problem, when a package carries what it must not.
 */
export function packageRelease(
  opts: { outDir?: string; env?: NodeJS.ProcessEnv; forbidden?: readonly string[] } = {},
): ReleasePackage[] {
  const outDir = resolve(ROOT, opts.outDir ?? '.out/packages');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const packages = TARGETS.map((target) => {
    const dir = buildRelease(target, join(outDir, 'build', target), opts.env);
    const filename = `paybound-${target}-${manifest.version}.zip`;
    execFileSync(
      bin('web-ext'),
      ['build', '--source-dir', dir, '--artifacts-dir', outDir, '--filename', filename, '--overwrite-dest'],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const path = join(outDir, filename);
    return { target, path, bytes: statSync(path).size };
  });
  // Only the packages stay: the builds they were made from are in them.
  rmSync(join(outDir, 'build'), { recursive: true, force: true });
  const problems = packages.flatMap((p) =>
    checkPackage(p.path, opts.forbidden).map((m) => `${p.path}: ${m}`),
  );
  if (problems.length > 0) throw new Error(`release packages refused:\n${problems.join('\n')}`);
  return packages;
}
