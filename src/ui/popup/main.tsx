import { useEffect } from 'react';
import browser from 'webextension-polyfill';
import { mount } from '../shared/mount';
import { PaymentsTable } from '../shared/PaymentsTable';
import { useStatusStore } from '../shared/status-store';

function Popup() {
  const { status, payments, error, load } = useStatusStore();
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <main style={{ width: 360, padding: 12 }}>
      <h1>Paybound</h1>
      {error && <p className="error">{error}</p>}
      {status && (
        <div className="card" data-testid="status">
          <div>
            Wallet:{' '}
            {status.rails.length ? (
              status.rails.map((r) => r.label).join(', ')
            ) : (
              <span className="muted">none linked</span>
            )}
          </div>
          <div className="muted">
            Currency {status.currency} · {status.challengesSeen} payment requests seen · v{status.version}
          </div>
        </div>
      )}
      <h2>Recent payments</h2>
      <PaymentsTable rows={payments} />
      <p>
        <button type="button" onClick={() => void browser.runtime.openOptionsPage()}>
          Settings
        </button>
      </p>
    </main>
  );
}

mount(<Popup />);
