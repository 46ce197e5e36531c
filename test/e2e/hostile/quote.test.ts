/**
 * What the quote window says (docs/threat-model.md): the app's words cleaned and labelled as
 * its own, the payee and the real site shown, a look-alike name flagged, the top-level site named
 * for a frame; and an offer that lasts for weeks is not withdrawn at once.
 */
import { expect, test } from '../harness/fixtures';
import { ask, ledger, nextQuoteWindow, POPUP } from '../harness/flows';
import { forgeLater, l402Challenge, serve } from '../harness/hostile';

const IDN = 'http://xn--pypal-4ve.com/';
const FRAME = 'http://pay.example.net/frame';

test('10. an RTL memo is shown neutralised as the app’s words with the payee; a look-alike site is flagged; a frame names its top-level site', async ({
  context,
  stack,
}) => {
  const top = await context.newPage();
  await serve(top, FRAME);
  await serve(top, IDN, `<!doctype html><body><iframe src="${FRAME}"></iframe></body>`);
  await top.goto(IDN);
  const tricky = await l402Challenge(stack, 5, 'Verified merchant \u2714 \u202Eexe.gnp\u202C refund\u200B');
  const first = nextQuoteWindow(context);
  forgeLater(top, { url: `${IDN}api/x`, headers: [['www-authenticate', tricky.header]] });
  const quote = await first;
  expect(await quote.textContent('[data-testid=site]')).toContain('xn--pypal-4ve.com');
  expect(await quote.isVisible('[data-testid=lookalike]')).toBe(true);
  const memo = (await quote.textContent('[data-testid=description]')) ?? '';
  expect(memo).toBe('Verified merchant \u2714 exe.gnp refund');
  expect(memo).not.toMatch(/[\u202A-\u202E\u200B]/);
  expect(await quote.isVisible('[data-testid=description-altered]')).toBe(true);
  const payee = await quote.textContent('[data-testid=payee]');
  expect(payee).toContain(stack.payees.node.slice(0, 8));
  await quote.click('[data-testid=deny]');

  const frame = top.frames().find((f) => f.url() === FRAME);
  if (!frame) throw new Error('the frame did not load');
  const c = await l402Challenge(stack, 5, 'from a frame');
  const framed = nextQuoteWindow(context);
  forgeLater(frame, { url: 'http://pay.example.net/api/x', headers: [['www-authenticate', c.header]] });
  const inFrame = await framed;
  expect(await inFrame.textContent('[data-testid=site]')).toContain('example.net');
  expect(await inFrame.textContent('[data-testid=top-site]')).toContain('xn--pypal-4ve.com');
  await inFrame.click('[data-testid=deny]');
});

test('13. an invoice valid for 30 days keeps its quote open, with an alarm to withdraw it (no overflowing timer)', async ({
  context,
  stack,
  openExtensionPage,
  serviceWorker,
}) => {
  const page = await context.newPage();
  await serve(page, 'http://long.example.com/');
  await page.goto('http://long.example.com/');
  const days30 = 30 * 24 * 3600;
  const c = await l402Challenge(stack, 5, 'a month to decide', days30);
  const opened = nextQuoteWindow(context);
  forgeLater(page, { url: 'http://long.example.com/api/x', headers: [['www-authenticate', c.header]] });
  const quote = await opened;
  const popup = await openExtensionPage(POPUP);
  const [row] = await ledger(popup);
  expect(row).toMatchObject({ state: 'reserved', approval: 'waiting' });
  const alarm = await serviceWorker.evaluate(
    (name) => chrome.alarms.get(name).then((a) => a?.scheduledTime ?? null),
    `paybound-expire:${row?.id}`,
  );
  expect(alarm).toBeGreaterThan(Date.now() + (days30 - 3600) * 1000);
  // Still waiting after the window rendered and the worker had every chance to withdraw it.
  await quote.waitForSelector('[data-testid=approve][data-armed=true]');
  expect(await ask(popup, 'approvals.pending', { tabId: row?.tabId ?? -1 })).toHaveLength(1);
  await quote.click('[data-testid=deny]');
  // Decided: its wake-up goes too, rather than waiting a month to find nothing to do.
  await expect
    .poll(() =>
      serviceWorker.evaluate(
        (name) => chrome.alarms.get(name).then((a) => a?.scheduledTime ?? null),
        `paybound-expire:${row?.id}`,
      ),
    )
    .toBeNull();
});
