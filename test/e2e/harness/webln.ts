/** A demo tab with a WebLN provider, as a wallet extension would inject, paying the stand-in user wallet. */
import type { BrowserContext, Page } from 'playwright-core';
import type { StackInfo } from '../../../server/dev/stack';

/**
 * `honest` pays and returns the preimage; `wrong-preimage` pays and returns another one;
 * `error-after-paying` pays and then tells the page it failed; `held` counts the request
 * (`weblnAsked`) and pays honestly only once the test calls `weblnRelease()`.
 */
export type WeblnBehaviour = 'honest' | 'wrong-preimage' | 'error-after-paying' | 'held';

export async function pageWithWebln(
  context: BrowserContext,
  stack: StackInfo,
  behaviour: WeblnBehaviour = 'honest',
): Promise<Page> {
  const page = await context.newPage();
  await page.addInitScript(
    ([lnbits, key, how]) => {
      (window as unknown as { webln: object }).webln = {
        enable: async () => {},
        sendPayment: async (invoice: string) => {
          const w = window as unknown as {
            weblnPaid?: number;
            weblnAsked?: number;
            weblnRelease?: () => void;
          };
          if (how === 'held') {
            w.weblnAsked = (w.weblnAsked ?? 0) + 1;
            await new Promise<void>((release) => {
              w.weblnRelease = release;
            });
          }
          w.weblnPaid = (w.weblnPaid ?? 0) + 1;
          const res = await fetch(`${lnbits}/api/v1/payments`, {
            method: 'POST',
            headers: { 'X-Api-Key': key, 'Content-Type': 'application/json' },
            body: JSON.stringify({ out: true, bolt11: invoice }),
          });
          const body = (await res.json()) as { preimage: string };
          if (how === 'error-after-paying') throw new Error('user rejected the payment');
          return { preimage: how === 'wrong-preimage' ? 'ab'.repeat(32) : body.preimage };
        },
      };
    },
    [stack.lnbits, stack.wallets.user.adminKey, behaviour] as const,
  );
  await page.goto(stack.demo);
  return page;
}
