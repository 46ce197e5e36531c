/** Password and 2FA for strong approvals. */
import { type FormEvent, useEffect, useState } from 'react';
import { renderSVG } from 'uqr';
import { send } from '../../messages/client';
import { errorText, t } from '../shared/i18n';
import { Field } from './Field';

export function PasswordForm({ onSaved }: { onSaved?(): void }) {
  const [hasPassword, setHasPassword] = useState<boolean | undefined>();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [message, setMessage] = useState<string | undefined>();
  useEffect(() => {
    void send('auth.status', {}).then((s) => setHasPassword(s.hasPassword));
  }, []);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await send('auth.setPassword', { password, ...(hasPassword ? { current } : {}) });
      setHasPassword(true);
      setMessage(t('securityPasswordSaved'));
      onSaved?.();
      setPassword('');
      setCurrent('');
    } catch (err) {
      setMessage(errorText(err));
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)} data-testid="password-form">
      <p className="muted">{hasPassword ? t('securityHasPassword') : t('securityNoPassword')}</p>
      <div className="form-grid">
        {hasPassword && (
          <Field label={t('securityCurrentPassword')}>
            <input
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
          </Field>
        )}
        <Field label={t('securityNewPassword')} hint={t('securityNewPasswordHint')}>
          <input
            type="password"
            data-testid="new-password"
            autoComplete="new-password"
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
      </div>
      <div className="actions">
        <button type="submit" className="primary" data-testid="save-password">
          {t('securitySavePassword')}
        </button>
        {message && <p role="status">{message}</p>}
      </div>
    </form>
  );
}

export function TotpForm() {
  const [setup, setSetup] = useState<{ uri: string; secret: string } | undefined>();
  const [enabled, setEnabled] = useState(false);
  const [code, setCode] = useState('');
  const [message, setMessage] = useState<string | undefined>();
  useEffect(() => {
    void send('auth.status', {}).then((s) => setEnabled(s.hasTotp));
  }, []);
  const confirm = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await send('auth.totpConfirm', { code });
      setEnabled(true);
      setSetup(undefined);
      setMessage(t('securityTotpTurnedOn'));
    } catch (err) {
      setMessage(errorText(err));
    }
  };
  // The secret stays in its own element inside the translated sentence. The marker is U+0001:
  // Chrome's i18n drops U+0000 from substitutions.
  const [keyBefore, keyAfter] = t('securityTotpTypeKey', '\u0001').split('\u0001');
  return (
    <div className="card" data-testid="totp">
      <p className="muted">{enabled ? t('securityTotpOn') : t('securityTotpOff')}</p>
      {!setup && (
        <button type="button" onClick={() => void send('auth.totpSetup', {}).then(setSetup)}>
          {enabled ? t('securityTotpReplace') : t('securityTotpSetUp')}
        </button>
      )}
      {setup && (
        <form onSubmit={(e) => void confirm(e)}>
          <div
            className="qr"
            role="img"
            aria-label={t('securityTotpQr')}
            // The SVG is generated here from our own otpauth URI, not taken from any page.
            // biome-ignore lint/security/noDangerouslySetInnerHtml: locally generated SVG
            dangerouslySetInnerHTML={{ __html: renderSVG(setup.uri, { border: 2 }) }}
          />
          <p>
            {keyBefore}
            <code data-testid="totp-secret">{setup.secret}</code>
            {keyAfter}
          </p>
          <div className="form-grid">
            <Field label={t('securityTotpCode')}>
              <input
                className="narrow code"
                inputMode="numeric"
                autoComplete="one-time-code"
                pattern="[0-9]{6}"
                value={code}
                onChange={(e) => setCode(e.target.value)}
              />
            </Field>
          </div>
          <div className="actions">
            <button type="submit" className="primary">
              {t('securityTotpTurnOn')}
            </button>
          </div>
        </form>
      )}
      {message && <p role="status">{message}</p>}
    </div>
  );
}

export function ManualRate({ currency }: { currency: string }) {
  const [rate, setRate] = useState('');
  const [hours, setHours] = useState('24');
  const [message, setMessage] = useState<string>();
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await send('rates.setManual', { rate: rate.trim(), validForHours: Number(hours) });
      setMessage(t('securityManualRateSaved', hours));
    } catch (err) {
      setMessage(errorText(err));
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)} data-testid="manual-rate">
      <p className="muted">{t('securityRateNeeded', currency)}</p>
      <div className="form-grid">
        <Field label={t('securityManualRateLabel', currency)}>
          <input
            className="money"
            inputMode="decimal"
            value={rate}
            placeholder="97000.00"
            onChange={(e) => setRate(e.target.value)}
          />
        </Field>
        <Field label={t('securityManualRateHoursLabel')}>
          <input
            className="narrow"
            type="number"
            min={1}
            max={720}
            value={hours}
            onChange={(e) => setHours(e.target.value)}
          />
        </Field>
      </div>
      <div className="actions">
        <button type="submit">{t('securitySaveRate')}</button>
        {message && <p role="status">{message}</p>}
      </div>
    </form>
  );
}
