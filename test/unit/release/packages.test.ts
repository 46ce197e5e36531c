/**
 * The release packages: real production builds for both browsers, packed as `npm run package`
 * packs them, with a developer's provisioning file in the environment.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GECKO_ID } from '../../../manifest.config';
import { ROOT } from '../../../server/dev/build';
import { checkPackage, packageRelease } from '../../../server/dev/package';
import { readZip } from '../../../server/dev/zip';
import type { ProvisionInput } from '../../../src/core/config/provisioning';

const work = mkdtempSync(join(tmpdir(), 'paybound-packages-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const manifestOf = (zip: string) =>
  JSON.parse(
    readZip(zip)
      .find((e) => e.name === 'manifest.json')
      ?.data.toString('utf8') ?? '{}',
  ) as {
    background?: { service_worker?: string; scripts?: string[] };
    browser_specific_settings?: { gecko?: { id?: string } };
  };

describe('npm run package', () => {
  it('packs both browsers from production builds: no source maps, nothing of PAYBOUND_PROVISION', () => {
    const secret = randomBytes(16).toString('hex');
    const provision: ProvisionInput = {
      rails: [
        {
          kind: 'lnbits',
          id: 'dev-wallet',
          label: `Developer wallet ${secret}`,
          url: `http://wallet-${secret}.test`,
          adminKey: `key-${secret}`,
        },
      ],
      rateSources: [{ kind: 'mempool', url: `http://rates-${secret}.test` }],
    };
    const file = join(work, 'provision.json');
    writeFileSync(file, JSON.stringify(provision));

    const packages = packageRelease({
      outDir: join(work, 'out'),
      env: { ...process.env, PAYBOUND_PROVISION: file },
      forbidden: [secret],
    });

    expect(packages.map((p) => [p.target, p.path.split('/').pop()])).toEqual([
      ['chrome', expect.stringMatching(/^paybound-chrome-\d+\.\d+\.\d+\.zip$/)],
      ['firefox', expect.stringMatching(/^paybound-firefox-\d+\.\d+\.\d+\.zip$/)],
    ]);
    for (const p of packages) {
      expect(p.bytes).toBeGreaterThan(0);
      expect(checkPackage(p.path, [secret])).toEqual([]);
    }
    const [chrome, firefox] = packages.map((p) => manifestOf(p.path));
    expect(chrome?.background).toMatchObject({ service_worker: expect.any(String) });
    expect(chrome?.browser_specific_settings).toBeUndefined();
    expect(firefox?.background).toMatchObject({ scripts: [expect.any(String)] });
    expect(firefox?.background?.service_worker).toBeUndefined();
    expect(firefox?.browser_specific_settings?.gecko?.id).toBe(GECKO_ID);
  }, 180_000);

  it('the check finds source maps, references to them, and strings a package must not carry', () => {
    const dir = join(work, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ manifest_version: 3, name: 'x', version: '1.0' }),
    );
    writeFileSync(join(dir, 'a.js'), 'console.log(1);\n//# sourceMappingURL=a.js.map\n');
    writeFileSync(join(dir, 'a.js.map'), '{}');
    writeFileSync(join(dir, 'b.js'), 'const key = "sk_live_canary";');
    execFileSync(
      join(ROOT, 'node_modules/.bin/web-ext'),
      ['build', '--source-dir', dir, '--artifacts-dir', work, '--filename', 'bad.zip', '--overwrite-dest'],
      { stdio: 'ignore' },
    );
    expect(checkPackage(join(work, 'bad.zip'), ['sk_live_canary']).sort()).toEqual([
      'a.js.map: a source map',
      'a.js: refers to a source map',
      'b.js: contains "sk_live_canary"',
    ]);
  }, 60_000);
});
