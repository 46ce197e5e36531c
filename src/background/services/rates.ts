/**
 * BTC exchange rates from a pluggable source, cached in the database: fresher than 10 minutes is
 * used as is; older is refreshed; when the refresh fails, a rate up to 6 hours old is still used,
 * and an older one gets a 2 % safety margin (charges count slightly more, never less) and a warning.
 * With no rate from a source at all, only a manual rate the user set, until its expiry, is used.
 */
import { parseDecimalRate } from '../../core/money/rates';
import type { PayboundDb, RateSnapshot } from '../../db/schema';
import { getSetting, type SettingValue, setSetting } from '../../db/settings';

const FRESH_MS = 10 * 60 * 1000;
const STALE_MS = 6 * 60 * 60 * 1000;
const FETCH_TIMEOUT_MS = 5000;

export interface QuotedRate {
  rate: RateSnapshot;
  ageMs: number;
  /** True when the rate is older than 6 h and carries the safety margin. */
  stale: boolean;
}

type ManualRate = NonNullable<SettingValue<'manualRate'>>;

interface RateResponse {
  rates?: Record<string, unknown>;
  source?: unknown;
  asOf?: unknown;
}

export class RateService {
  constructor(
    private readonly db: PayboundDb,
    private readonly now: () => number = Date.now,
  ) {}

  private async fetchRate(currency: string): Promise<RateSnapshot | undefined> {
    const base = await getSetting(this.db, 'rateSourceUrl');
    if (!base) return undefined;
    try {
      const res = await fetch(`${base.replace(/\/+$/, '')}/v1/rates?base=BTC`, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (!res.ok) return undefined;
      const body = (await res.json()) as RateResponse;
      const decimal = body.rates?.[currency];
      if (typeof decimal !== 'string') return undefined;
      const asOf = typeof body.asOf === 'string' ? Date.parse(body.asOf) : Number.NaN;
      return {
        currency,
        minorPerBtc: parseDecimalRate(decimal, currency),
        source: typeof body.source === 'string' ? body.source.slice(0, 80) : new URL(base).host,
        // A source's clock ahead of ours would make the rate look fresher than it is.
        asOf: Number.isFinite(asOf) ? Math.min(asOf, this.now()) : this.now(),
      };
    } catch {
      return undefined;
    }
  }

  /** The user's own rate (major units per BTC, e.g. "97000.00"), used only while no source answers. */
  async setManual(decimal: string, currency: string, validForMs: number): Promise<void> {
    const manual: ManualRate = {
      currency,
      minorPerBtc: parseDecimalRate(decimal, currency),
      setAt: this.now(),
      expiresAt: this.now() + validForMs,
    };
    await setSetting(this.db, 'manualRate', manual);
  }

  private async manual(currency: string): Promise<QuotedRate | undefined> {
    const m = await getSetting(this.db, 'manualRate');
    if (!m || m.currency !== currency || m.expiresAt <= this.now()) return undefined;
    return {
      rate: { currency, minorPerBtc: m.minorPerBtc, source: 'manual', asOf: m.setAt },
      ageMs: this.now() - m.setAt,
      stale: false,
    };
  }

  async current(currency: string): Promise<QuotedRate | undefined> {
    const key = `rate:${currency}` as const;
    let rate = await getSetting(this.db, key);
    if (!rate || this.now() - rate.asOf > FRESH_MS) {
      const fetched = await this.fetchRate(currency);
      if (fetched) {
        rate = fetched;
        await setSetting(this.db, key, rate);
      }
    }
    if (!rate) return this.manual(currency);
    const ageMs = this.now() - rate.asOf;
    if (ageMs <= STALE_MS) return { rate, ageMs, stale: false };
    const margined = { ...rate, minorPerBtc: (rate.minorPerBtc * 102n + 99n) / 100n };
    return { rate: margined, ageMs, stale: true };
  }
}
