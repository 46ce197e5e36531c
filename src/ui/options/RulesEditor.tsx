/**
 * Budgets, tier limits, site rules and the runaway guard, edited as one form and saved whole:
 * the worker validates the rules and refuses them with the reason, so nothing is half-saved.
 */
import { useEffect, useState } from 'react';
import { minorToInput, parseMoneyInput } from '../../core/money/rates';
import type { RulesWire } from '../../core/policy/rules';
import { send } from '../../messages/client';

type Budget = RulesWire['budgets'][number];
type Site = RulesWire['sites'][number];

interface Draft {
  auto: string;
  confirm: string;
  budgets: (Omit<Budget, 'limitMinor' | 'milestones' | 'scope'> & {
    limit: string;
    milestones: string;
    origin: string;
  })[];
  /** `key`: a stable React key for a row being edited (its origin may be half typed). */
  sites: (Omit<Site, 'autoLimitMinor'> & { autoLimit: string; key: string })[];
  maxAuto: string;
  minutes: string;
}

function toDraft(r: RulesWire, currency: string): Draft {
  return {
    auto: minorToInput(BigInt(r.autoMaxMinor), currency),
    confirm: minorToInput(BigInt(r.confirmMaxMinor), currency),
    budgets: r.budgets.map((b) => ({
      id: b.id,
      label: b.label,
      period: b.period,
      origin: b.scope.kind === 'site' ? b.scope.origin : '',
      limit: minorToInput(BigInt(b.limitMinor), currency),
      milestones: b.milestones.join(', '),
    })),
    sites: r.sites.map((s) => ({
      key: s.origin,
      origin: s.origin,
      mode: s.mode,
      autoLimit: s.autoLimitMinor !== undefined ? minorToInput(BigInt(s.autoLimitMinor), currency) : '',
    })),
    maxAuto: String(r.runaway.maxAuto),
    minutes: String(r.runaway.windowMs / 60000),
  };
}

function fromDraft(d: Draft, base: RulesWire, currency: string): RulesWire {
  const money = (text: string, what: string) => {
    try {
      return parseMoneyInput(text, currency).toString();
    } catch (e) {
      throw new Error(`${what}: ${e instanceof Error ? e.message : 'not an amount'}`);
    }
  };
  return {
    ...base,
    autoMaxMinor: money(d.auto, 'Automatic payments up to'),
    confirmMaxMinor: money(d.confirm, 'One click up to'),
    budgets: d.budgets.map((b) => ({
      id: b.id,
      label: b.label,
      period: b.period,
      scope: b.origin.trim()
        ? { kind: 'site' as const, origin: b.origin.trim() }
        : { kind: 'global' as const },
      limitMinor: money(b.limit, `Budget "${b.label}"`),
      milestones: b.milestones
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((m) => Number(m)),
    })),
    sites: d.sites.map((s) => ({
      origin: s.origin.trim(),
      mode: s.mode,
      ...(s.mode === 'trusted' && s.autoLimit.trim()
        ? { autoLimitMinor: money(s.autoLimit, `Site ${s.origin}`) }
        : {}),
    })),
    runaway: { maxAuto: Number(d.maxAuto), windowMs: Math.round(Number(d.minutes) * 60000) },
  };
}

