/**
 * Lets the bundler drop the parts of a prebundled dependency that nothing uses.
 *
 * @getalby/sdk ships its NWC client with nostr-tools bundled inside, and that bundle builds one
 * namespace object per NIP with esbuild's `__export(target, { name: () => name, … })`. The call
 * defines getters on an object, so a bundler must keep it — and with it every NIP of nostr-tools —
 * even where the object is never read. Rewritten as `var target = /* @__PURE__ *\/ namespace({…})`,
 * an unread namespace is an unused pure value and goes, while a read one (the client's nip04, nip44
 * and nip19) is built exactly as before.
 */
import type { Plugin } from 'vite';

const DECLARATION = /var (\w+) = \{\};\n__export\(\1, (\{[^{}]*\})\);/g;
const HELPER = /^var __export = \(target, all\) => \{$/m;
const NAMESPACE = '__paybound_namespace';

/**
 * The module with each `var x = {}; __export(x, {…});` turned into a pure call. Throws when the
 * code holds an `__export(` call of another shape: an update of the dependency must not silently
 * bring the whole bundle back, nor half-rewrite it.
 */
export function pureNamespaces(code: string): string {
  const helper = HELPER.exec(code);
  if (!helper) throw new Error('pureNamespaces: no esbuild __export helper in the module');
  const rewritten = code.replace(
    DECLARATION,
    // The line break stays where it was, so the dependency's own source map still lines up.
    (_all, name: string, getters: string) => `var ${name} =\n/* @__PURE__ */ ${NAMESPACE}(${getters});`,
  );
  if (rewritten.includes('__export(')) {
    throw new Error('pureNamespaces: an __export call this rewrite does not know the shape of');
  }
  // Defined on the helper's line, so it exists before the first namespace is built.
  const definition = `var ${NAMESPACE} = (all) => { const target = {}; __export(target, all); return target }; `;
  return rewritten.replace(HELPER, (line) => definition + line);
}

/** Applies {@link pureNamespaces} to the modules whose id ends with one of `files`. */
export function pureNamespacesPlugin(files: readonly string[]): Plugin {
  return {
    name: 'paybound:pure-namespaces',
    enforce: 'pre',
    transform(code, id) {
      const path = id.split('?')[0] ?? id;
      if (!files.some((f) => path.endsWith(f))) return null;
      return { code: pureNamespaces(code), map: null };
    },
  };
}
