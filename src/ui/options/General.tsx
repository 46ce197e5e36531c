/** Currency, rate source, auto-lock and quiet notices. */
import { type FormEvent, useEffect, useState } from 'react';
import { send } from '../../messages/client';
import type { GeneralSettings } from '../../messages/map';
import { errorText, t } from '../shared/i18n';
import { Field } from './Field';

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
      setMessage({ ok: false, text: errorText(err) });
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)} data-testid="general">
      <div className="form-grid">
        <Field label={t('generalCurrency')} hint={t('generalCurrencyHint')}>
          <input
            className="narrow"
            value={form.currency}
            maxLength={3}
            autoComplete="off"
            onChange={(e) => setForm({ ...form, currency: e.target.value.toUpperCase() })}
          />
        </Field>
        <Field label={t('generalRateSource')}>
          <input
            className="wide"
            value={form.rateSourceUrl ?? ''}
            placeholder="https://rates.example"
            onChange={(e) => setForm({ ...form, rateSourceUrl: e.target.value || null })}
          />
        </Field>
        <Field label={t('generalCardService')}>
          <input
            className="wide"
            value={form.cardServiceUrl ?? ''}
            placeholder="https://cards.example"
            onChange={(e) => setForm({ ...form, cardServiceUrl: e.target.value || null })}
          />
        </Field>
        <Field label={t('generalLockMinutes')}>
          <input
            className="narrow"
            type="number"
            min={1}
            max={1440}
            value={form.autoLockMinutes}
            onChange={(e) => setForm({ ...form, autoLockMinutes: Number(e.target.value) })}
          />
        </Field>
        <div className="field">
          <span />
          <label className="check">
            <input
              type="checkbox"
              checked={form.muteAutoNotices}
              onChange={(e) => setForm({ ...form, muteAutoNotices: e.target.checked })}
            />
            {t('generalMuteAutoNotices')}
          </label>
        </div>
      </div>
      <div className="actions">
        <button type="submit" className="primary">
          {t('generalSave')}
        </button>
        {message && (
          <p role="status" className={message.ok ? 'ok' : 'error'}>
            {message.text}
          </p>
        )}
      </div>
    </form>
  );
}
