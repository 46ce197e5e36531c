/** UI strings through the browser's i18n (`public/_locales/<lang>/messages.json`), typed by the English file. */
import browser from 'webextension-polyfill';
import type en from '../../../public/_locales/en/messages.json';
import { english, isSaidKey, type Said } from '../../core/text/said';
import { MessageError } from '../../messages/client';

export type MessageKey = keyof typeof en;

export function t(key: MessageKey, ...substitutions: string[]): string {
  return browser.i18n.getMessage(key, substitutions) || key;
}

/**
 * What the worker said, in the user's language: its key and arguments through the locale, or
 * `fallback` (an older record's English) when there is no Said.
 */
export function say(s: Said | undefined, fallback = ''): string {
  if (!s || !isSaidKey(s.key)) return fallback;
  return browser.i18n.getMessage(s.key, s.args ?? []) || english(s);
}

/** An error for a person: the worker's Said when it sent one, else the error's own words. */
export function errorText(e: unknown): string {
  if (e instanceof MessageError && e.said) return say(e.said, e.message);
  return e instanceof Error ? e.message : String(e);
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
