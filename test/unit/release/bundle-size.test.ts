/**
 * What a browser loads for the worker and the page script of a production build, gzipped: the
 * worker starts again after every idle spell and loads all of its modules each time, and the
 * main-world script runs in every frame of every page before the page's own scripts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleSizes, bundleSizes, workerModules } from '../../../server/dev/bundle-size';
import { buildRelease } from '../../../server/dev/package';

/**
 * Bytes, gzipped (kB as vite prints them: 1000 bytes). The worker's goal is 150 kB; today it
 * holds the Public Suffix List (~45 kB) and Dexie (~29 kB), which leave too little for the rest
 * (docs/design.md, "What the worker weighs"). This ceiling keeps it from growing unnoticed: raise
 * it only with the reason in the commit.
 */
const WORKER_GZIP_LIMIT = 191_000;
const MAIN_WORLD_GZIP_LIMIT = 2048;
/** The quote window: React DOM is most of it (about 69 kB). */
const QUOTE_WINDOW_GZIP_LIMIT = 120_000;

const work = mkdtempSync(join(tmpdir(), 'paybound-size-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the production build', () => {
  let sizes: BundleSizes;
  beforeAll(() => {
    sizes = bundleSizes(buildRelease('chrome', join(work, 'dist')));
  }, 120_000);

  it(`loads at most ${WORKER_GZIP_LIMIT} bytes gzipped for the worker`, () => {
    // The loader, the worker's own chunk and what it shares with the pages.
    expect(sizes.worker.length).toBeGreaterThanOrEqual(2);
    expect(sizes.workerGzip, JSON.stringify(sizes.worker)).toBeLessThanOrEqual(WORKER_GZIP_LIMIT);
  });

  it(`loads the quote window in one script and one stylesheet, at most ${QUOTE_WINDOW_GZIP_LIMIT} bytes gzipped`, () => {
    const files = sizes.quoteWindow.map((f) => f.file);
    // Beside its early question to the worker: every file more is a round trip as the window opens.
    expect(files.filter((f) => f !== 'approve-early.js' && f.endsWith('.js'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.css'))).toHaveLength(1);
    expect(files).toContain('approve-early.js');
    expect(sizes.quoteWindowGzip, JSON.stringify(sizes.quoteWindow)).toBeLessThanOrEqual(
      QUOTE_WINDOW_GZIP_LIMIT,
    );
  });

  it(`keeps the main-world script within ${MAIN_WORLD_GZIP_LIMIT} bytes gzipped`, () => {
    const mainWorld = sizes.contentScripts.find((s) => s.file.endsWith('main-world.js'));
    expect(mainWorld).toBeDefined();
    expect(mainWorld?.gzip).toBeLessThanOrEqual(MAIN_WORLD_GZIP_LIMIT);
  });
});

describe('workerModules', () => {
  it('follows static imports and re-exports through every chunk, each counted once', () => {
    const dir = join(work, 'graph');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'loader.js'), "import './assets/entry.js';\n");
    writeFileSync(
      join(dir, 'assets/entry.js'),
      'import{a as e}from"./shared.js";export*from"../more.js";const s={"import":"./not-a-module.js"};',
    );
    writeFileSync(join(dir, 'assets/shared.js'), 'import"./entry.js";export const a=1;');
    writeFileSync(join(dir, 'more.js'), 'export{a}from"./assets/shared.js";');
    expect(workerModules(dir, 'loader.js').map((p) => p.slice(dir.length + 1))).toEqual([
      'loader.js',
      'assets/entry.js',
      'assets/shared.js',
      'more.js',
    ]);
  });
});
