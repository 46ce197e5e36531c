/**
 * How much of a built extension a browser loads for its worker and its page scripts, gzipped.
 * The worker is its manifest entry and every file that entry imports, directly or through another:
 * a module service worker loads them all before its first event (it has no dynamic import()).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decode } from '@jridgewell/sourcemap-codec';

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
  /** Every file the quote window's page names, and what its scripts import. */
  quoteWindow: FileSize[];
  quoteWindowGzip: number;
}

/** The quote window's page in a build. */
export const QUOTE_WINDOW_PAGE = 'src/ui/approve/index.html';

/** The files an extension page's HTML names: its scripts (and their imports) and stylesheets. */
export function pageFiles(dir: string, page: string): string[] {
  const html = readFileSync(join(dir, page), 'utf8');
  const named = [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map((m) =>
    // Root-relative paths are the extension's root.
    join(dir, (m[1] as string).startsWith('/') ? '' : dirname(page), m[1] as string),
  );
  const files: string[] = [];
  for (const path of named) {
    const more = path.endsWith('.js') ? workerModules(dir, relative(dir, path)) : [path];
    for (const f of more) if (!files.includes(f)) files.push(f);
  }
  return files;
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
  const quoteWindow = pageFiles(dir, QUOTE_WINDOW_PAGE).map((p) => sizeOf(dir, p));
  return {
    worker,
    workerGzip: worker.reduce((sum, f) => sum + f.gzip, 0),
    contentScripts: scripts.map((js) => sizeOf(dir, join(dir, js))),
    quoteWindow,
    quoteWindowGzip: quoteWindow.reduce((sum, f) => sum + f.gzip, 0),
  };
}

export interface SourceShare {
  /** A package (`dexie`, `@noble/curves`) or a folder of the project (`src/background`). */
  source: string;
  bytes: number;
  /** Its code gzipped on its own: more than its share of the whole, which compresses across parts. */
  gzip: number;
}

/** Who a source path belongs to: the last package in its node_modules chain, or its project folder. */
export function ownerOf(source: string): string {
  const packages = [...source.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1] as string);
  if (packages.length > 0) return packages.join(' > ');
  const path = source.replace(/^(?:\.\.\/)+/, '');
  const src = path.indexOf('src/');
  const parts = (src >= 0 ? path.slice(src) : path).split('/');
  return parts.slice(0, Math.min(2, parts.length - 1)).join('/') || path;
}

/**
 * The bytes of the minified files, by the package or folder their source map says they came from.
 * Needs a build with source maps (`vite build --sourcemap`); files without a map count as "(no map)".
 */
export function sourceShares(dir: string, files: readonly string[]): SourceShare[] {
  const parts = new Map<string, string[]>();
  const add = (owner: string, text: string) => {
    if (text) parts.set(owner, [...(parts.get(owner) ?? []), text]);
  };
  for (const file of files) {
    const code = readFileSync(join(dir, file), 'utf8');
    const mapFile = join(dir, `${file}.map`);
    if (!existsSync(mapFile)) {
      add('(no map)', code);
      continue;
    }
    const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[]; mappings: string };
    const lines = code.split('\n');
    const mappings = decode(map.mappings);
    lines.forEach((line, l) => {
      let from = 0;
      let owner = '(unmapped)';
      for (const segment of mappings[l] ?? []) {
        add(owner, line.slice(from, segment[0]));
        from = segment[0];
        const source = segment.length > 1 ? map.sources[segment[1] as number] : undefined;
        owner = source === undefined ? '(unmapped)' : ownerOf(source);
      }
      add(owner, `${line.slice(from)}\n`);
    });
  }
  return [...parts]
    .map(([source, texts]) => {
      const text = texts.join('');
      return { source, bytes: Buffer.byteLength(text), gzip: gzipSync(text).length };
    })
    .sort((a, b) => b.bytes - a.bytes);
}
