/** Password and 2FA for strong approvals. */
import { type FormEvent, useEffect, useState } from 'react';
import { renderSVG } from 'uqr';
import { send } from '../../messages/client';

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
      setMessage('Password saved. Wallet keys are encrypted with it.');
      onSaved?.();
      setPassword('');
      setCurrent('');
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)} data-testid="password-form">
      <p className="muted">
        {hasPassword
          ? 'A password protects large charges and budget overages.'
          : 'No password yet: large charges and budget overages cannot be approved until you set one (or 2FA).'}
      </p>
      {hasPassword && (
        <label>
          Current password{' '}
          <input
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </label>
      )}{' '}
      <label>
        New password (8 characters or more){' '}
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
        Save password
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
      setMessage('2FA is on: large charges accept a code from your app.');
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <div className="card" data-testid="totp">
      <p className="muted">
        {enabled ? '2FA is on.' : 'Use an authenticator app instead of typing your password.'}
      </p>
      {!setup && (
        <button type="button" onClick={() => void send('auth.totpSetup', {}).then(setSetup)}>
          {enabled ? 'Replace 2FA' : 'Set up 2FA'}
        </button>
      )}
      {setup && (
        <form onSubmit={(e) => void confirm(e)}>
          <div
            className="qr"
            role="img"
            aria-label="QR code to scan with your authenticator app"
            // The SVG is generated here from our own otpauth URI, not taken from any page.
            // biome-ignore lint/security/noDangerouslySetInnerHtml: locally generated SVG
            dangerouslySetInnerHTML={{ __html: renderSVG(setup.uri, { border: 2 }) }}
          />
          <p>
            Or type this key: <code data-testid="totp-secret">{setup.secret}</code>
          </p>
          <label>
            Code from the app{' '}
            <input
              inputMode="numeric"
              pattern="[0-9]{6}"
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </label>{' '}
          <button type="submit" className="primary">
            Turn on 2FA
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
      setMessage(`Saved: used while no rate source answers, for ${hours} hours.`);
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form className="card" onSubmit={(e) => void save(e)}>
      <p className="muted">
        Paybound needs a {currency} price of bitcoin to check charges against your budgets.
      </p>
      <label>
        Manual rate: 1 BTC ={' '}
        <input value={rate} placeholder="97000.00" onChange={(e) => setRate(e.target.value)} /> {currency}
      </label>{' '}
      <label>
        for <input className="narrow" value={hours} onChange={(e) => setHours(e.target.value)} /> hours
      </label>{' '}
      <button type="submit">Save rate</button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}