export function RulesEditor({ currency, onSaved }: { currency: string; onSaved(): void }) {
  const [base, setBase] = useState<RulesWire>();
  const [draft, setDraft] = useState<Draft>();
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  useEffect(() => {
    void send('rules.get', {}).then((r) => {
      setBase(r);
      setDraft(toDraft(r, currency));
    });
  }, [currency]);
  if (!base || !draft) return null;
  const update = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });
  const save = async () => {
    try {
      const saved = await send('rules.set', fromDraft(draft, base, currency));
      setBase(saved);
      setDraft(toDraft(saved, currency));
      setMessage({ ok: true, text: 'Saved: the next payment request follows these rules.' });
      onSaved();
    } catch (e) {
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <form
      className="card rules"
      data-testid="rules"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <fieldset>
        <legend>Approval tiers ({currency})</legend>
        <label>
          Pay automatically up to{' '}
          <input
            data-testid="auto-limit"
            value={draft.auto}
            onChange={(e) => update({ auto: e.target.value })}
          />
        </label>
        <label>
          Ask for one click up to{' '}
          <input
            data-testid="confirm-limit"
            value={draft.confirm}
            onChange={(e) => update({ confirm: e.target.value })}
          />
        </label>
        <p className="muted small">
          Above that, your password or a 2FA code. Going over a budget always needs both and an explicit
          confirmation.
        </p>
      </fieldset>
      <fieldset>
        <legend>Budgets</legend>
        {draft.budgets.map((b, i) => {
          const set = (patch: Partial<(typeof draft.budgets)[number]>) =>
            update({ budgets: draft.budgets.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
          return (
            <div className="budget-row" key={b.id} data-testid={`budget-${b.id}`}>
              <label>
                Name <input value={b.label} onChange={(e) => set({ label: e.target.value })} />
              </label>
              <label>
                Limit{' '}
                <input
                  data-testid="budget-limit"
                  value={b.limit}
                  onChange={(e) => set({ limit: e.target.value })}
                />
              </label>
              <label>
                Per{' '}
                <select
                  value={b.period}
                  onChange={(e) => set({ period: e.target.value as Budget['period'] })}
                >
                  <option value="day">day</option>
                  <option value="week">week</option>
                  <option value="month">month</option>
                </select>
              </label>
              <label>
                Site (empty: all){' '}
                <input
                  placeholder="https://app.example"
                  value={b.origin}
                  onChange={(e) => set({ origin: e.target.value })}
                />
              </label>
              <label>
                Notify at %{' '}
                <input value={b.milestones} onChange={(e) => set({ milestones: e.target.value })} />
              </label>
              <button
                type="button"
                onClick={() => update({ budgets: draft.budgets.filter((_, j) => j !== i) })}
              >
                Remove
              </button>
            </div>
          );
        })}
        <button
          type="button"
          onClick={() =>
            update({
              budgets: [
                ...draft.budgets,
                {
                  id: `budget-${Date.now().toString(36)}`,
                  label: 'New budget',
                  period: 'month',
                  origin: '',
                  limit: '10.00',
                  milestones: '50, 80, 100',
                },
              ],
            })
          }
        >
          Add a budget
        </button>
      </fieldset>
      <fieldset>
        <legend>Sites</legend>
        {draft.sites.map((s, i) => {
          const set = (patch: Partial<(typeof draft.sites)[number]>) =>
            update({ sites: draft.sites.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
          return (
            <div className="budget-row" key={s.key}>
              <label>
                Site <input value={s.origin} onChange={(e) => set({ origin: e.target.value })} />
              </label>
              <label>
                Rule{' '}
                <select value={s.mode} onChange={(e) => set({ mode: e.target.value as Site['mode'] })}>
                  <option value="ask">always ask</option>
                  <option value="trusted">trusted</option>
                  <option value="block">block</option>
                </select>
              </label>
              {s.mode === 'trusted' && (
                <label>
                  Pay automatically up to{' '}
                  <input value={s.autoLimit} onChange={(e) => set({ autoLimit: e.target.value })} />
                </label>
              )}
              <button type="button" onClick={() => update({ sites: draft.sites.filter((_, j) => j !== i) })}>
                Remove
              </button>
            </div>
          );
        })}
        <button
          type="button"
          onClick={() =>
            update({
              sites: [
                ...draft.sites,
                { key: `new-${Date.now()}`, origin: 'https://', mode: 'ask', autoLimit: '' },
              ],
            })
          }
        >
          Add a site rule
        </button>
        <p>
          <label>
            Runaway guard: after{' '}
            <input
              className="narrow"
              value={draft.maxAuto}
              onChange={(e) => update({ maxAuto: e.target.value })}
            />{' '}
            automatic payments to one site within{' '}
            <input
              className="narrow"
              value={draft.minutes}
              onChange={(e) => update({ minutes: e.target.value })}
            />{' '}
            minutes, ask again.
          </label>
        </p>
      </fieldset>
      <button type="submit" className="primary" data-testid="save-rules">
        Save rules
      </button>
      {message && (
        <p role="status" className={message.ok ? undefined : 'error'} data-testid="rules-message">
          {message.text}
        </p>
      )}
    </form>
  );
}
