/** Password and 2FA for strong approvals. */
import { type FormEvent, useEffect, useState } from 'react';
import { renderSVG } from 'uqr';
import { send } from '../../messages/client';
import { t } from '../shared/i18n';

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
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)} data-testid="password-form">
      <p className="muted">{hasPassword ? t('securityHasPassword') : t('securityNoPassword')}</p>
      {hasPassword && (
        <label>
          {t('securityCurrentPassword')}{' '}
          <input
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </label>
      )}{' '}
      <label>
        {t('securityNewPassword')}{' '}
        <input
          type="password"
          data-testid="new-password"
          autoComplete="new-password"
          minLength={8}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>{' '}
      <button type="submit" className="primary" data-testid="save-password">
        {t('securitySavePassword')}
      </button>
      {message && <p role="status">{message}</p>}
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
      setMessage(err instanceof Error ? err.message : String(err));
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
          <label>
            {t('securityTotpCode')}{' '}
            <input
              inputMode="numeric"
              pattern="[0-9]{6}"
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </label>{' '}
          <button type="submit" className="primary">
            {t('securityTotpTurnOn')}
          </button>
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
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };
  // The inputs sit inside the translated sentences, wherever the language puts them.
  const [rateBefore, rateAfter] = t('securityManualRate', '\u0001', currency).split('\u0001');
  const [hoursBefore, hoursAfter] = t('securityManualRateHours', '\u0001').split('\u0001');
  return (
    <form className="card" onSubmit={(e) => void save(e)}>
      <p className="muted">{t('securityRateNeeded', currency)}</p>
      <label>
        {rateBefore}
        <input value={rate} placeholder="97000.00" onChange={(e) => setRate(e.target.value)} />
        {rateAfter}
      </label>{' '}
      <label>
        {hoursBefore}
        <input className="narrow" value={hours} onChange={(e) => setHours(e.target.value)} />
        {hoursAfter}
      </label>{' '}
      <button type="submit">{t('securitySaveRate')}</button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}
