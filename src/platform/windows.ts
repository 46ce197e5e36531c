/** Browser windows: the quote window is a small popup of its own, one per tab that asks. */
import browser from 'webextension-polyfill';

export const popupWindows = {
  async create(url: string): Promise<number | undefined> {
    const win = await browser.windows.create({ url, type: 'popup', width: 460, height: 640, focused: true });
    return win.id;
  },
  /** False when the window is gone (closed meanwhile). */
  async focus(windowId: number): Promise<boolean> {
    return browser.windows.update(windowId, { focused: true }).then(
      () => true,
      () => false,
    );
  },
  async remove(windowId: number): Promise<void> {
    await browser.windows.remove(windowId).catch(() => {});
  },
};
