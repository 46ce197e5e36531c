/**
 * Budgets, tier limits, site rules and the runaway guard, edited as one form and saved whole:
 * the worker validates the rules and refuses them with the reason, so nothing is half-saved.
 */
import { type ReactNode, useEffect, useState } from 'react';
import { minorToInput, parseMoneyInput } from '../../core/money/rates';
import type { RulesWire } from '../../core/policy/rules';
import { send } from '../../messages/client';
import { t } from '../shared/i18n';

type Budget = RulesWire['budgets'][number];
type Site = RulesWire['sites'][number];

interface Draft {
  auto: string;
  /** The daily cap on automatic payments across all sites. */
  autoDay: string;
  confirm: string;
  budgets: (Omit<Budget, 'limitMinor' | 'milestones' | 'scope'> & {
    limit: string;
    milestones: string;
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
      milestones: b.milestones.join(', '),
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
      milestones: b.milestones
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((m) => Number(m)),
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
 * A translated sentence with elements in place of its markers (substituted for its placeholders), in
 * whatever order the language puts them. Markers are control characters such as U+0001: Chrome's
 * `i18n.getMessage` drops U+0000 (and private-use characters) from substitutions.
 */
function inSentence(text: string, parts: Record<string, ReactNode>): ReactNode[] {
  const out: ReactNode[] = [];
  let words = '';
  for (const char of text) {
    if (!Object.hasOwn(parts, char)) {
      words += char;
      continue;
    }
    if (words) out.push(words);
    words = '';
    out.push(parts[char]);
  }
  if (words) out.push(words);
  return out;
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
      setMessage({ ok: true, text: t('rulesSaved') });
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
        <legend>{t('rulesTiers', currency)}</legend>
        <label>
          {t('rulesAutoDefault')}{' '}
          <input
            data-testid="auto-limit"
            value={draft.auto}
            onChange={(e) => update({ auto: e.target.value })}
          />
        </label>
        <label>
          {t('rulesAutoDayCap')}{' '}
          <input
            data-testid="auto-day-cap"
            value={draft.autoDay}
            onChange={(e) => update({ autoDay: e.target.value })}
          />
        </label>
        <label>
          {t('rulesConfirmUpTo')}{' '}
          <input
            data-testid="confirm-limit"
            value={draft.confirm}
            onChange={(e) => update({ confirm: e.target.value })}
          />
        </label>
        <p className="muted small">{t('rulesTiersHint')}</p>
      </fieldset>
      <fieldset>
        <legend>{t('rulesBudgets')}</legend>
        {draft.budgets.map((b, i) => {
          const set = (patch: Partial<(typeof draft.budgets)[number]>) =>
            update({ budgets: draft.budgets.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
          return (
            <div className="budget-row" key={b.id} data-testid={`budget-${b.id}`}>
              <label>
                {t('rulesBudgetName')}{' '}
                <input value={b.label} onChange={(e) => set({ label: e.target.value })} />
              </label>
              <label>
                {t('rulesBudgetLimit')}{' '}
                <input
                  data-testid="budget-limit"
                  value={b.limit}
                  onChange={(e) => set({ limit: e.target.value })}
                />
              </label>
              <label>
                {t('rulesBudgetPer')}{' '}
                <select
                  value={b.period}
                  onChange={(e) => set({ period: e.target.value as Budget['period'] })}
                >
                  <option value="day">{t('periodDay')}</option>
                  <option value="week">{t('periodWeek')}</option>
                  <option value="month">{t('periodMonth')}</option>
                </select>
              </label>
              <label>
                {t('rulesBudgetSite')}{' '}
                <input
                  placeholder="https://app.example"
                  value={b.origin}
                  onChange={(e) => set({ origin: e.target.value })}
                />
              </label>
              <label>
                {t('rulesBudgetMilestones')}{' '}
                <input value={b.milestones} onChange={(e) => set({ milestones: e.target.value })} />
              </label>
              <button
                type="button"
                onClick={() => update({ budgets: draft.budgets.filter((_, j) => j !== i) })}
              >
                {t('rulesRemove')}
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
                  label: t('rulesNewBudget'),
                  period: 'month',
                  origin: '',
                  limit: '10.00',
                  milestones: '50, 80, 100',
                },
              ],
            })
          }
        >
          {t('rulesAddBudget')}
        </button>
      </fieldset>
      <fieldset>
        <legend>{t('rulesSites')}</legend>
        {draft.sites.map((s, i) => {
          const set = (patch: Partial<(typeof draft.sites)[number]>) =>
            update({ sites: draft.sites.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
          return (
            <div className="budget-row" key={s.key}>
              <label>
                {t('rulesSite')} <input value={s.site} onChange={(e) => set({ site: e.target.value })} />
              </label>
              <label>
                {t('rulesSiteRule')}{' '}
                <select value={s.mode} onChange={(e) => set({ mode: e.target.value as Site['mode'] })}>
                  <option value="ask">{t('rulesSiteAsk')}</option>
                  <option value="trusted">{t('rulesSiteTrusted')}</option>
                  <option value="block">{t('rulesSiteBlock')}</option>
                </select>
              </label>
              {s.mode === 'trusted' && (
                <label>
                  {t('rulesAutoUpTo')}{' '}
                  <input value={s.autoLimit} onChange={(e) => set({ autoLimit: e.target.value })} />
                </label>
              )}
              {s.mode === 'trusted' && (
                <label>
                  {t('rulesAutoPerDay')}{' '}
                  <input value={s.dayLimit} onChange={(e) => set({ dayLimit: e.target.value })} />
                </label>
              )}
              <button type="button" onClick={() => update({ sites: draft.sites.filter((_, j) => j !== i) })}>
                {t('rulesRemove')}
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
                { key: `new-${Date.now()}`, site: '', mode: 'ask', autoLimit: '', dayLimit: '' },
              ],
            })
          }
        >
          {t('rulesAddSite')}
        </button>
        <p>
          {/* biome-ignore lint/a11y/noLabelWithoutControl: both inputs are in the label, placed by inSentence */}
          <label>
            {inSentence(t('rulesRunaway', '\u0001', '\u0002'), {
              '\u0001': (
                <input
                  key="max-auto"
                  className="narrow"
                  value={draft.maxAuto}
                  onChange={(e) => update({ maxAuto: e.target.value })}
                />
              ),
              '\u0002': (
                <input
                  key="minutes"
                  className="narrow"
                  value={draft.minutes}
                  onChange={(e) => update({ minutes: e.target.value })}
                />
              ),
            })}
          </label>
        </p>
      </fieldset>
      <button type="submit" className="primary" data-testid="save-rules">
        {t('rulesSave')}
      </button>
      {message && (
        <p role="status" className={message.ok ? undefined : 'error'} data-testid="rules-message">
          {message.text}
        </p>
      )}
    </form>
  );
}
