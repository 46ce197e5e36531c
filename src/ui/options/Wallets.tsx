/** Linked wallets: choose the one that pays, test (balance), unlink, link a new one. */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { formatMsatAsSats, parseMoneyInput } from '../../core/money/rates';
import { send } from '../../messages/client';
import type { StatusView } from '../../messages/map';
import { railKindLabel } from '../shared/format';
import { errorText, type MessageKey, say, t } from '../shared/i18n';
import { Field } from './Field';

type Kind = 'lnbits' | 'nwc' | 'webln' | 'ethereum';

/** The name a new wallet gets when none is typed. */
const DEFAULT_NAME: Record<Kind, MessageKey> = {
  lnbits: 'walletsDefaultNameLnbits',
  nwc: 'walletsDefaultNameNwc',
  webln: 'walletsDefaultNameWebln',
  ethereum: 'walletsDefaultNameEthereum',
};

/** A card's own limits at the card service: empty means none. */
function CardLimitsForm({ railId, currency }: { railId: string; currency: string }) {
  const [charge, setCharge] = useState('');
  const [day, setDay] = useState('');
  const [said, setSaid] = useState<string>();
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const minor = (text: string) => (text.trim() ? parseMoneyInput(text, currency).toString() : null);
      const r = await send('rails.cardLimits', {
        railId,
        perChargeMinor: minor(charge),
        perDayMinor: minor(day),
      });
      setSaid(
        r.pending
          ? t('walletsCardLimitsPending', new Date(r.pending.from).toLocaleString())
          : t('walletsCardLimitsSaved'),
      );
    } catch (err) {
      setSaid(errorText(err));
    }
  };
  return (
    <form className="card-limits" data-testid={`card-limits-${railId}`} onSubmit={(e) => void save(e)}>
      <span className="muted small">{t('walletsCardLimits')}</span>
      <label>
        {t('walletsCardLimitCharge', currency)}{' '}
        <input
          inputMode="decimal"
          data-testid="card-limit-charge"
          value={charge}
          onChange={(e) => setCharge(e.target.value)}
        />
      </label>
      <label>
        {t('walletsCardLimitDay', currency)}{' '}
        <input
          inputMode="decimal"
          data-testid="card-limit-day"
          value={day}
          onChange={(e) => setDay(e.target.value)}
        />
      </label>
      <button type="submit">{t('walletsCardLimitsSave')}</button>
      {said && (
        <span role="status" className="muted small" data-testid="card-limits-status">
          {said}
        </span>
      )}
    </form>
  );
}

type Rail = StatusView['rails'][number];

/**
 * Unlinking asks once more, in place, naming the wallet (a card also says its plans stop). The
 * safe answer has the focus; Escape or "Keep" puts the focus back on the Unlink button.
 */
function UnlinkConfirm({ rail, keep, done }: { rail: Rail; keep(): void; done(): Promise<void> }) {
  const safe = useRef<HTMLButtonElement>(null);
  const [said, setSaid] = useState<string>();
  useEffect(() => safe.current?.focus(), []);
  const unlink = async () => {
    try {
      await send('rails.remove', { railId: rail.id });
      await done();
    } catch (err) {
      setSaid(errorText(err));
    }
  };
  return (
    <fieldset
      className="unlink-confirm"
      aria-labelledby={`unlink-q-${rail.id}`}
      data-testid={`unlink-confirm-${rail.id}`}
      onKeyDown={(e) => {
        if (e.key === 'Escape') keep();
      }}
    >
      <p id={`unlink-q-${rail.id}`}>
        <strong>{t('walletsUnlinkAsk', rail.label)}</strong>{' '}
        {t(rail.kind === 'card' ? 'walletsUnlinkAskCard' : 'walletsUnlinkAskWallet')}
      </p>
      <span className="buttons">
        <button type="button" ref={safe} onClick={keep}>
          {t('walletsUnlinkKeep')}
        </button>
        <button type="button" className="danger" data-testid="unlink-yes" onClick={() => void unlink()}>
          {t('walletsUnlinkNamed', rail.label)}
        </button>
      </span>
      {said && (
        <p role="alert" className="error">
          {said}
        </p>
      )}
    </fieldset>
  );
}

