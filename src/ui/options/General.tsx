/** Currency, rate source, auto-lock and quiet notices. */
import { type FormEvent, useEffect, useState } from 'react';
import { send } from '../../messages/client';
import type { GeneralSettings } from '../../messages/map';

export function General({ onSaved }: { onSaved(): void }) {
  const [form, setForm] = useState<GeneralSettings>();
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  useEffect(() => {
    void send('settings.get', {}).then(setForm);
  }, []);
  if (!form) return null;
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const { rateSourceUrl, ...rest } = form;
      setForm(await send('settings.set', { ...rest, ...(rateSourceUrl ? { rateSourceUrl } : {}) }));
      setMessage({ ok: true, text: 'Saved.' });
      onSaved();
    } catch (err) {
      setMessage({ ok: false, text: err instanceof Error ? err.message : String(err) });
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)} data-testid="general">
      <label>
        Your currency{' '}
        <input
          className="narrow"
          value={form.currency}
          maxLength={3}
          onChange={(e) => setForm({ ...form, currency: e.target.value.toUpperCase() })}
        />
      </label>{' '}
      <label>
        Rate source{' '}
        <input
          className="wide"
          value={form.rateSourceUrl ?? ''}
          placeholder="https://rates.example"
          onChange={(e) => setForm({ ...form, rateSourceUrl: e.target.value || null })}
        />
      </label>
      <br />
      <label>
        Lock after{' '}
        <input
          className="narrow"
          type="number"
          min={1}
          value={form.autoLockMinutes}
          onChange={(e) => setForm({ ...form, autoLockMinutes: Number(e.target.value) })}
        />{' '}
        idle minutes
      </label>{' '}
      <label>
        <input
          type="checkbox"
          checked={form.muteAutoNotices}
          onChange={(e) => setForm({ ...form, muteAutoNotices: e.target.checked })}
        />{' '}
        No notice for automatic payments
      </label>{' '}
      <button type="submit">Save</button>
      {message && (
        <p role="status" className={message.ok ? undefined : 'error'}>
          {message.text}
        </p>
      )}
    </form>
  );
}
