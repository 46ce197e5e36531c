/**
 * Once per Firefox run: start the local stack on free ports and build the Firefox extension
 * provisioned with its user wallet, as the Chrome suite does. Tests reach both through
 * `inject('stack')` and `inject('firefoxExtensionDir')`.
 */
import type { TestProject } from 'vitest/node';
import { buildExtension } from '../../../server/dev/build';
import { findFirefox } from '../../../server/dev/firefox';
import { provisionFor, type StackInfo, startStack } from '../../../server/dev/stack';
import type { ProvisionInput } from '../../../src/core/config/provisioning';
import { demoAlreadyKnown } from '../../e2e/harness/provision';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
    firefoxExtensionDir: string;
  }
}

export default async function setup(project: TestProject) {
  findFirefox(); // fail first, and clearly, when there is no browser
  const stack = await startStack({ ports: { demo: 0, lnbits: 0, rates: 0, relay: 0 } });
  try {
    const base = provisionFor(stack.info);
    // As in the Chrome suite: the demo app is a site the user already paid and let pay automatically.
    const provision: ProvisionInput = { ...base, ...demoAlreadyKnown(stack.info) };
    const dir = buildExtension({ outDir: '.out/e2e-firefox/dist', provision, target: 'firefox' });
    project.provide('stack', stack.info);
    project.provide('firefoxExtensionDir', dir);
  } catch (e) {
    await stack.close();
    throw e;
  }
  return () => stack.close();
}
