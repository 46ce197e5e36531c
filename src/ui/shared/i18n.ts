/** UI strings through the browser's i18n (`public/_locales/<lang>/messages.json`), typed by the English file. */
import browser from 'webextension-polyfill';
import type en from '../../../public/_locales/en/messages.json';

export type MessageKey = keyof typeof en;

export function t(key: MessageKey, ...substitutions: string[]): string {
  return browser.i18n.getMessage(key, substitutions) || key;
}

/** The user's locale, for money and dates. */
export const locale = (): string => browser.i18n.getUILanguage() || navigator.language || 'en';

/** A review window in words: minutes up to two hours, then hours, then days. */
export function durationText(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 120) return t('durationMinutes', String(minutes));
  const hours = Math.round(minutes / 60);
  return hours < 48 ? t('durationHours', String(hours)) : t('durationDays', String(Math.round(hours / 24)));
}
