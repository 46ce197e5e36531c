/** The extension itself: its URLs, its version, its tabs, and broadcasts to its own pages. */
import browser from 'webextension-polyfill';
import type { Broadcast } from '../messages/map';

export function extensionUrl(path: string): string {
  return browser.runtime.getURL(path);
}

export function extensionId(): string {
  return browser.runtime.id;
}

export function extensionVersion(): string {
  return browser.runtime.getManifest().version;
}

/** Tells the extension's open pages something; nobody listening (no page open) is fine. */
export async function broadcast(msg: Broadcast): Promise<void> {
  await browser.runtime.sendMessage(msg).catch(() => {});
}

export const tabs = {
  async open(url: string): Promise<void> {
    await browser.tabs.create({ url });
  },
  async reload(tabId: number): Promise<void> {
    await browser.tabs.reload(tabId);
  },
};
