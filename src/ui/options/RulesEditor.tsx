/**
 * Budgets, tier limits, site rules and the runaway guard, edited as one form and saved whole:
 * the worker validates the rules and refuses them with the reason, so nothing is half-saved.
 */
import { type FormEvent, type ReactNode, useEffect, useState } from 'react';
import { create } from 'zustand';
import { formatMinor, minorToInput, parseMoneyInput } from '../../core/money/rates';
import type { RulesWire } from '../../core/policy/rules';
import { send } from '../../messages/client';
import { errorText, t } from '../shared/i18n';
import { Field, inSentence } from './Field';

type Budget = RulesWire['budgets'][number];
type Site = RulesWire['sites'][number];

interface Draft {
  auto: string;
  /** The daily cap on automatic payments across all sites. */
  autoDay: string;
  confirm: string;
  budgets: (Omit<Budget, 'limitMinor' | 'milestones' | 'scope'> & {
    limit: string;
    /** Percentages of the limit, kept sorted. */
    milestones: number[];
    origin: string;
  })[];
  /** `key`: a stable React key for a row being edited (its origin may be half typed). */
  sites: (Omit<Site, 'autoLimitMinor' | 'dayLimitMinor'> & {
    autoLimit: string;
    dayLimit: string;
    key: string;
  })[];
  maxAuto: string;
  minutes: string;
}

