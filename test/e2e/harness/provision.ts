/** What both browsers' end-to-end suites provision beyond the stand-in wallet. */
import type { StackInfo } from '../../../server/dev/stack';
import type { ProvisionInput } from '../../../src/core/config/provisioning';
import { siteOf } from '../../../src/core/site/site';

/**
 * The demo app starts as a site the user already paid and let pay automatically (small charges),
 * so the tests of tiers, rails and reviews start past the first-payment prompt. The first-payment
 * and consent rules are tested on other sites (hostile/).
 */
export function demoAlreadyKnown(info: StackInfo): Pick<ProvisionInput, 'sites' | 'autoDayCapMinor'> {
  return {
    sites: [
      {
        site: siteOf(info.demo) ?? '127.0.0.1',
        payees: [
          { kind: 'node', id: info.payees.node },
          { kind: 'card', id: info.payees.card },
        ],
        // Per charge: the global automatic limit, which tests change through the rules.
        autoPay: { perDayMinor: '100000' },
      },
    ],
    autoDayCapMinor: '100000',
  };
}
