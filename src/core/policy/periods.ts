/**
 * Budget periods, calendar-aligned in the user's time zone. A period is named by the local calendar
 * date it starts on, so DST shifts (23- or 25-hour days) and time-zone changes never split or merge
 * periods: only the local date matters, never a count of milliseconds.
 */

export type Period = 'day' | 'week' | 'month';

interface LocalDate {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localDate(nowMs: number, timeZone: string): LocalDate {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(nowMs).map((p) => [p.type, p.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day) };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const iso = (d: LocalDate) => `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;

/** Calendar arithmetic on dates alone (UTC is used only as a proleptic calendar, not a zone). */
function addDays(d: LocalDate, days: number): LocalDate {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

function weekdayMondayZero(d: LocalDate): number {
  return (new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay() + 6) % 7;
}

/** The key of the period containing `nowMs`: 'day:2026-11-25', 'week:2026-11-23' (its Monday), 'month:2026-11'. */
export function periodKey(period: Period, nowMs: number, timeZone: string): string {
  const d = localDate(nowMs, timeZone);
  switch (period) {
    case 'day':
      return `day:${iso(d)}`;
    case 'week':
      return `week:${iso(addDays(d, -weekdayMondayZero(d)))}`;
    case 'month':
      return `month:${pad(d.year, 4)}-${pad(d.month)}`;
  }
}

/** The local date on which the next period starts (for "resets on …"). */
export function nextPeriodStart(period: Period, nowMs: number, timeZone: string): string {
  const d = localDate(nowMs, timeZone);
  switch (period) {
    case 'day':
      return iso(addDays(d, 1));
    case 'week':
      return iso(addDays(d, 7 - weekdayMondayZero(d)));
    case 'month':
      return iso(
        d.month === 12
          ? { year: d.year + 1, month: 1, day: 1 }
          : { year: d.year, month: d.month + 1, day: 1 },
      );
  }
}

const clocks = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant, in ms, from its wall clock (to the second). */
function offsetMs(t: number, timeZone: string): number {
  let f = clocks.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    clocks.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, Number(x.value)]));
  const wall = Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day, p.hour, p.minute, p.second);
  return wall - (t - (((t % 1000) + 1000) % 1000));
}

/**
 * The first instant (unix ms) of a local date in a time zone: local midnight, or the first moment
 * after it where a DST change skips midnight. What the zone's calendar says is checked, so a
 * guess from the offset is only ever a shortcut.
 */
function localDateStartMs(d: LocalDate, timeZone: string): number {
  const target = iso(d);
  const begun = (t: number) => iso(localDate(t, timeZone)) >= target;
  const utcMidnight = Date.UTC(d.year, d.month - 1, d.day);
  // Local midnight from the offset there, then from the offset at that guess (a change may lie between).
  const guess = utcMidnight - offsetMs(utcMidnight - offsetMs(utcMidnight, timeZone), timeZone);
  if (begun(guess) && !begun(guess - 1)) return guess;
  // Otherwise bisect. Offsets lie within UTC-12..UTC+14: 15 h before UTC midnight it is still the
  // day before everywhere, 13 h after it the day has begun everywhere.
  let before = utcMidnight - 15 * 3_600_000;
  let after = utcMidnight + 13 * 3_600_000;
  while (after - before > 1) {
    const mid = Math.floor((before + after) / 2);
    if (begun(mid)) after = mid;
    else before = mid;
  }
  return after;
}

function parseIso(date: string): LocalDate {
  const [year = 0, month = 1, day = 1] = date.split('-').map(Number);
  return { year, month, day };
}

/**
 * The period containing `nowMs` as instants: `startMs` is its first millisecond, `endMs` the first
 * of the next period. A month in a zone that changes to or from DST is an hour shorter or longer.
 */
export function periodBounds(
  period: Period,
  nowMs: number,
  timeZone: string,
): { startMs: number; endMs: number } {
  const startDate = periodKey(period, nowMs, timeZone).slice(period.length + 1);
  const start = period === 'month' ? `${startDate}-01` : startDate;
  return {
    startMs: localDateStartMs(parseIso(start), timeZone),
    endMs: localDateStartMs(parseIso(nextPeriodStart(period, nowMs, timeZone)), timeZone),
  };
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}
