/** Currency, rate source, auto-lock and quiet notices. */
import { type FormEvent, useEffect, useState } from 'react';
import { send } from '../../messages/client';
import type { GeneralSettings } from '../../messages/map';
import { t } from '../shared/i18n';

export function General({ onSaved }: { onSaved(): void }) {
  const [form, setForm] = useState<GeneralSettings>();
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  useEffect(() => {
    void send('settings.get', {}).then(setForm);
  }, []);
  if (!form) return null;
  // The minutes field sits inside the translated sentence, wherever the language puts it. The marker is
  // U+0001: Chrome's i18n drops U+0000 from substitutions.
  const [lockBefore, lockAfter] = t('generalLockAfter', '\u0001').split('\u0001');
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const { rateSourceUrl, cardServiceUrl, ...rest } = form;
      setForm(
        await send('settings.set', {
          ...rest,
          ...(rateSourceUrl ? { rateSourceUrl } : {}),
          ...(cardServiceUrl ? { cardServiceUrl } : {}),
        }),
      );
      setMessage({ ok: true, text: t('generalSaved') });
      onSaved();
    } catch (err) {
      setMessage({ ok: false, text: err instanceof Error ? err.message : String(err) });
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)} data-testid="general">
      <label>
        {t('generalCurrency')}{' '}
        <input
          className="narrow"
          value={form.currency}
          maxLength={3}
          onChange={(e) => setForm({ ...form, currency: e.target.value.toUpperCase() })}
        />
      </label>{' '}
      <label>
        {t('generalRateSource')}{' '}
        <input
          className="wide"
          value={form.rateSourceUrl ?? ''}
          placeholder="https://rates.example"
          onChange={(e) => setForm({ ...form, rateSourceUrl: e.target.value || null })}
        />
      </label>
      <br />
      <label>
        {t('generalCardService')}{' '}
        <input
          className="wide"
          value={form.cardServiceUrl ?? ''}
          placeholder="https://cards.example"
          onChange={(e) => setForm({ ...form, cardServiceUrl: e.target.value || null })}
        />
      </label>
      <br />
      <label>
        {lockBefore}
        <input
          className="narrow"
          type="number"
          min={1}
          value={form.autoLockMinutes}
          onChange={(e) => setForm({ ...form, autoLockMinutes: Number(e.target.value) })}
        />
        {lockAfter}
      </label>{' '}
      <label>
        <input
          type="checkbox"
          checked={form.muteAutoNotices}
          onChange={(e) => setForm({ ...form, muteAutoNotices: e.target.checked })}
        />{' '}
        {t('generalMuteAutoNotices')}
      </label>{' '}
      <button type="submit">{t('generalSave')}</button>
      {message && (
        <p role="status" className={message.ok ? undefined : 'error'}>
          {message.text}
        </p>
      )}
    </form>
  );
}
