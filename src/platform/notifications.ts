/** System notifications and the toolbar badge. */
import browser from 'webextension-polyfill';
import type { Said } from '../core/text/said';
import { localized } from './i18n';
import { extensionUrl } from './runtime';

export const notifications = {
  /** Title and message are Saids, rendered here in the browser's language. */
  async notify(id: string, title: Said, message: Said): Promise<void> {
    await browser.notifications
      .create(id, {
        type: 'basic',
        iconUrl: extensionUrl('icons/icon-128.png'),
        title: localized(title),
        message: localized(message),
      })
      .catch(() => {});
  },
  async badge(text: string): Promise<void> {
    await browser.action.setBadgeText({ text });
  },
  async clear(id: string): Promise<void> {
    await browser.notifications.clear(id);
  },
};