function toDraft(r: RulesWire, currency: string): Draft {
  return {
    auto: minorToInput(BigInt(r.autoMaxMinor), currency),
    autoDay: minorToInput(BigInt(r.autoDayCapMinor ?? '200'), currency),
    confirm: minorToInput(BigInt(r.confirmMaxMinor), currency),
    budgets: r.budgets.map((b) => ({
      id: b.id,
      label: b.label,
      period: b.period,
      origin: b.scope.kind === 'site' ? b.scope.site : '',
      limit: minorToInput(BigInt(b.limitMinor), currency),
      milestones: [...b.milestones].sort((a, b) => a - b),
    })),
    sites: r.sites.map((s) => ({
      key: s.site,
      site: s.site,
      mode: s.mode,
      autoLimit: s.autoLimitMinor !== undefined ? minorToInput(BigInt(s.autoLimitMinor), currency) : '',
      dayLimit: s.dayLimitMinor !== undefined ? minorToInput(BigInt(s.dayLimitMinor), currency) : '',
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
      throw new Error(t('rulesFieldError', what, e instanceof Error ? e.message : t('rulesNotAnAmount')));
    }
  };
  return {
    ...base,
    autoMaxMinor: money(d.auto, t('rulesFieldAuto')),
    autoDayCapMinor: money(d.autoDay, t('rulesFieldAutoDay')),
    confirmMaxMinor: money(d.confirm, t('rulesFieldConfirm')),
    budgets: d.budgets.map((b) => ({
      id: b.id,
      label: b.label,
      period: b.period,
      scope: b.origin.trim() ? { kind: 'site' as const, site: b.origin.trim() } : { kind: 'global' as const },
      limitMinor: money(b.limit, t('rulesFieldBudget', b.label)),
      milestones: b.milestones,
    })),
    sites: d.sites.map((s) => ({
      site: s.site.trim(),
      mode: s.mode,
      ...(s.mode === 'trusted' && s.autoLimit.trim()
        ? { autoLimitMinor: money(s.autoLimit, t('rulesFieldSite', s.site)) }
        : {}),
      ...(s.mode === 'trusted' && s.dayLimit.trim()
        ? { dayLimitMinor: money(s.dayLimit, t('rulesFieldSite', s.site)) }
        : {}),
    })),
    runaway: { maxAuto: Number(d.maxAuto), windowMs: Math.round(Number(d.minutes) * 60000) },
  };
}

/**
 * The rules are split over two pages (budgets and approvals; sites) but saved whole, so both edit
 * one draft held here.
 */
interface RulesState {
  base?: RulesWire;
  draft?: Draft;
  load(currency: string): Promise<void>;
  update(patch: Partial<Draft>): void;
  save(currency: string): Promise<void>;
}

const useRules = create<RulesState>((set, get) => ({
  async load(currency) {
    const r = await send('rules.get', {});
    set({ base: r, draft: toDraft(r, currency) });
  },
  update(patch) {
    const { draft } = get();
    if (draft) set({ draft: { ...draft, ...patch } });
  },
  async save(currency) {
    const { base, draft } = get();
    if (!base || !draft) return;
    const saved = await send('rules.set', fromDraft(draft, base, currency));
    set({ base: saved, draft: toDraft(saved, currency) });
  },
}));

/** The milestones offered as chips; any other value already set shows as a chip too. */
const PRESET_MILESTONES = [25, 50, 75, 80, 90, 100];

function MilestoneChips({ value, onChange }: { value: number[]; onChange(next: number[]): void }) {
  const [custom, setCustom] = useState('');
  const shown = [...new Set([...PRESET_MILESTONES, ...value])].sort((a, b) => a - b);
  const toggle = (m: number) =>
    onChange(value.includes(m) ? value.filter((x) => x !== m) : [...value, m].sort((a, b) => a - b));
  const addCustom = () => {
    const n = Number(custom);
    if (Number.isInteger(n) && n >= 1 && n <= 1000 && !value.includes(n)) toggle(n);
    setCustom('');
  };
  return (
    <div className="chips">
      {shown.map((m) => (
        <button
          key={m}
          type="button"
          className="chip"
          aria-pressed={value.includes(m)}
          onClick={() => toggle(m)}
        >
          {m} %
        </button>
      ))}
      <input
        type="number"
        className="narrow"
        min={1}
        max={1000}
        aria-label={t('rulesMilestoneCustom')}
        placeholder="%"
        value={custom}
        onChange={(e) => setCustom(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            addCustom();
          }
        }}
      />
      <button type="button" className="ghost" onClick={addCustom} disabled={!custom}>
        {t('rulesMilestoneAdd')}
      </button>
    </div>
  );
}

/** Loads the rules once per currency, and the save that both forms share. */
/** One rung of the approval ladder: its name, when it applies, and its limits if it has any. */
function Step({
  kind,
  name,
  when,
  children,
}: {
  kind: string;
  name: string;
  when: string;
  children?: ReactNode;
}) {
  return (
    <li className={`step step-${kind}`}>
      <div className="step-head">
        <span className="step-name">{name}</span>
        <span className="muted small">{when}</span>
      </div>
      {children}
    </li>
  );
}

function useRulesForm(currency: string, onSaved: () => void) {
  const { base, draft, load, update, save } = useRules();
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  useEffect(() => {
    void load(currency);
  }, [currency, load]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await save(currency);
      setMessage({ ok: true, text: t('rulesSaved') });
      onSaved();
    } catch (err) {
      setMessage({ ok: false, text: errorText(err) });
    }
  };
  return { ready: Boolean(base && draft), draft, update, submit, message };
}

