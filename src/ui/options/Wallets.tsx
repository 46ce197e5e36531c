/** Linked wallets: choose the one that pays, test (balance), unlink, link a new one. */
import { type FormEvent, useState } from 'react';
import { formatMsatAsSats } from '../../core/money/rates';
import { send } from '../../messages/client';
import type { StatusView } from '../../messages/map';

type Kind = 'lnbits' | 'nwc' | 'webln';

export function Wallets({ status, reload }: { status: StatusView; reload(): Promise<void> }) {
  const [tests, setTests] = useState<Record<string, string>>({});
  const [kind, setKind] = useState<Kind>('lnbits');
  const [form, setForm] = useState({ label: '', url: '', adminKey: '', uri: '', network: 'mainnet' });
  const [message, setMessage] = useState<string>();
  const test = async (railId: string) => {
    setTests({ ...tests, [railId]: 'asking the wallet…' });
    const r = await send('rails.test', { railId });
    setTests({ ...tests, [railId]: r.ok ? `balance ${formatMsatAsSats(BigInt(r.balanceMsat))}` : r.reason });
  };
  const add = async (e: FormEvent) => {
    e.preventDefault();
    const network = form.network as 'mainnet' | 'testnet' | 'signet' | 'regtest';
    const label =
      form.label ||
      { lnbits: 'LNbits wallet', nwc: 'Nostr Wallet Connect', webln: "This page's WebLN wallet" }[kind];
    try {
      const input =
        kind === 'lnbits'
          ? { kind, label, network, url: form.url.trim(), adminKey: form.adminKey.trim() }
          : kind === 'nwc'
            ? { kind, label, network, uri: form.uri.trim() }
            : { kind, label, network };
      const { id } = await send('rails.add', input);
      setMessage('Linked. Testing the connection…');
      await reload();
      if (kind !== 'webln') await test(id);
      setMessage(undefined);
      setForm({ label: '', url: '', adminKey: '', uri: '', network: form.network });
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <>
      {status.rails.length ? (
        <fieldset className="card" data-testid="rails">
          <legend>The wallet that pays</legend>
          {status.rails.map((r) => (
            <div key={r.id} className="row rail">
              <label>
                <input
                  type="radio"
                  name="rail"
                  value={r.id}
                  checked={status.defaultRailId === r.id}
                  onChange={() => void send('rails.setDefault', { railId: r.id }).then(reload)}
                />{' '}
                {r.label} <span className="muted">({r.kind})</span>
              </label>
              <span className="muted small" data-testid={`rail-test-${r.id}`}>
                {tests[r.id]}
              </span>
              <span>
                {r.kind !== 'webln' && (
                  <button type="button" onClick={() => void test(r.id)}>
                    Test
                  </button>
                )}{' '}
                <button
                  type="button"
                  onClick={() => void send('rails.remove', { railId: r.id }).then(reload)}
                >
                  Unlink
                </button>
              </span>
            </div>
          ))}
        </fieldset>
      ) : (
        <p className="muted">No wallet linked yet.</p>
      )}
      <form className="card" onSubmit={(e) => void add(e)} data-testid="add-rail">
        <label>
          Link{' '}
          <select value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            <option value="lnbits">an LNbits wallet</option>
            <option value="nwc">a Nostr Wallet Connect wallet</option>
            <option value="webln">the WebLN wallet of the page (Alby and others)</option>
          </select>
        </label>{' '}
        <label>
          Name <input value={form.label} onChange={(e) => setForm({ ...form, label: e.target.value })} />
        </label>{' '}
        <label>
          Network{' '}
          <select value={form.network} onChange={(e) => setForm({ ...form, network: e.target.value })}>
            <option value="mainnet">Bitcoin</option>
            <option value="testnet">testnet</option>
            <option value="signet">signet</option>
            <option value="regtest">regtest</option>
          </select>
        </label>
        {kind === 'lnbits' && (
          <div>
            <label>
              LNbits address{' '}
              <input
                value={form.url}
                placeholder="https://legend.lnbits.com"
                onChange={(e) => setForm({ ...form, url: e.target.value })}
              />
            </label>{' '}
            <label>
              Admin key{' '}
              <input value={form.adminKey} onChange={(e) => setForm({ ...form, adminKey: e.target.value })} />
            </label>
          </div>
        )}
        {kind === 'nwc' && (
          <div>
            <label>
              Connection string{' '}
              <input
                className="wide"
                value={form.uri}
                placeholder="nostr+walletconnect://…"
                onChange={(e) => setForm({ ...form, uri: e.target.value })}
              />
            </label>
          </div>
        )}
        <button type="submit" className="primary">
          Link wallet
        </button>
        {message && (
          <p role="status" className="error">
            {message}
          </p>
        )}
      </form>
    </>
  );
}
