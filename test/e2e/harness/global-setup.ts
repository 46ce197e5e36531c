/**
 * Once per e2e run: start the local stack on free ports and build the extension provisioned with
 * its user wallet. Tests reach both through `inject('stack')` and `inject('extensionDir')`.
 */
import type { TestProject } from 'vitest/node';
import { buildExtension } from '../../../server/dev/build';
import { findChromium } from '../../../server/dev/chromium';
import { provisionFor, type StackInfo, startStack } from '../../../server/dev/stack';
import type { ProvisionInput } from '../../../src/core/config/provisioning';
import { demoAlreadyKnown } from './provision';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
    extensionDir: string;
  }
}

export default async function setup(project: TestProject) {
  findChromium(); // fail first, and clearly, when there is no browser
  const stack = await startStack({ ports: { demo: 0, lnbits: 0, rates: 0, relay: 0 }, demoTestRoutes: true });
  try {
    // NWC and the page's own WebLN wallet are linked too (the Ethereum one is in provisionFor) (LNbits stays the default), for the
    // tests that choose them.
    const base = provisionFor(stack.info);
    const provision: ProvisionInput = {
      ...base,
      rails: [
        ...base.rails,
        {
          kind: 'nwc',
          id: 'nwc-standin',
          label: 'Stand-in NWC wallet',
          uri: stack.info.nwcUri,
          network: 'regtest',
        },
        { kind: 'webln', id: 'webln-page', label: 'Page WebLN wallet', network: 'regtest' },
      ],
      ...demoAlreadyKnown(stack.info),
    };
    const extensionDir = buildExtension({ outDir: '.out/e2e/dist', provision });
    project.provide('stack', stack.info);
    project.provide('extensionDir', extensionDir);
  } catch (e) {
    await stack.close();
    throw e;
  }
  return () => stack.close();
}
