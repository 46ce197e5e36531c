/** UI strings through the browser's i18n (`public/_locales/<lang>/messages.json`), typed by the English file. */
import browser from 'webextension-polyfill';
import type en from '../../../public/_locales/en/messages.json';

export type MessageKey = keyof typeof en;

export function t(key: MessageKey, ...substitutions: string[]): string {
  return browser.i18n.getMessage(key, substitutions) || key;
}

/** The user's locale, for money and dates. */
export const locale = (): string => browser.i18n.getUILanguage() || navigator.language || 'en';
