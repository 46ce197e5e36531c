/**
 * What a page can make the worker do or store (docs/threat-model.md): it cannot fill the
 * browser's storage with forged 402s, and it cannot make the worker send a request it could not
 * send itself (review calls go only to the paying page's site, over https).
 */
import { base64urlnopad } from '@scure/base';
import { TAB_RATE } from '../../../src/background/services/payments';
import { expect, test } from '../harness/fixtures';
import { ask, ledger, POPUP } from '../harness/flows';
import {
  clearSeen,
  forge,
  forgeMany,
  l402Challenge,
  openOtherSite,
  openSite,
  otherSite,
  seenByDemo,
} from '../harness/hostile';

const terms = (refund: string) =>
  base64urlnopad.encode(new TextEncoder().encode(JSON.stringify({ v: 1, review: { window: 60, refund } })));

test('8. a flood of forged 402s from one tab is rate-limited and the log stays small; oversized headers are refused', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  const evil = await openOtherSite(context, stack);
  const junk = (i: number) => ({
    url: `${otherSite(stack)}/flood/${i}`,
    method: 'POST',
    status: 402 as const,
    headers: [['www-authenticate', `L402 macaroon="m${i}", invoice="lnbcrt${i}"`]] as [string, string][],
  });
  await forgeMany(
    evil,
    Array.from({ length: 300 }, (_, i) => junk(i)),
  );
  // The last word on it: once the bridge answered a later query, the earlier ones were handled.
  await forge(evil, junk(9999));
  const popup = await openExtensionPage(POPUP);
  const log = await ask(popup, 'challenges.recent', { limit: 500 });
  const flood = log.filter((c) => c.url.includes('/flood/'));
  expect(flood.some((c) => c.error?.includes('too many payment requests'))).toBe(true);
  // A burst, plus what the bucket refilled while the flood ran; never the 500.
  expect(flood.length).toBeLessThan(TAB_RATE.burst * 2);
  // A header beyond what a real server sends is refused before anything is read or stored.
  const before = log.length;
  const big = await forge(evil, {
    url: `${otherSite(stack)}/big`,
    headers: [['www-authenticate', `L402 macaroon="${'a'.repeat(9000)}", invoice="x"`]],
  });
  expect(big?.retry).toBeUndefined();
  const many = await forge(evil, {
    url: `${otherSite(stack)}/many`,
    headers: Array.from({ length: 40 }, (_, i) => [`x-h${i}`, 'v'] as [string, string]),
  });
  expect(many?.retry).toBeUndefined();
  const after = await ask(popup, 'challenges.recent', { limit: 500 });
  expect(after.filter((c) => c.url.includes('/big') || c.url.includes('/many'))).toEqual([]);
  expect(after.length).toBeLessThanOrEqual(before);
});

test('9. review calls only to the paying page’s own site over https: another site or plain http is refused, and nothing is sent', async ({
  context,
  stack,
  openExtensionPage,
}) => {
  await clearSeen(stack);
  const evil = await openOtherSite(context, stack);
  // The page names the demo's API and the demo's review endpoint: the page is another site.
  const c = await l402Challenge(stack, 5);
  const onDemo = await forge(evil, {
    url: `${stack.demo}/api/x`,
    headers: [['www-authenticate', `${c.header}, paybound="${terms(`${stack.demo}/paybound/review`)}"`]],
  });
  expect(onDemo?.retry).toBeUndefined();
  // A site of its own, but a plain-http review endpoint on a public name.
  const app = await openSite(context, 'http://app.example.com/');
  const d = await l402Challenge(stack, 5);
  const plain = await forge(app, {
    url: 'http://app.example.com/api/x',
    headers: [
      ['www-authenticate', `${d.header}, paybound="${terms('http://app.example.com/paybound/review')}"`],
    ],
  });
  expect(plain?.retry).toBeUndefined();
  const popup = await openExtensionPage(POPUP);
  const [second, first] = await ask(popup, 'challenges.recent', { limit: 2 });
  expect(first?.error).toContain('another site than the page that paid');
  expect(second?.error).toContain('must use https');
  expect(await ledger(popup)).toEqual([]);
  expect((await seenByDemo(stack)).filter((r) => r.path.startsWith('/paybound/'))).toEqual([]);
});
