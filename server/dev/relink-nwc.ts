/**
 * Links @getalby/sdk's NWC client to the one installed nostr-tools instead of the copy it ships.
 *
 * The sdk's `dist/esm/nwc.js` inlines nostr-tools (every NIP, as namespace objects a bundler cannot
 * drop) with its own older @noble/curves, @noble/hashes, @scure/base and @noble/ciphers: a second
 * secp256k1 and SHA-256 beside the ones the worker already has, about 10 KB gzipped of its bundle.
 * The sdk declares nostr-tools (^2.17) as a dependency, so its client code is kept byte for byte and
 * the inlined copy is swapped for imports of the same functions from the installed package, whose
 * @noble and @scure dependencies package.json's overrides make the project's own.
 *
 * The rewrite is pinned to one release's file: any other content stops the build, so an update of
 * the sdk is looked at (which names its client takes from the copy) before it ships.
 */
import { createHash } from 'node:crypto';
import type { Plugin } from 'vite';

/** The module this rewrites, as its id ends. */
export const NWC_MODULE = '@getalby/sdk/dist/esm/nwc.js';

/** sha256 of @getalby/sdk 7.0.0's dist/esm/nwc.js, without its source-map comment (which a loader may blank out). */
export const NWC_MODULE_SHA256 = '0acdc6904c014cb3b3722aecc7fb66a8ceb764d522f81a3c9d3e41d1a32806bb';

/** The last of the sdk's own error classes, which open the file; the inlined copy follows. */
const COPY_STARTS_AFTER = 'class Nip47UnsupportedEncryptionError extends Nip47Error {\n}\n';
/** The sdk's own code again: the clients, up to the end of the file. */
const COPY_ENDS_BEFORE = '\nclass NWCClient {\n';

/**
 * Every name the sdk's clients take from the inlined copy, from where the installed packages export
 * it (read off the 7.0.0 file: these, and otherwise only globals, are its free names).
 */
const IMPORTS = [
  "import { bytesToHex as bytesToHex$2, hexToBytes as hexToBytes$2 } from '@noble/hashes/utils.js';",
  "import * as nip04_exports from 'nostr-tools/nip04';",
  "import * as nip19_exports from 'nostr-tools/nip19';",
  "import * as nip44_exports from 'nostr-tools/nip44';",
  "import { SimplePool } from 'nostr-tools/pool';",
  "import { finalizeEvent, generateSecretKey, getEventHash, getPublicKey } from 'nostr-tools/pure';",
  "import { Relay } from 'nostr-tools/relay';",
];

const fingerprint = (code: string) =>
  createHash('sha256')
    .update(code.replace(/\n(?:\/\/# sourceMappingURL=\S*)?\s*$/, ''))
    .digest('hex');

/** The module with its inlined nostr-tools replaced by imports; throws on any other file. */
export function relinkNwc(code: string): string {
  if (fingerprint(code) !== NWC_MODULE_SHA256) {
    throw new Error(
      `relinkNwc: ${NWC_MODULE} is not the file this rewrite was checked against; check which names ` +
        `its clients take from the nostr-tools it inlines, then update IMPORTS and NWC_MODULE_SHA256 (now ${fingerprint(code)})`,
    );
  }
  const start = code.indexOf(COPY_STARTS_AFTER) + COPY_STARTS_AFTER.length;
  const end = code.indexOf(COPY_ENDS_BEFORE) + 1;
  const lineBreaks = code.slice(start, end).split('\n').length - 1;
  // As many line breaks as were cut, so the sdk's own source map still points at the right lines.
  const replacement = IMPORTS.join('\n') + '\n'.repeat(lineBreaks - (IMPORTS.length - 1));
  return code.slice(0, start) + replacement + code.slice(end);
}

export function relinkNwcPlugin(): Plugin {
  return {
    name: 'paybound:relink-nwc',
    enforce: 'pre',
    transform(code, id) {
      if (!(id.split('?')[0] ?? id).endsWith(NWC_MODULE)) return null;
      return { code: relinkNwc(code), map: null };
    },
  };
}