/** The approval tiers as a ladder, budgets with their milestones, and the runaway guard. */
/** An amount in the user's currency, typed as people write it (Field gives it its id and hint). */
function MoneyInput({
  testid,
  value,
  onChange,
  ...labelled
}: {
  testid?: string;
  value: string;
  onChange(v: string): void;
  id?: string;
  'aria-describedby'?: string;
}) {
  return (
    <input
      {...labelled}
      {...(testid ? { 'data-testid': testid } : {})}
      className="money"
      inputMode="decimal"
      value={value}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

export function RulesEditor({ currency, onSaved }: { currency: string; onSaved(): void }) {
  const { draft, update, submit, message } = useRulesForm(currency, onSaved);
  if (!draft) return null;
  let confirmText = draft.confirm;
  try {
    confirmText = formatMinor(parseMoneyInput(draft.confirm, currency), currency);
  } catch {
    // Half typed: the ladder shows what is typed.
  }
  return (
    <form className="rules" data-testid="rules" onSubmit={(e) => void submit(e)}>
      <fieldset className="card">
        <legend>{t('rulesTiers', currency)}</legend>
        <ol className="ladder">
          <Step kind="auto" name={t('tierAuto')} when={t('tierAutoWhen')}>
            <div className="form-grid">
              <Field label={t('rulesAutoDefault')}>
                <MoneyInput testid="auto-limit" value={draft.auto} onChange={(v) => update({ auto: v })} />
              </Field>
              <Field label={t('rulesAutoDayCap')}>
                <MoneyInput
                  testid="auto-day-cap"
                  value={draft.autoDay}
                  onChange={(v) => update({ autoDay: v })}
                />
              </Field>
            </div>
          </Step>
          <Step kind="click" name={t('tierClick')} when={t('tierClickWhen')}>
            <div className="form-grid">
              <Field label={t('rulesConfirmUpTo')}>
                <MoneyInput
                  testid="confirm-limit"
                  value={draft.confirm}
                  onChange={(v) => update({ confirm: v })}
                />
              </Field>
            </div>
          </Step>
          <Step kind="password" name={t('tierPassword')} when={t('tierPasswordWhen', confirmText)} />
          <Step kind="over" name={t('tierOver')} when={t('tierOverWhen')} />
        </ol>
        <p className="muted small">{t('rulesTiersHint')}</p>
      </fieldset>
      <fieldset className="card">
        <legend>{t('rulesBudgets')}</legend>
        {draft.budgets.map((b, i) => {
          const set = (patch: Partial<(typeof draft.budgets)[number]>) =>
            update({ budgets: draft.budgets.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
          return (
            <div className="budget-row form-grid" key={b.id} data-testid={`budget-${b.id}`}>
              <Field label={t('rulesBudgetName')}>
                <input value={b.label} onChange={(e) => set({ label: e.target.value })} />
              </Field>
              <Field label={t('rulesBudgetLimit', currency)}>
                <MoneyInput testid="budget-limit" value={b.limit} onChange={(v) => set({ limit: v })} />
              </Field>
              <Field label={t('rulesBudgetPer')}>
                <select
                  value={b.period}
                  onChange={(e) => set({ period: e.target.value as Budget['period'] })}
                >
                  <option value="day">{t('periodDay')}</option>
                  <option value="week">{t('periodWeek')}</option>
                  <option value="month">{t('periodMonth')}</option>
                </select>
              </Field>
              <Field label={t('rulesBudgetSite')} hint={t('rulesBudgetSiteHint')}>
                <input
                  placeholder="https://app.example"
                  value={b.origin}
                  onChange={(e) => set({ origin: e.target.value })}
                />
              </Field>
              <div className="field">
                <span className="label" id={`ms-${b.id}`}>
                  {t('rulesBudgetMilestones')}
                </span>
                {/* biome-ignore lint/a11y/useSemanticElements: a group of toggle chips, not a fieldset inside the grid */}
                <div className="control" role="group" aria-labelledby={`ms-${b.id}`}>
                  <MilestoneChips value={b.milestones} onChange={(milestones) => set({ milestones })} />
                </div>
              </div>
              <div className="field">
                <span />
                <div className="control">
                  <button
                    type="button"
                    className="ghost danger"
                    onClick={() => update({ budgets: draft.budgets.filter((_, j) => j !== i) })}
                  >
                    {t('rulesRemoveBudget', b.label)}
                  </button>
                </div>
              </div>
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
                  label: t('rulesNewBudget'),
                  period: 'month',
                  origin: '',
                  limit: '10.00',
                  milestones: [50, 80, 100],
                },
              ],
            })
          }
        >
          {t('rulesAddBudget')}
        </button>
      </fieldset>
      <fieldset className="card">
        <legend>{t('rulesRunawayTitle')}</legend>
        <p className="sentence">
          {inSentence(t('rulesRunaway', '\u0001', '\u0002'), {
            '\u0001': (
              <input
                key="max-auto"
                type="number"
                min={1}
                className="narrow"
                aria-label={t('rulesRunawayCount')}
                value={draft.maxAuto}
                onChange={(e) => update({ maxAuto: e.target.value })}
              />
            ),
            '\u0002': (
              <input
                key="minutes"
                type="number"
                min={1}
                className="narrow"
                aria-label={t('rulesRunawayMinutes')}
                value={draft.minutes}
                onChange={(e) => update({ minutes: e.target.value })}
              />
            ),
          })}
        </p>
      </fieldset>
      <div className="actions">
        <button type="submit" className="primary" data-testid="save-rules">
          {t('rulesSave')}
        </button>
        {message && (
          <p role="status" className={message.ok ? 'ok' : 'error'} data-testid="rules-message">
            {message.text}
          </p>
        )}
      </div>
    </form>
  );
}

const MODE_HINT = {
  ask: 'rulesSiteAskHint',
  trusted: 'rulesSiteTrustedHint',
  block: 'rulesSiteBlockHint',
} as const;

/** Per-site rules: always ask, trusted (with its own limits) or blocked. */
export function SiteRules({ currency, onSaved }: { currency: string; onSaved(): void }) {
  const { draft, update, submit, message } = useRulesForm(currency, onSaved);
  if (!draft) return null;
  return (
    <form className="rules" data-testid="site-rules" onSubmit={(e) => void submit(e)}>
      <div className="card">
        {draft.sites.length === 0 && <p className="muted">{t('rulesNoSites')}</p>}
        {draft.sites.map((s, i) => {
          const set = (patch: Partial<(typeof draft.sites)[number]>) =>
            update({ sites: draft.sites.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
          return (
            <div className="budget-row form-grid" key={s.key} data-testid="site-rule">
              <Field label={t('rulesSite')}>
                <input
                  placeholder="https://app.example"
                  value={s.site}
                  onChange={(e) => set({ site: e.target.value })}
                />
              </Field>
              <Field label={t('rulesSiteRule')} hint={t(MODE_HINT[s.mode])}>
                <select value={s.mode} onChange={(e) => set({ mode: e.target.value as Site['mode'] })}>
                  <option value="ask">{t('rulesSiteAsk')}</option>
                  <option value="trusted">{t('rulesSiteTrusted')}</option>
                  <option value="block">{t('rulesSiteBlock')}</option>
                </select>
              </Field>
              {s.mode === 'trusted' && (
                <Field label={t('rulesAutoUpTo')} hint={t('rulesSiteDefaultHint')}>
                  <MoneyInput value={s.autoLimit} onChange={(v) => set({ autoLimit: v })} />
                </Field>
              )}
              {s.mode === 'trusted' && (
                <Field label={t('rulesAutoPerDay')}>
                  <MoneyInput value={s.dayLimit} onChange={(v) => set({ dayLimit: v })} />
                </Field>
              )}
              <div className="field">
                <span />
                <div className="control">
                  <button
                    type="button"
                    className="ghost danger"
                    onClick={() => update({ sites: draft.sites.filter((_, j) => j !== i) })}
                  >
                    {t('rulesRemoveSite', s.site || t('rulesNewSite'))}
                  </button>
                </div>
              </div>
            </div>
          );
        })}
        <button
          type="button"
          onClick={() =>
            update({
              sites: [
                ...draft.sites,
                { key: `new-${Date.now()}`, site: '', mode: 'ask', autoLimit: '', dayLimit: '' },
              ],
            })
          }
        >
          {t('rulesAddSite')}
        </button>
      </div>
      <div className="actions">
        <button type="submit" className="primary" data-testid="save-site-rules">
          {t('rulesSave')}
        </button>
        {message && (
          <p role="status" className={message.ok ? 'ok' : 'error'} data-testid="site-rules-message">
            {message.text}
          </p>
        )}
      </div>
    </form>
  );
}
