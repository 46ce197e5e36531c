import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { crx } from '@crxjs/vite-plugin';
import react from '@vitejs/plugin-react';
import { build, defineConfig, type Plugin, type UserConfig } from 'vite';
import { manifestFor, parseTarget } from './manifest.config';
import { parseProvision } from './src/core/config/provisioning';

/**
 * Builds the extension for PAYBOUND_TARGET (chrome, the default, or firefox) into dist/ or
 * dist-firefox/ (or PAYBOUND_OUT_DIR).
 * `--mode development` reads PAYBOUND_PROVISION (a JSON file: rails, currency, rate sources) and bakes
 * it in; a production build refuses it, so a release can never carry a developer's wallet keys.
 */
/**
 * The quote window is built on its own, after the rest, as one script and one stylesheet. Built
 * with the popup and settings pages it loaded five shared chunks and two stylesheets: each file an
 * extension page asks for is a round trip to the browser process, and a new window waits on the
 * slowest (about 10 ms of its 402 → Pay button, measured in popup windows side by side). The
 * shared code it now repeats costs the package bytes, not the window time.
 */
function quoteWindowAlone(shared: Pick<UserConfig, 'resolve' | 'define'>): Plugin {
  let outDir = '';
  let sourcemap: boolean | 'inline' | 'hidden' = false;
  let mode = 'production';
  return {
    name: 'paybound:quote-window-alone',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
      sourcemap = config.build.sourcemap;
      mode = config.mode;
    },
    async closeBundle() {
      await build({
        configFile: false,
        root: import.meta.dirname,
        mode,
        logLevel: 'warn',
        plugins: [react()],
        ...shared,
        build: {
          outDir,
          emptyOutDir: false,
          copyPublicDir: false,
          sourcemap,
          minify: true,
          rollupOptions: {
            input: { approve: resolve(import.meta.dirname, 'src/ui/approve/index.html') },
            output: { codeSplitting: false },
            optimization: { inlineConst: false },
          },
        },
      });
    },
  };
}

export default defineConfig(({ mode }) => {
  const target = parseTarget(process.env.PAYBOUND_TARGET);
  const provisionPath = process.env.PAYBOUND_PROVISION;
  if (provisionPath && mode === 'production') {
    throw new Error('PAYBOUND_PROVISION is only read by development builds (vite build --mode development)');
  }
  const provision = provisionPath ? parseProvision(JSON.parse(readFileSync(provisionPath, 'utf8'))) : null;
  const shared: Pick<UserConfig, 'resolve' | 'define'> = {
    resolve: {
      alias: [
        // Dexie's package entry wraps its down-levelled UMD build; the ES module built for current
        // engines is the same library ~1.4 KB gzipped smaller, and every browser we ship to runs it.
        {
          find: /^dexie$/,
          replacement: resolve(import.meta.dirname, 'node_modules/dexie/dist/modern/dexie.mjs'),
        },
      ],
    },
    define: {
      __PAYBOUND_PROVISION__: JSON.stringify(provision),
      __PAYBOUND_TARGET__: JSON.stringify(target),
    },
  };
  return {
    plugins: [
      react(),
      crx({
        manifest: manifestFor(target),
        browser: target,
        // Content scripts must run synchronously at document_start to wrap fetch before the page's
        // first script, so they are built as self-contained IIFEs rather than loaded as modules.
        contentScripts: { standaloneFiles: ['src/content/main-world.ts', 'src/content/bridge.ts'] },
      }),
      quoteWindowAlone(shared),
    ],
    ...shared,
    build: {
      outDir: process.env.PAYBOUND_OUT_DIR ?? (target === 'firefox' ? 'dist-firefox' : 'dist'),
      emptyOutDir: true,
      sourcemap: mode === 'development',
      // Tests run the minified code a release ships; development builds add source maps.
      minify: true,
      rollupOptions: {
        // Inlining imported constants copied the Public Suffix List's 100 KB label string into each
        // place that reads it (three times, +70 KB gzipped in the worker): constants stay referenced.
        optimization: { inlineConst: false },
        // @noble/ciphers builds its unused ChaCha20-Poly1305 exports from this factory's result at load;
        // the factory only returns a function, so the bundler may drop them with Poly1305 (~2 KB).
        treeshake: { manualPureFunctions: ['_poly1305_aead'] },
      },
    },
    server: { port: 5173, strictPort: true },
  };
});
