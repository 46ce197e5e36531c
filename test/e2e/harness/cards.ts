/** Linking a card as a user would: the card service's tab, Stripe's (stand-in) page, a test card. */
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { ask } from './flows';

/** Links a card typing `number` on the hosted page, makes it the paying wallet, returns its rail id. */
export async function linkCard(
  context: BrowserContext,
  popup: Page,
  number = '4242 4242 4242 4242',
): Promise<string> {
  // The tab starts on the card service's /link and is redirected to the hosted card page.
  const tabOpened = context.waitForEvent('page');
  await ask(popup, 'card.linkStart', {});
  const tab = await tabOpened;
  await tab.waitForSelector('#cardNumber');
  await tab.fill('#cardNumber', number);
  await tab.fill('#cardExpiry', '12 / 34');
  await tab.fill('#cardCvc', '123');
  await tab.click('#submit');
  let railId = '';
  await expect
    .poll(async () => {
      const r = await ask(popup, 'card.linkPoll', {});
      if (r.status === 'linked') railId = r.railId;
      return r.status;
    })
    .toBe('linked');
  await ask(popup, 'rails.setDefault', { railId });
  return railId;
}
