import { type ReactNode, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { setMoneyLocale } from '../../core/money/rates';
import { locale } from './i18n';
import './theme.css';

export function mount(node: ReactNode): void {
  setMoneyLocale(locale());
  const el = document.getElementById('root');
  if (!el) throw new Error('missing #root');
  createRoot(el).render(<StrictMode>{node}</StrictMode>);
}
