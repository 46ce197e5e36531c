import { type ReactNode, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './theme.css';

export function mount(node: ReactNode): void {
  const el = document.getElementById('root');
  if (!el) throw new Error('missing #root');
  createRoot(el).render(<StrictMode>{node}</StrictMode>);
}
