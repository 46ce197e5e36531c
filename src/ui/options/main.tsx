import { type FormEvent, useEffect, useState } from 'react';
import { send } from '../../messages/client';
import { mount } from '../shared/mount';
import { PaymentsTable } from '../shared/PaymentsTable';
import { RecentChallenges } from '../shared/RecentChallenges';
import { useStatusStore } from '../shared/status-store';

async function chooseRail(railId: string) {
  await send('rails.setDefault', { railId });
  await useStatusStore.getState().load();
}

function PasswordForm() {
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
      setMessage('Password saved.');
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
          : 'No password yet: large charges and budget overages cannot be approved until you set one.'}
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

function TotpForm() {
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
          <p>
            Add this key to your authenticator app: <code data-testid="totp-secret">{setup.secret}</code>
            <br />
            <span className="muted small">{setup.uri}</span>
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

function Options() {
  const { status, recent, payments, error, load } = useStatusStore();
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <main style={{ maxWidth: 820, margin: '0 auto', padding: 24 }}>
      <h1>Paybound settings</h1>
      {error && <p className="error">{error}</p>}
      <h2>Wallets</h2>
      {status?.rails.length ? (
        <fieldset className="card" data-testid="rails">
          <legend>The wallet that pays</legend>
          {status.rails.map((r) => (
            <label key={r.id} style={{ display: 'block', margin: '4px 0' }}>
              <input
                type="radio"
                name="rail"
                value={r.id}
                checked={status.defaultRailId === r.id}
                onChange={() => void chooseRail(r.id)}
              />{' '}
              {r.label} <span className="muted">({r.kind})</span>
            </label>
          ))}
        </fieldset>
      ) : (
        <p className="muted">No wallet linked yet.</p>
      )}
      <h2>Password for large charges</h2>
      <PasswordForm />
      <h2>Two-factor codes (TOTP)</h2>
      <TotpForm />
      <h2>History</h2>
      <PaymentsTable rows={payments} />
      <h2>Payment requests seen</h2>
      <RecentChallenges rows={recent} />
    </main>
  );
}

mount(<Options />);
