/** What the history's charts count: money spent per day and per site, exact in minor units. */
import type { PaymentView } from '../../messages/map';

/** The states of a charge that cost money. */
const SPENT = new Set(['paid', 'accepted', 'proof_failed']);

/**
 * What a payment cost in `currency`, less what came back; undefined when it cost nothing. A charge
 * recorded in another currency (before the user changed theirs) is left out: its minor units are not
 * this currency's.
 */
export function spentMinor(p: PaymentView, currency: string): bigint | undefined {
  if (!SPENT.has(p.state) || p.amountMinor === undefined) return undefined;
  if (p.currency !== undefined && p.currency !== currency) return undefined;
  const net = BigInt(p.amountMinor) - BigInt(p.refundedMinor ?? '0');
  return net > 0n ? net : 0n;
}

export interface DaySpend {
  /** Local midnight of the day. */
  date: Date;
  minor: bigint;
}

const dayKey = (d: Date) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;

/** Spend on each of the last `days` local days, oldest first, today last; days without spend are 0. */
export function spendPerDay(
  payments: PaymentView[],
  currency: string,
  now: Date = new Date(),
  days = 30,
): DaySpend[] {
  // Built from the calendar date, not by subtracting 24 h: a DST change would skip or repeat a day.
  const out = Array.from({ length: days }, (_, i) => ({
    date: new Date(now.getFullYear(), now.getMonth(), now.getDate() - (days - 1 - i)),
    minor: 0n,
  }));
  const index = new Map(out.map((d, i) => [dayKey(d.date), i]));
  for (const p of payments) {
    const minor = spentMinor(p, currency);
    const day = out[index.get(dayKey(new Date(p.createdAt))) ?? -1];
    if (minor !== undefined && day) day.minor += minor;
  }
  return out;
}

export interface SiteSpend {
  origin: string;
  minor: bigint;
}

/**
 * Spend per site, largest first, at most `rows` of them; the sites past those are only counted and
 * added up (as one bar they would dwarf the sites shown).
 */
export function spendPerSite(
  payments: PaymentView[],
  currency: string,
  rows = 8,
): { rows: SiteSpend[]; rest?: { sites: number; minor: bigint } } {
  const totals = new Map<string, bigint>();
  for (const p of payments) {
    const minor = spentMinor(p, currency);
    if (minor !== undefined) totals.set(p.origin, (totals.get(p.origin) ?? 0n) + minor);
  }
  const sorted = [...totals]
    .filter(([, minor]) => minor > 0n)
    .sort(([a, x], [b, y]) => (y > x ? 1 : y < x ? -1 : a.localeCompare(b)))
    .map(([origin, minor]) => ({ origin, minor }));
  const rest = sorted.slice(rows);
  return {
    rows: sorted.slice(0, rows),
    ...(rest.length > 0
      ? { rest: { sites: rest.length, minor: rest.reduce((sum, r) => sum + r.minor, 0n) } }
      : {}),
  };
}

/**
 * Gridlines for an axis from 0 to at least `max` (minor units): 0 and up to `steps` round steps of
 * 1, 2 or 5 × 10ⁿ, never less than one minor unit. Nothing spent still gets an axis (0 to 100).
 */
export function axisTicks(max: number, steps = 4): number[] {
  const top = max > 0 ? max : 100;
  const raw = top / steps;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow);
  const ticks = [0];
  while ((ticks.at(-1) ?? 0) < top) ticks.push(ticks.length * step);
  return ticks;
}

/** Which days get a label on the x axis: every `every`th, counted back from today so today has one. */
export function labelledDays(days: number, every = 5): number[] {
  return Array.from({ length: days }, (_, i) => i).filter((i) => (days - 1 - i) % every === 0);
}
