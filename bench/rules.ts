/** Spending rules for the benches, changed through the worker's own message as the options page does. */
import { extensionUrl, type LaunchedBrowser } from '../server/dev/chromium';

export async function setRules(browser: LaunchedBrowser, patch: Record<string, unknown>): Promise<void> {
  const popup = await browser.context.newPage();
  await popup.goto(extensionUrl(browser.extensionId, 'src/ui/popup/index.html'));
  const rules = (await popup.evaluate(() =>
    chrome.runtime.sendMessage({ type: 'rules.get', payload: {} }),
  )) as {
    data: Record<string, unknown>;
  };
  const set = (await popup.evaluate((r) => chrome.runtime.sendMessage({ type: 'rules.set', payload: r }), {
    ...rules.data,
    ...patch,
  })) as { ok?: boolean; error?: unknown };
  if (set.ok === false) throw new Error(`rules.set refused: ${JSON.stringify(set.error)}`);
  await popup.close();
}
