import { type ReactNode, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { setMoneyLocale } from '../../core/money/rates';
import { locale, t } from './i18n';
import './theme.css';

export function mount(node: ReactNode): void {
  setMoneyLocale(locale());
  // The pages are written lang="en"; screen readers should read the language of the messages shown.
  document.documentElement.lang = t('langCode');
  const el = document.getElementById('root');
  if (!el) throw new Error('missing #root');
  createRoot(el).render(<StrictMode>{node}</StrictMode>);
}
