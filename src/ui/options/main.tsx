import { useEffect } from 'react';
import { send } from '../../messages/client';
import { mount } from '../shared/mount';
import { PaymentsTable } from '../shared/PaymentsTable';
import { RecentChallenges } from '../shared/RecentChallenges';
import { useStatusStore } from '../shared/status-store';

async function chooseRail(railId: string) {
  await send('rails.setDefault', { railId });
  await useStatusStore.getState().load();
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
      <h2>Budgets and approval tiers</h2>
      <p className="muted">Coming with the spending-policy work.</p>
      <h2>History</h2>
      <PaymentsTable rows={payments} />
      <h2>Payment requests seen</h2>
      <RecentChallenges rows={recent} />
    </main>
  );
}

mount(<Options />);
