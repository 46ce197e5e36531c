/** The browser's language: what the worker writes in notifications. */
import browser from 'webextension-polyfill';
import { english, type Said } from '../core/text/said';

export function uiLanguage(): string {
  return browser.i18n.getUILanguage() || 'en';
}

/** A Said in the browser's language; its English when the locale lacks the key. */
export function localized(s: Said): string {
  return browser.i18n.getMessage(s.key, s.args ?? []) || english(s);
}