export function Wallets({ status, reload }: { status: StatusView; reload(): Promise<void> }) {
  const [unlinking, setUnlinking] = useState<string>();
  const unlinkButtons = useRef(new Map<string, HTMLButtonElement>());
  const [tests, setTests] = useState<Record<string, string>>({});
  const [kind, setKind] = useState<Kind>('lnbits');
  const [form, setForm] = useState({ label: '', url: '', adminKey: '', uri: '', network: 'mainnet' });
  const [message, setMessage] = useState<string>();
  const test = async (railId: string) => {
    setTests({ ...tests, [railId]: t('walletsTesting') });
    const r = await send('rails.test', { railId });
    setTests({
      ...tests,
      [railId]: r.ok ? t('walletsBalance', formatMsatAsSats(BigInt(r.balanceMsat))) : say(r.said, r.reason),
    });
  };
  const [cardMessage, setCardMessage] = useState<string>();
  /** Opens the card service in a tab, then waits for the link to be claimable (up to 10 minutes). */
  const linkCard = async () => {
    try {
      await send('card.linkStart', {});
      setCardMessage(t('walletsLinkCardWaiting'));
      for (let i = 0; i < 300; i++) {
        const r = await send('card.linkPoll', {});
        if (r.status === 'linked') {
          setCardMessage(t('walletsCardLinked', r.label));
          await reload();
          return;
        }
        if (r.status === 'failed' || r.status === 'none') {
          setCardMessage(r.status === 'failed' ? say(r.said, r.reason) : undefined);
          return;
        }
        // Say what the link waits for: the card page to open, or the card to be saved on it.
        setCardMessage(t(r.waiting === 'page' ? 'walletsLinkCardOpening' : 'walletsLinkCardWaiting'));
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    } catch (err) {
      setCardMessage(errorText(err));
    }
  };
  const add = async (e: FormEvent) => {
    e.preventDefault();
    const network = form.network as 'mainnet' | 'testnet' | 'signet' | 'regtest';
    const label = form.label || t(DEFAULT_NAME[kind]);
    try {
      const input =
        kind === 'lnbits'
          ? { kind, label, network, url: form.url.trim(), adminKey: form.adminKey.trim() }
          : kind === 'nwc'
            ? { kind, label, network, uri: form.uri.trim() }
            : kind === 'ethereum'
              ? { kind, label, network: network === 'mainnet' ? ('mainnet' as const) : ('testnet' as const) }
              : { kind, label, network };
      const { id } = await send('rails.add', input);
      setMessage(t('walletsLinkedTesting'));
      await reload();
      // A page's wallet has no balance to test from here.
      if (kind === 'lnbits' || kind === 'nwc') await test(id);
      setMessage(undefined);
      setForm({ label: '', url: '', adminKey: '', uri: '', network: form.network });
    } catch (err) {
      setMessage(errorText(err));
    }
  };
  return (
    <>
      {status.rails.length ? (
        <fieldset className="card" data-testid="rails">
          <legend>{t('walletsPayingWallet')}</legend>
          {status.rails.map((r) => (
            <div key={r.id} className="rail">
              <label className="check">
                <input
                  type="radio"
                  name="rail"
                  value={r.id}
                  checked={status.defaultRailId === r.id}
                  onChange={() => void send('rails.setDefault', { railId: r.id }).then(reload)}
                />
                <span className="ellipsis">{r.label}</span>{' '}
                <span className="badge neutral">{railKindLabel(r.kind)}</span>
              </label>
              <span className="muted small" data-testid={`rail-test-${r.id}`} role="status">
                {tests[r.id]}
              </span>
              {r.kind === 'card' && <CardLimitsForm railId={r.id} currency={status.currency} />}
              <span className="buttons">
                {r.kind !== 'webln' && r.kind !== 'ethereum' && (
                  <button type="button" onClick={() => void test(r.id)}>
                    {t('walletsTest')}
                  </button>
                )}
                <button
                  type="button"
                  className="ghost danger"
                  aria-label={t('walletsUnlinkNamed', r.label)}
                  aria-expanded={unlinking === r.id}
                  data-testid={`unlink-${r.id}`}
                  ref={(b) => {
                    if (b) unlinkButtons.current.set(r.id, b);
                    else unlinkButtons.current.delete(r.id);
                  }}
                  onClick={() => setUnlinking(r.id)}
                >
                  {t('walletsUnlink')}
                </button>
              </span>
              {unlinking === r.id && (
                <UnlinkConfirm
                  rail={r}
                  keep={() => {
                    setUnlinking(undefined);
                    unlinkButtons.current.get(r.id)?.focus();
                  }}
                  done={async () => {
                    setUnlinking(undefined);
                    await reload();
                  }}
                />
              )}
            </div>
          ))}
        </fieldset>
      ) : (
        <p className="muted">{t('walletsNoneLinked')}</p>
      )}
      <h3>{t('walletsAddHeading')}</h3>
      <div className="card link-card" data-testid="link-card">
        <div>
          <strong>{t('walletsCardTitle')}</strong>
          <p className="muted small">{t('walletsCardHint')}</p>
        </div>
        <button type="button" data-testid="link-card-start" onClick={() => void linkCard()}>
          {t('walletsLinkCard')}
        </button>
        {cardMessage && (
          <span role="status" data-testid="link-card-status">
            {cardMessage}
          </span>
        )}
      </div>
      <form className="card" onSubmit={(e) => void add(e)} data-testid="add-rail">
        <div className="form-grid">
          <Field label={t('walletsLink')}>
            <select value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
              <option value="lnbits">{t('walletsKindLnbits')}</option>
              <option value="nwc">{t('walletsKindNwc')}</option>
              <option value="webln">{t('walletsKindWebln')}</option>
              <option value="ethereum">{t('walletsKindEthereum')}</option>
            </select>
          </Field>
          <Field label={t('walletsName')}>
            <input
              value={form.label}
              placeholder={t(DEFAULT_NAME[kind])}
              onChange={(e) => setForm({ ...form, label: e.target.value })}
            />
          </Field>
          {kind === 'ethereum' ? (
            <Field label={t('walletsEthereumNetworks')}>
              <select
                value={form.network === 'mainnet' ? 'mainnet' : 'testnet'}
                onChange={(e) => setForm({ ...form, network: e.target.value })}
              >
                <option value="mainnet">{t('networkEthMainnet')}</option>
                <option value="testnet">{t('networkEthTestnet')}</option>
              </select>
            </Field>
          ) : (
            <Field label={t('walletsNetwork')}>
              <select value={form.network} onChange={(e) => setForm({ ...form, network: e.target.value })}>
                <option value="mainnet">{t('networkMainnet')}</option>
                <option value="testnet">{t('networkTestnet')}</option>
                <option value="signet">{t('networkSignet')}</option>
                <option value="regtest">{t('networkRegtest')}</option>
              </select>
            </Field>
          )}
          {kind === 'lnbits' && (
            <Field label={t('walletsLnbitsAddress')}>
              <input
                className="wide"
                value={form.url}
                placeholder="https://legend.lnbits.com"
                onChange={(e) => setForm({ ...form, url: e.target.value })}
              />
            </Field>
          )}
          {kind === 'lnbits' && (
            <Field label={t('walletsAdminKey')} hint={t('walletsAdminKeyHint')}>
              <input
                className="wide"
                autoComplete="off"
                spellCheck={false}
                value={form.adminKey}
                onChange={(e) => setForm({ ...form, adminKey: e.target.value })}
              />
            </Field>
          )}
          {kind === 'nwc' && (
            <Field label={t('walletsConnectionString')}>
              <input
                className="wide"
                autoComplete="off"
                spellCheck={false}
                value={form.uri}
                placeholder="nostr+walletconnect://…"
                onChange={(e) => setForm({ ...form, uri: e.target.value })}
              />
            </Field>
          )}
        </div>
        <div className="actions">
          <button type="submit" className="primary">
            {t('walletsLinkSubmit')}
          </button>
          {message && (
            <p role="status" className="error">
              {message}
            </p>
          )}
        </div>
      </form>
    </>
  );
}
