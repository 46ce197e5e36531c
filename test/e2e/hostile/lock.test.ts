/**
 * The vault locks after the user's own idle time (docs/threat-model.md): payments a site triggers
 * are not the user's activity and never keep it unlocked.
 */
import { expect, test } from '../harness/fixtures';
import { ask, POPUP } from '../harness/flows';
import { forge, l402Challenge } from '../harness/hostile';

test('11. a payment a site triggers does not re-arm the auto-lock; the user’s own actions in Paybound do', async ({
  stack,
  demoPage,
  openExtensionPage,
  serviceWorker,
}) => {
  const popup = await openExtensionPage(POPUP);
  await ask(popup, 'auth.setPassword', { password: 'correct horse battery' });
  const lockAt = () =>
    serviceWorker.evaluate(() =>
      chrome.alarms.get('paybound-autolock').then((a) => a?.scheduledTime ?? null),
    );
  const armed = await lockAt();
  expect(armed).not.toBeNull();
  // The demo site is allowed to pay small charges automatically: a page script triggers one.
  const c = await l402Challenge(stack, 1, 'tiny');
  const paid = await forge(demoPage, {
    url: `${stack.demo}/api/x`,
    headers: [['www-authenticate', c.header]],
  });
  expect(paid?.retry?.value).toMatch(/^L402 /);
  expect((await ask(popup, 'payments.recent', { limit: 1 }))[0]).toMatchObject({
    approval: 'auto',
    state: 'paid',
  });
  expect(await lockAt()).toBe(armed);
  // A change the user makes in the settings is activity.
  await ask(popup, 'settings.set', { muteAutoNotices: false });
  expect(await lockAt()).toBeGreaterThan(armed ?? 0);
});
