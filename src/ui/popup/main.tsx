import { useEffect } from 'react';
import browser from 'webextension-polyfill';
import { mount } from '../shared/mount';
import { RecentChallenges } from '../shared/RecentChallenges';
import { useStatusStore } from '../shared/status-store';

function Popup() {
  const { status, recent, error, load } = useStatusStore();
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
      <h2>Recent payment requests</h2>
      <RecentChallenges rows={recent} />
      <p>
        <button type="button" onClick={() => void browser.runtime.openOptionsPage()}>
          Settings
        </button>
      </p>
    </main>
  );
}

mount(<Popup />);
