/**
 * The lint rule that keeps the layers apart (biome.json overrides): run on a scratch tree laid out
 * like src/, it refuses each crossing and lets the worker import the database (and its composition
 * root the browser adapters).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
let dir: string;

const files: Record<string, string> = {
  'src/core/money/browser.ts': "import browser from 'webextension-polyfill';\nexport const a = browser;\n",
  'src/core/money/db.ts': "import { PayboundDb } from '../../db/schema';\nexport const a = PayboundDb;\n",
  'src/core/money/react.ts': "import { useState } from 'react';\nexport const a = useState;\n",
  'src/content/parser.ts':
    "import { readL402Challenge } from '../core/challenge/l402';\nexport const a = readL402Challenge;\n",
  'src/ui/popup/db.ts': "import { PayboundDb } from '../../db/schema';\nexport const a = PayboundDb;\n",
  'src/ui/popup/worker.ts': "import { a as b } from '../../background/router';\nexport const a = b;\n",
  'src/background/services/db.ts':
    "import { PayboundDb } from '../../db/schema';\nexport const a = PayboundDb;\n",
  'src/ui/popup/core.ts':
    "import { formatMinor } from '../../core/money/rates';\nexport const a = formatMinor;\n",
  'src/platform/db.ts': "import { PayboundDb } from '../db/schema';\nexport const a = PayboundDb;\n",
  'src/platform/worker.ts': "import { ALARMS } from '../background/alarms';\nexport const a = ALARMS;\n",
  'src/platform/core.ts': "import { english } from '../core/text/said';\nexport const a = english;\n",
  'src/background/handlers/browser.ts':
    "import browser from 'webextension-polyfill';\nexport const a = browser;\n",
  'src/background/handlers/react.ts': "import { useState } from 'react';\nexport const a = useState;\n",
  'src/background/handlers/platform.ts':
    "import { popupWindows } from '../../platform/windows';\nexport const a = popupWindows;\n",
  'src/background/handlers/service.ts':
    "import { loadRules } from '../services/rules';\nimport { getSetting } from '../../db/settings';\nexport const a = [loadRules, getSetting];\n",
  'src/background/services/platform.ts':
    "import { popupWindows } from '../../platform/windows';\nexport const a = popupWindows;\n",
  'src/background/root.ts':
    "import { popupWindows } from '../platform/windows';\nexport const a = popupWindows;\n",
};

/** The files biome refused for a restricted import. */
function refused(): string[] {
  const r = spawnSync(
    join(ROOT, 'node_modules/.bin/biome'),
    ['lint', '--reporter=json', '--max-diagnostics=100', 'src'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  const report = JSON.parse(r.stdout) as {
    diagnostics: { category: string; location: { path: string } }[];
  };
  return [
    ...new Set(
      report.diagnostics
        .filter((d) => d.category === 'lint/style/noRestrictedImports')
        .map((d) => d.location.path),
    ),
  ].sort();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'paybound-layers-'));
  const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as Record<string, unknown>;
  delete config.$schema;
  writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('layers', () => {
  it('core imports no browser, database or React; content no parser; pages no database or worker; handlers and services no browser adapters; platform no database or worker', () => {
    expect(refused()).toEqual([
      'src/background/handlers/browser.ts',
      'src/background/handlers/platform.ts',
      'src/background/handlers/react.ts',
      'src/background/services/platform.ts',
      'src/content/parser.ts',
      'src/core/money/browser.ts',
      'src/core/money/db.ts',
      'src/core/money/react.ts',
      'src/platform/db.ts',
      'src/platform/worker.ts',
      'src/ui/popup/db.ts',
      'src/ui/popup/worker.ts',
    ]);
  });
});
