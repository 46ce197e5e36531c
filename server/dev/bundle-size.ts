/**
 * How much of a built extension a browser loads for its worker and its page scripts, gzipped.
 * The worker is its manifest entry and every file that entry imports, directly or through another:
 * a module service worker loads them all before its first event (it has no dynamic import()).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface FileSize {
  /** Path inside the build. */
  file: string;
  bytes: number;
  gzip: number;
}

export interface BundleSizes {
  worker: FileSize[];
  workerGzip: number;
  contentScripts: FileSize[];
}

/** Relative specifiers of a minified module's static imports and re-exports. */
const STATIC_IMPORT =
  /(?:\bimport|\bexport\s*(?:\*|\{[^}]*\}))\s*(?:[\w$*{},\s]*?\bfrom\s*)?["'](\.{1,2}\/[^"']+)["']/g;
/(?:\bimport|\bexport\s*(?:\*|\{[^}]*\}))\s*(?:[\w$*{},\s]+?\s*from\s*)?["'](\.{1,2}\/[^"']+)["']/g;

function sizeOf(dir: string, path: string): FileSize {
  const code = readFileSync(path);
  return { file: relative(dir, path), bytes: code.length, gzip: gzipSync(code).length };
}

/** The worker's entry and every module it imports statically, each once, entry first. */
export function workerModules(dir: string, entry: string): string[] {
  const seen: string[] = [];
  const queue = [join(dir, entry)];
  while (queue.length > 0) {
    const path = queue.shift() as string;
    if (seen.includes(path)) continue;
    seen.push(path);
    for (const m of readFileSync(path, 'utf8').matchAll(STATIC_IMPORT)) {
      queue.push(join(dirname(path), m[1] as string));
    }
  }
  return seen;
}

/** The sizes of the build in `dir` (a Chrome build: its manifest names a service worker). */
export function bundleSizes(dir: string): BundleSizes {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    background: { service_worker: string };
    content_scripts?: { js: string[] }[];
  };
  const worker = workerModules(dir, manifest.background.service_worker).map((p) => sizeOf(dir, p));
  const scripts = [...new Set((manifest.content_scripts ?? []).flatMap((c) => c.js))];
  return {
    worker,
    workerGzip: worker.reduce((sum, f) => sum + f.gzip, 0),
    contentScripts: scripts.map((js) => sizeOf(dir, join(dir, js))),
  };
}
