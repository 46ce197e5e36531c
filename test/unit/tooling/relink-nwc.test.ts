import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../../server/dev/build';
import { NWC_MODULE, relinkNwc } from '../../../server/dev/relink-nwc';

const sdkFile = join(ROOT, 'node_modules', NWC_MODULE);
const original = readFileSync(sdkFile, 'utf8');

describe('relinkNwc', () => {
  const relinked = relinkNwc(original);

  it('drops the inlined nostr-tools and its crypto, and imports them from the installed packages', () => {
    expect(original).toContain('var nip19_exports = {};');
    expect(original).toContain('function hexToBytes$2(hex) {');
    expect(relinked).not.toContain('var nip19_exports');
    expect(relinked).not.toContain('function hexToBytes$2(hex) {');
    expect(relinked).not.toContain('__export(');
    expect(relinked).toMatch(/^import \* as nip44_exports from 'nostr-tools\/nip44';$/m);
    expect(relinked).toMatch(/^import \{ SimplePool \} from 'nostr-tools\/pool';$/m);
  });

  it("keeps the sdk's own code as it is, on the same lines", () => {
    const lines = original.split('\n');
    const after = relinked.split('\n');
    expect(after).toHaveLength(lines.length);
    const client = lines.indexOf('class NWCClient {');
    expect(client).toBeGreaterThan(0);
    expect(after.slice(client)).toEqual(lines.slice(client));
    const firstCopied = lines.indexOf('function number$2(n) {');
    expect(after.slice(0, firstCopied - 1)).toEqual(lines.slice(0, firstCopied - 1));
  });

  it('refuses a file it was not checked against', () => {
    expect(() => relinkNwc(original.replace('class NWCClient {', 'class NWCClient  {'))).toThrow(
      /not the file/,
    );
    expect(() => relinkNwc('export {};')).toThrow(/not the file/);
  });

  it('ignores what a loader does to the source-map comment', () => {
    const blanked = original.replace(/\/\/# sourceMappingURL=\S+/, (c) => ' '.repeat(c.length));
    expect(relinkNwc(blanked).split('\n').slice(0, -2)).toEqual(relinked.split('\n').slice(0, -2));
  });
});
