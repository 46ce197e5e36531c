/** Currency, exchange-rate sources, auto-lock and quiet notices. */
import { type FormEvent, useEffect, useState } from 'react';
import {
  RATE_PROVIDERS,
  RATE_SOURCE_KINDS,
  type RateCheck,
  type RateSourceKind,
  type RateSourceSetting,
} from '../../core/money/rate-sources';
import { send } from '../../messages/client';
import type { GeneralSettings } from '../../messages/map';
import { dateTime } from '../shared/format';
import { errorText, t } from '../shared/i18n';
import { Field } from './Field';

/** Each known source: chosen or not, and the custom address typed for it (empty: the public API). */
type SourceRows = Record<RateSourceKind, { on: boolean; url: string }>;

function rowsOf(sources: RateSourceSetting[]): SourceRows {
  const rows = {} as SourceRows;
  for (const kind of RATE_SOURCE_KINDS) {
    const s = sources.find((x) => x.kind === kind);
    rows[kind] = { on: s !== undefined, url: s?.url ?? '' };
  }
  return rows;
}

function sourcesOf(rows: SourceRows): RateSourceSetting[] {
  return RATE_SOURCE_KINDS.filter((k) => rows[k].on).map((kind) => {
    const url = rows[kind].url.trim();
    return url ? { kind, url } : { kind };
  });
}

/** What the sources said the last time they were asked, one line each. */
function RateCheckList({ check }: { check: RateCheck }) {
  return (
    <div className="muted small" data-testid="rate-check">
      <p>{t('generalRateCheckAt', dateTime(check.at), check.currency)}</p>
      <ul>
        {check.used.map((u) => (
          <li key={`u-${u.source}`}>{t('generalRateSourceUsed', u.source)}</li>
        ))}
        {check.dropped.map((d) => (
          <li key={`d-${d.source}`} className="error">
            {t('generalRateSourceDropped', d.source, d.reason)}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function General({ onSaved }: { onSaved(): void }) {
  const [form, setForm] = useState<GeneralSettings>();
  const [rows, setRows] = useState<SourceRows>();
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  useEffect(() => {
    void send('settings.get', {}).then((s) => {
      setForm(s);
      setRows(rowsOf(s.rateSources));
    });
  }, []);
  if (!form || !rows) return null;
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const { rateSources: _shown, rateCheck: _said, cardServiceUrl, ...rest } = form;
      const saved = await send('settings.set', {
        ...rest,
        rateSources: sourcesOf(rows),
        ...(cardServiceUrl ? { cardServiceUrl } : {}),
      });
      setForm(saved);
      setRows(rowsOf(saved.rateSources));
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
        <div className="field">
          <span className="label">{t('generalRateSource')}</span>
          <fieldset className="control rate-sources" data-testid="rate-sources">
            <legend className="muted small">{t('generalRateSourcesHint')}</legend>
            {RATE_SOURCE_KINDS.map((kind) => (
              <div key={kind} className="rate-source">
                <label className="check">
                  <input
                    type="checkbox"
                    data-testid={`rate-source-${kind}`}
                    checked={rows[kind].on}
                    onChange={(e) => setRows({ ...rows, [kind]: { ...rows[kind], on: e.target.checked } })}
                  />
                  {RATE_PROVIDERS[kind].label}
                </label>
                <input
                  className="wide"
                  aria-label={t('generalRateSourceUrl', RATE_PROVIDERS[kind].label)}
                  data-testid={`rate-source-url-${kind}`}
                  value={rows[kind].url}
                  placeholder={RATE_PROVIDERS[kind].base}
                  disabled={!rows[kind].on}
                  onChange={(e) => setRows({ ...rows, [kind]: { ...rows[kind], url: e.target.value } })}
                />
              </div>
            ))}
            {form.rateCheck && <RateCheckList check={form.rateCheck} />}
          </fieldset>
        </div>
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
