/**
 * The main-world script runs in every frame of every page the user opens: it stays within 2 KB
 * gzipped, built as the extension builds it (minified, one self-contained script per target).
 */
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Rolldown } from 'vite';
import { describe, expect, it } from 'vitest';

const ENTRY = resolve(import.meta.dirname, '../../../src/content/main-world.ts');
const MAIN_WORLD_GZIP_LIMIT = 2048;

async function built(target: 'chrome' | 'firefox'): Promise<string> {
  const out = await build({
    configFile: false,
    logLevel: 'silent',
    define: { __PAYBOUND_TARGET__: JSON.stringify(target) },
    build: {
      write: false,
      minify: true,
      lib: { entry: ENTRY, formats: ['iife'], name: 'paybound' },
    },
  });
  const [first] = (Array.isArray(out) ? out : [out]) as Rolldown.RolldownOutput[];
  const chunk = first?.output[0];
  if (chunk?.type !== 'chunk') throw new Error('no script was built');
  return chunk.code;
}

describe('main-world script size', () => {
  for (const target of ['chrome', 'firefox'] as const) {
    it(`${target}: at most ${MAIN_WORLD_GZIP_LIMIT} bytes gzipped`, async () => {
      const code = await built(target);
      // A bundled dependency (a parser, the polyfill) would show here long before the limit.
      expect(code).not.toMatch(/valibot|webextension|browser\.runtime/);
      expect(gzipSync(code).length).toBeLessThanOrEqual(MAIN_WORLD_GZIP_LIMIT);
    });
  }
});
