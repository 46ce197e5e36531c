// Paying approved quotes with the linked card, and settling them afterwards.
//
// A payment is a PaymentIntent for the approved maximum with capture_method=manual, confirmed off
// session against the device's saved card, sent to the app's connected account
// (transfer_data[destination]); the challenge id is the Idempotency-Key, and is unique in the
// database, so one challenge never becomes two charges. Settlement: capture (≤ authorized), cancel
// (release the hold), refund (reverse_transfer pulls the money back from the app).
//
// Who may settle (neither side alone can undo what the other relied on): once the app accepted the
// receipt (POST /api/merchant/accept, with its route's review window), the payer may cancel or
// capture part only inside that window; after it, and on routes without one, the app settles. The
// app may not capture during the window, nor more than it reported after it. A captured payment is
// refunded by the app, or by the payer inside the window or the app's refund policy only.
import type Stripe from 'stripe';
import type { CardDb, Row } from './db';
import { wellFormed } from './http';
import type { ReceiptSigner } from './receipt';
import { mapStripeError, type ServiceError } from './stripe';

export const CHALLENGE_ID = /^[A-Za-z0-9_-]{8,200}$/;
const ACCOUNT_ID = /^acct_[A-Za-z0-9]{1,64}$/;
const CURRENCY = /^[a-z]{3}$/;
const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{8,100}$/;

export interface Device {
  id: string;
  customerId: string;
  paymentMethodId: string;
}

export interface PaymentView {
  id: string;
  challengeId: string;
  status: string;
  amount: number;
  amountCaptured: number;
  amountRefunded: number;
  /** The app's actual amount, reported and not captured yet (routes with a review window). */
  amountReported: number | null;
  /** A report above the authorized amount that the service refused: the app tried to overcharge. */
  overReported: number | null;
  /** The review window the app accepted the receipt with (seconds; 0: none), null until accepted. */
  reviewWindowSeconds: number | null;
  /** When the app accepted the receipt, and when the review window ends (null without one). */
  acceptedAt: string | null;
  reviewEndsAt: string | null;
  currency: string;
  destination: string;
  description: string;
  createdAt: string;
  declineCode?: string;
  error?: { code: string; message: string };
}

export interface DeviceLimits {
  perChargeMinor: number | null;
  perDayMinor: number | null;
  /** A raise (or removal) that applies at `from`. */
  pending: { perChargeMinor: number | null; perDayMinor: number | null; from: string } | null;
}

export type Outcome<T> = { ok: true; status: number; body: T } | { ok: false; error: ServiceError };

export interface PaymentsOptions {
  db: CardDb;
  stripe: Stripe;
  signer: ReceiptSigner;
  issuer: string;
  receiptTtlSeconds: number;
  maxAmount: number;
  currencies: readonly string[];
  /** How long after its window (or acceptance) a hold nobody settled may be cancelled by the payer. */
  settleGraceSeconds: number;
  /** How long a raised (or removed) device limit waits before it applies; lowering is immediate. */
  limitRaiseDelaySeconds: number;
  now: () => number;
}

/** Longest review window the service accepts (Stripe holds an authorization for about 7 days). */
export const MAX_REVIEW_WINDOW_SECONDS = 5 * 24 * 3600;

/** A payer settlement mark older than this was left by an instance that stopped mid-request. */
const SETTLING_STALE_SECONDS = 120;

type RefundOutcome = Outcome<{
  refund: { id: string; amount: number; status: string | null };
  payment: PaymentView;
}>;

const payerSettling = () => refuse(409, 'payer_settling', 'the payer is settling this payment right now');

function refuse(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
  return { ok: false as const, error: { status, code, message, details } };
}

/** A positive safe integer, given as a JSON number or a decimal string (minor units). */
export function readAmount(value: unknown): number | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && /^[1-9]\d{0,14}$/.test(value)) return Number(value);
  return null;
}

const iso = (s: number) => new Date(s * 1000).toISOString();

/** A review window in seconds: 0 (none) … MAX_REVIEW_WINDOW_SECONDS; null when the input is not one. */
export function readWindow(value: unknown): number | null {
  if (value === null) return 0;
  return typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= 0 &&
    value <= MAX_REVIEW_WINDOW_SECONDS
    ? value
    : null;
}

export function view(row: Row): PaymentView {
  const out: PaymentView = {
    id: String(row.payment_intent_id),
    challengeId: String(row.challenge_id),
    status: String(row.status),
    amount: Number(row.amount_authorized),
    amountCaptured: Number(row.amount_captured),
    amountRefunded: Number(row.amount_refunded),
    amountReported: row.amount_reported === null ? null : Number(row.amount_reported),
    overReported: row.over_reported === null ? null : Number(row.over_reported),
    reviewWindowSeconds: row.accepted_at === null ? null : Number(row.app_window),
    acceptedAt: row.accepted_at === null ? null : iso(Number(row.accepted_at)),
    reviewEndsAt:
      row.accepted_at === null || !Number(row.app_window)
        ? null
        : iso(Number(row.accepted_at) + Number(row.app_window)),
    currency: String(row.currency),
    destination: String(row.destination),
    description: String(row.description),
    createdAt: new Date(Number(row.created_at) * 1000).toISOString(),
  };
  if (row.decline_code) out.declineCode = String(row.decline_code);
  if (row.error_code) out.error = { code: String(row.error_code), message: String(row.error_message ?? '') };
  return out;
}

export class Payments {
  readonly #o: PaymentsOptions;

  constructor(options: PaymentsOptions) {
    this.#o = options;
  }

  #nowS(): number {
    return Math.floor(this.#o.now() / 1000);
  }

  #receipt(row: Row): string {
    const iat = this.#nowS();
    return this.#o.signer.sign({
      v: 1,
      iss: this.#o.issuer,
      challengeId: String(row.challenge_id),
      paymentIntent: String(row.payment_intent_id),
      amount: String(row.amount_authorized),
      currency: String(row.currency),
      destination: String(row.destination),
      iat,
      exp: iat + this.#o.receiptTtlSeconds,
    });
  }

  #declined(row: Row): ServiceError {
    const details: Record<string, unknown> = { payment_intent: String(row.payment_intent_id) };
    if (row.decline_code) details.decline_code = String(row.decline_code);
    return {
      status: 402,
      code: String(row.error_code ?? 'card_declined'),
      message: String(row.error_message ?? 'The card was declined.'),
      details,
    };
  }

  /** POST /api/payments */
  async pay(
    device: Device,
    body: Record<string, unknown>,
  ): Promise<Outcome<{ receipt: string; payment: PaymentView }>> {
    const { challengeId, currency, destination } = body;
    const description = body.description ?? '';
    const amount = readAmount(body.amount);
    // The review window the payer was offered (the challenge's terms); the app must accept the
    // receipt with the same one. Absent: the app's word decides.
    const payerWindow = body.reviewWindowSeconds === undefined ? null : readWindow(body.reviewWindowSeconds);
    if (body.reviewWindowSeconds !== undefined && payerWindow === null) {
      return refuse(
        400,
        'invalid_review_window',
        `reviewWindowSeconds must be null or 0–${MAX_REVIEW_WINDOW_SECONDS} whole seconds`,
      );
    }
    if (typeof challengeId !== 'string' || !CHALLENGE_ID.test(challengeId)) {
      return refuse(400, 'invalid_challenge_id', 'challengeId must be 8–200 characters of [A-Za-z0-9_-]');
    }
    if (amount === null)
      return refuse(400, 'invalid_amount', 'amount must be a positive integer of minor units');
    if (amount > this.#o.maxAmount) {
      return refuse(
        422,
        'amount_above_limit',
        `amount exceeds this service's limit of ${this.#o.maxAmount} minor units`,
      );
    }
    if (typeof currency !== 'string' || !CURRENCY.test(currency) || !this.#o.currencies.includes(currency)) {
      return refuse(
        400,
        'invalid_currency',
        `currency must be one of ${this.#o.currencies.join(', ')} (lowercase)`,
      );
    }
    if (typeof destination !== 'string' || !ACCOUNT_ID.test(destination)) {
      return refuse(400, 'invalid_destination', 'destination must be a connected account id (acct_…)');
    }
    // A lone surrogate cannot be form-encoded: the Stripe SDK would throw on it.
    if (typeof description !== 'string' || description.length > 500 || !wellFormed(description)) {
      return refuse(
        400,
        'invalid_description',
        'description must be well-formed text of at most 500 characters',
      );
    }
    if (!(await this.#o.db.get('SELECT account_id FROM merchants WHERE account_id = ?', [destination]))) {
      return refuse(
        422,
        'unknown_destination',
        'destination is not an app registered with this card service',
      );
    }
    // One authorization per challenge at a time, whichever instances the requests reach: the second
    // waits, then finds the first one's payment and answers with it.
    return this.#o.db.exclusive(`challenge ${challengeId}`, () =>
      this.#authorize(device, challengeId, amount, currency, destination, description, payerWindow),
    );
  }

  async #authorize(
    device: Device,
    challengeId: string,
    amount: number,
    currency: string,
    destination: string,
    description: string,
    payerWindow: number | null,
  ): Promise<Outcome<{ receipt: string; payment: PaymentView }>> {
    const existing = await this.#o.db.get('SELECT * FROM payments WHERE challenge_id = ?', [challengeId]);
    if (existing) {
      if (
        payerWindow !== null &&
        existing.payer_window !== null &&
        Number(existing.payer_window) !== payerWindow
      ) {
        return refuse(409, 'challenge_conflict', 'This challenge was already paid under other review terms.');
      }
      return this.#replay(device, existing, amount, currency, destination);
    }
    const limit = await this.#deviceLimit(device, amount, currency);
    if (limit) return limit;

    let pi: Stripe.PaymentIntent;
    try {
      pi = await this.#o.stripe.paymentIntents.create(
        {
          amount,
          currency,
          customer: device.customerId,
          payment_method: device.paymentMethodId,
          allowed_payment_method_types: ['card'],
          off_session: true,
          confirm: true,
          capture_method: 'manual',
          transfer_data: { destination },
          description: description || undefined,
          metadata: { paybound_challenge_id: challengeId, paybound_device: device.id },
        },
        // The challenge id is the idempotency key: a retried or replayed request gets this same
        // PaymentIntent back from Stripe, never a second authorization.
        { idempotencyKey: challengeId },
      );
    } catch (err) {
      const mapped = mapStripeError(err);
      const card = err as Partial<Stripe.errors.StripeCardError>;
      const failedPi = mapped.status === 402 ? card.payment_intent : undefined;
      if (failedPi?.id) {
        await this.#insert(
          device,
          challengeId,
          failedPi.id,
          amount,
          currency,
          destination,
          description,
          'declined',
          {
            code: mapped.code,
            message: mapped.message,
            decline: card.decline_code ?? null,
          },
        );
      }
      return { ok: false, error: mapped };
    }
    if (pi.status !== 'requires_capture') {
      // e.g. requires_action: the bank wants the cardholder present, which an off-session payment
      // cannot offer. Release it and say so.
      await this.#o.stripe.paymentIntents
        .cancel(pi.id, { cancellation_reason: 'abandoned' })
        .catch(() => undefined);
      await this.#insert(device, challengeId, pi.id, amount, currency, destination, description, 'declined', {
        code: 'authentication_required',
        message: 'The card issuer requires the cardholder to authenticate this payment.',
        decline: 'authentication_required',
      });
      return refuse(
        402,
        'authentication_required',
        'The card issuer requires the cardholder to authenticate this payment.',
        {
          decline_code: 'authentication_required',
          payment_intent: pi.id,
        },
      );
    }
    let row = await this.#insert(
      device,
      challengeId,
      pi.id,
      amount,
      currency,
      destination,
      description,
      'requires_capture',
    );
    if (payerWindow !== null && row.payer_window === null) {
      await this.#o.db.run('UPDATE payments SET payer_window = ? WHERE payment_intent_id = ?', [
        payerWindow,
        pi.id,
      ]);
      row = (await this.find(pi.id))!;
    }
    return { ok: true, status: 201, body: { receipt: this.#receipt(row), payment: view(row) } };
  }

  #replay(
    device: Device,
    row: Row,
    amount: number,
    currency: string,
    destination: string,
  ): Outcome<{ receipt: string; payment: PaymentView }> {
    if (row.device_id !== device.id) {
      return refuse(409, 'challenge_conflict', 'This challenge was already paid by another wallet.');
    }
    if (
      Number(row.amount_authorized) !== amount ||
      row.currency !== currency ||
      row.destination !== destination
    ) {
      return refuse(409, 'challenge_conflict', 'This challenge was already paid with different parameters.');
    }
    if (row.status === 'declined') return { ok: false, error: this.#declined(row) };
    return { ok: true, status: 200, body: { receipt: this.#receipt(row), payment: view(row) } };
  }

  async #insert(
    device: Device,
    challengeId: string,
    piId: string,
    amount: number,
    currency: string,
    destination: string,
    description: string,
    status: string,
    error?: { code: string; message: string; decline: string | null },
  ): Promise<Row> {
    const now = this.#nowS();
    // A concurrent replay may have stored the same PaymentIntent first (Stripe gave both the same one).
    await this.#o.db.run(
      `INSERT INTO payments (payment_intent_id, challenge_id, device_id, destination, currency, amount_authorized,
         description, status, decline_code, error_code, error_message, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [
        piId,
        challengeId,
        device.id,
        destination,
        currency,
        amount,
        description,
        status,
        error?.decline ?? null,
        error?.code ?? null,
        error?.message ?? null,
        now,
        now,
      ],
    );
    return (await this.#o.db.get('SELECT * FROM payments WHERE payment_intent_id = ?', [piId]))!;
  }

  /** The device's limits in force now (a pending raise that is due is applied first). */
  async limits(deviceId: string): Promise<DeviceLimits> {
    const row = await this.#o.db.get(
      'SELECT limit_per_charge, limit_per_day, limits_raise FROM devices WHERE id = ?',
      [deviceId],
    );
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    let perCharge = num(row?.limit_per_charge);
    let perDay = num(row?.limit_per_day);
    let pending: DeviceLimits['pending'] = null;
    if (typeof row?.limits_raise === 'string') {
      const raise = JSON.parse(row.limits_raise) as {
        perCharge: number | null;
        perDay: number | null;
        from: number;
      };
      if (raise.from <= this.#nowS()) {
        perCharge = raise.perCharge;
        perDay = raise.perDay;
        await this.#o.db.run(
          'UPDATE devices SET limit_per_charge = ?, limit_per_day = ?, limits_raise = NULL WHERE id = ?',
          [perCharge, perDay, deviceId],
        );
      } else {
        pending = { perChargeMinor: raise.perCharge, perDayMinor: raise.perDay, from: iso(raise.from) };
      }
    }
    return { perChargeMinor: perCharge, perDayMinor: perDay, pending };
  }

  /**
   * POST /api/device/limits {perChargeMinor, perDayMinor} (null: no limit). The limits the user set
   * in the extension, kept here too so a leaked token cannot spend past them. Lowering applies at
   * once; raising or removing one applies after limitRaiseDelaySeconds, so a thief cannot simply
   * lift them.
   */
  async setLimits(
    deviceId: string,
    body: Record<string, unknown>,
  ): Promise<Outcome<{ limits: DeviceLimits }>> {
    const read = (v: unknown) => (v === null ? null : readAmount(v));
    const perCharge = read(body.perChargeMinor);
    const perDay = read(body.perDayMinor);
    if (
      (body.perChargeMinor !== null && perCharge === null) ||
      (body.perDayMinor !== null && perDay === null)
    ) {
      return refuse(
        400,
        'invalid_limits',
        'perChargeMinor and perDayMinor must each be a positive integer of minor units, or null',
      );
    }
    const current = await this.limits(deviceId);
    const raises = (next: number | null, now: number | null) => now !== null && (next === null || next > now);
    if (raises(perCharge, current.perChargeMinor) || raises(perDay, current.perDayMinor)) {
      const from = this.#nowS() + this.#o.limitRaiseDelaySeconds;
      // What is lowered applies now, the rest with the raise.
      const lowerCharge = raises(perCharge, current.perChargeMinor) ? current.perChargeMinor : perCharge;
      const lowerDay = raises(perDay, current.perDayMinor) ? current.perDayMinor : perDay;
      await this.#o.db.run(
        'UPDATE devices SET limit_per_charge = ?, limit_per_day = ?, limits_raise = ? WHERE id = ?',
        [lowerCharge, lowerDay, JSON.stringify({ perCharge, perDay, from }), deviceId],
      );
    } else {
      await this.#o.db.run(
        'UPDATE devices SET limit_per_charge = ?, limit_per_day = ?, limits_raise = NULL WHERE id = ?',
        [perCharge, perDay, deviceId],
      );
    }
    return { ok: true, status: 200, body: { limits: await this.limits(deviceId) } };
  }

  async #deviceLimit(device: Device, amount: number, currency: string) {
    const { perChargeMinor, perDayMinor } = await this.limits(device.id);
    if (perChargeMinor !== null && amount > perChargeMinor) {
      return refuse(422, 'above_device_limit', `this device may pay at most ${perChargeMinor} per charge`, {
        perChargeMinor,
      });
    }
    if (perDayMinor !== null) {
      // What the last 24 hours hold or took: held authorizations count in full, captures net of refunds.
      const spent = Number(
        (
          await this.#o.db.get(
            `SELECT COALESCE(SUM(CASE status WHEN 'requires_capture' THEN amount_authorized
                                            WHEN 'succeeded' THEN amount_captured - amount_refunded
                                            ELSE 0 END), 0) AS spent
           FROM payments WHERE device_id = ? AND currency = ? AND created_at > ?`,
            [device.id, currency, this.#nowS() - 86_400],
          )
        )?.spent ?? 0,
      );
      if (spent + amount > perDayMinor) {
        return refuse(
          422,
          'above_device_limit',
          `this device may pay at most ${perDayMinor} per 24 hours (${spent} used)`,
          { perDayMinor, spent },
        );
      }
    }
    return null;
  }

  find(piId: string): Promise<Row | undefined> {
    return this.#o.db.get('SELECT * FROM payments WHERE payment_intent_id = ?', [piId]);
  }

  findByChallenge(challengeId: string): Promise<Row | undefined> {
    return this.#o.db.get('SELECT * FROM payments WHERE challenge_id = ?', [challengeId]);
  }

  async list(deviceId: string): Promise<PaymentView[]> {
    const rows = await this.#o.db.all(
      'SELECT * FROM payments WHERE device_id = ? ORDER BY created_at DESC, seq DESC LIMIT 500',
      [deviceId],
    );
    return rows.map(view);
  }

  /**
   * The app's actual amount, recorded without capturing (the payer captures it when it accepts).
   * The same amount again changes nothing; another one replaces it while the payment is uncaptured.
   * Above the authorized amount it is refused, and the attempt is kept on the payment.
   */
  async report(row: Row, amountInput: unknown): Promise<Outcome<{ payment: PaymentView }>> {
    const amount = readAmount(amountInput);
    if (amount === null)
      return refuse(400, 'invalid_amount', 'amount must be a positive integer of minor units');
    const piId = String(row.payment_intent_id);
    const authorized = Number(row.amount_authorized);
    if (amount > authorized) {
      await this.#o.db.run(
        'UPDATE payments SET over_reported = ?, updated_at = ? WHERE payment_intent_id = ?',
        [amount, this.#nowS(), piId],
      );
      return refuse(
        422,
        'amount_exceeds_authorized',
        `cannot report ${amount}: only ${authorized} was authorized`,
        { authorized },
      );
    }
    if (row.status !== 'requires_capture') {
      if (row.amount_reported !== null && Number(row.amount_reported) === amount) {
        return { ok: true, status: 200, body: { payment: view(row) } };
      }
      const state = this.#settleable(row, 'report an amount for');
      if (state) return state;
    }
    if (row.amount_reported !== null && amount > Number(row.amount_reported)) {
      // The payer reviews what was reported: a report may come down, never go up behind its back.
      return refuse(
        409,
        'report_final',
        `${Number(row.amount_reported)} was reported already; a report can only be lowered`,
        { reported: Number(row.amount_reported) },
      );
    }
    if (row.amount_reported === null || Number(row.amount_reported) !== amount) {
      await this.#o.db.run(
        `UPDATE payments SET amount_reported = ?, updated_at = ?
         WHERE payment_intent_id = ? AND status = 'requires_capture'`,
        [amount, this.#nowS(), piId],
      );
    }
    return { ok: true, status: 200, body: { payment: view((await this.find(piId))!) } };
  }

  /**
   * The app accepts the receipt it was shown, with its route's review window (null or 0: none):
   * the payment must still be held, and the window must be the one the payer authorized under (when
   * the payer said). The same acceptance again answers the same; other terms are refused.
   */
  async accept(row: Row, windowInput: unknown, again = true): Promise<Outcome<{ payment: PaymentView }>> {
    const window = readWindow(windowInput);
    if (window === null) {
      return refuse(
        400,
        'invalid_review_window',
        `reviewWindowSeconds must be null or 0–${MAX_REVIEW_WINDOW_SECONDS} whole seconds`,
      );
    }
    const piId = String(row.payment_intent_id);
    if (row.accepted_at !== null) {
      if (Number(row.app_window) !== window) {
        return refuse(409, 'terms_mismatch', 'this receipt was accepted with another review window');
      }
      const state = this.#settleable(row, 'accept');
      return state ?? { ok: true, status: 200, body: { payment: view(row) } };
    }
    const state = this.#settleable(row, 'accept');
    if (state) return state;
    if (this.#settling(row)) return payerSettling();
    if (row.payer_window !== null && Number(row.payer_window) !== window) {
      return refuse(409, 'terms_mismatch', 'the payer authorized under another review window', {
        payerWindow: Number(row.payer_window),
      });
    }
    // Conditional on the row as it is in the database now: a payer capture or cancel that another
    // instance started in the meantime wins, and this acceptance is refused.
    const now = this.#nowS();
    const changed = await this.#o.db.run(
      `UPDATE payments SET app_window = ?, accepted_at = ?, updated_at = ?
       WHERE payment_intent_id = ? AND accepted_at IS NULL AND status = 'requires_capture'
         AND (payer_settling_at IS NULL OR payer_settling_at < ?)`,
      [window, now, now, piId, now - SETTLING_STALE_SECONDS],
    );
    const fresh = (await this.find(piId))!;
    if (changed === 0) {
      if (this.#settling(fresh)) return payerSettling();
      // Accepted (or settled) by another request just now: answer as that one decided.
      if (again) return this.accept(fresh, windowInput, false);
    }
    return { ok: true, status: 200, body: { payment: view(fresh) } };
  }

  /** A payer capture or cancel is on its way to Stripe (marks of a crashed instance expire). */
  #settling(row: Row): boolean {
    return (
      row.payer_settling_at !== null && Number(row.payer_settling_at) >= this.#nowS() - SETTLING_STALE_SECONDS
    );
  }

  /** Marks (or clears) a payer settlement in flight, and reads the row as it is after the mark. */
  async #markSettling(piId: string, on: boolean): Promise<Row | undefined> {
    await this.#o.db.run('UPDATE payments SET payer_settling_at = ? WHERE payment_intent_id = ?', [
      on ? this.#nowS() : null,
      piId,
    ]);
    return on ? this.find(piId) : undefined;
  }

  /** Whether the payer may do `action` on its own now (null) or the refusal saying why not. */
  #payerMay(row: Row, action: 'capture' | 'cancel', amount?: number) {
    if (row.accepted_at === null) return null; // no app relies on this hold yet
    const now = this.#nowS();
    const window = Number(row.app_window);
    const end = Number(row.accepted_at) + window;
    if (window > 0 && now < end) return null; // inside the window: as agreed
    if (action === 'cancel') {
      // A hold the app never settled is not left hanging for days.
      if (row.status === 'requires_capture' && now >= end + this.#o.settleGraceSeconds) return null;
      return window > 0
        ? refuse(409, 'review_window_closed', 'the review window has ended: the reported amount is captured')
        : refuse(409, 'app_settles', 'this payment has no review window: the app settles it');
    }
    if (window === 0)
      return refuse(409, 'app_settles', 'this payment has no review window: the app settles it');
    const reported = row.amount_reported === null ? null : Number(row.amount_reported);
    if (reported !== null && amount !== undefined && amount < reported) {
      return refuse(
        409,
        'review_window_closed',
        `the review window has ended: the reported ${reported} is captured, not less`,
        { reported },
      );
    }
    return null;
  }

  /** Whether the app may capture `amount` now. */
  #appMay(row: Row, amount: number) {
    const window = row.accepted_at === null ? Number(row.payer_window ?? 0) : Number(row.app_window);
    if (window === 0) return null;
    const start = Number(row.accepted_at ?? row.created_at);
    if (this.#nowS() < start + window) {
      return refuse(
        409,
        'review_window_open',
        `the payer reviews this charge until ${iso(start + window)}: report the actual amount instead`,
        { reviewEndsAt: iso(start + window) },
      );
    }
    const reported = row.amount_reported === null ? null : Number(row.amount_reported);
    if (reported === null || amount > reported) {
      return refuse(
        422,
        'amount_exceeds_reported',
        `after a review window at most the reported amount (${reported ?? 'none'}) is captured`,
        { reported },
      );
    }
    return null;
  }

  /** Captures `amount` (default: the reported amount when there is one, else everything authorized); never more than authorized. */
  capture(
    row: Row,
    amountInput: unknown,
    by: 'payer' | 'app' = 'payer',
  ): Promise<Outcome<{ payment: PaymentView }>> {
    // Settling actions on one payment run one at a time across instances: a capture racing a
    // cancel finds the other's result, never a second answer from Stripe to reconcile.
    return this.#o.db.exclusive(`payment ${String(row.payment_intent_id)}`, () =>
      this.#settlingAs(by, row, (fresh) => this.#capture(fresh, amountInput, by)),
    );
  }

  /**
   * Runs a settlement on the row as it is now; for the payer, with the payment marked as being
   * settled first, so that an app's acceptance arriving meanwhile (at any instance) is refused.
   */
  async #settlingAs<T>(by: 'payer' | 'app', row: Row, work: (fresh: Row) => Promise<T>): Promise<T> {
    const piId = String(row.payment_intent_id);
    if (by === 'app') return work(await this.#fresh(row));
    const marked = (await this.#markSettling(piId, true)) ?? row;
    try {
      return await work(marked);
    } finally {
      await this.#markSettling(piId, false);
    }
  }

  async #capture(
    row: Row,
    amountInput: unknown,
    by: 'payer' | 'app',
  ): Promise<Outcome<{ payment: PaymentView }>> {
    const authorized = Number(row.amount_authorized);
    const reported = row.amount_reported === null ? null : Number(row.amount_reported);
    const amount = amountInput === undefined ? (reported ?? authorized) : readAmount(amountInput);
    if (amount === null)
      return refuse(400, 'invalid_amount', 'amount must be a positive integer of minor units');
    if (amount > authorized) {
      return refuse(
        422,
        'amount_exceeds_authorized',
        `cannot capture ${amount}: only ${authorized} was authorized`,
        {
          authorized,
        },
      );
    }
    const state = this.#settleable(row, 'capture');
    if (state) return state;
    const rule = by === 'payer' ? this.#payerMay(row, 'capture', amount) : this.#appMay(row, amount);
    if (rule) return rule;
    const piId = String(row.payment_intent_id);
    try {
      const pi = await this.#o.stripe.paymentIntents.capture(
        piId,
        { amount_to_capture: amount },
        { idempotencyKey: `${piId}:capture:${amount}` },
      );
      await this.#sync(pi);
    } catch (err) {
      return { ok: false, error: mapStripeError(err) };
    }
    return { ok: true, status: 200, body: { payment: view((await this.find(piId))!) } };
  }

  /** Releases the authorization (the app always may: it gives the money back). */
  cancel(row: Row, by: 'payer' | 'app' = 'payer'): Promise<Outcome<{ payment: PaymentView }>> {
    return this.#o.db.exclusive(`payment ${String(row.payment_intent_id)}`, () =>
      this.#settlingAs(by, row, (fresh) => this.#cancel(fresh, by)),
    );
  }

  async #cancel(row: Row, by: 'payer' | 'app'): Promise<Outcome<{ payment: PaymentView }>> {
    const state = this.#settleable(row, 'cancel');
    if (state) return state;
    const rule = by === 'payer' ? this.#payerMay(row, 'cancel') : null;
    if (rule) return rule;
    const piId = String(row.payment_intent_id);
    try {
      const pi = await this.#o.stripe.paymentIntents.cancel(
        piId,
        { cancellation_reason: 'requested_by_customer' },
        { idempotencyKey: `${piId}:cancel` },
      );
      await this.#sync(pi);
    } catch (err) {
      return { ok: false, error: mapStripeError(err) };
    }
    return { ok: true, status: 200, body: { payment: view((await this.find(piId))!) } };
  }

  /** The row as it is now: the caller may have read it before awaiting the request body. */
  async #fresh(row: Row): Promise<Row> {
    return (await this.find(String(row.payment_intent_id))) ?? row;
  }

  #settleable(row: Row, what: string) {
    if (row.status === 'requires_capture') return null;
    const status = String(row.status);
    const code =
      status === 'succeeded'
        ? 'already_captured'
        : status === 'canceled'
          ? 'already_canceled'
          : 'not_authorized';
    return refuse(409, code, `cannot ${what} this payment: its status is ${status}`, { status });
  }

  /**
   * Refunds part or all of what was captured, pulling the money back from the app's account. The
   * app may; the payer only inside the review window or the app's refund policy.
   */
  refund(
    row: Row,
    body: Record<string, unknown>,
    idempotencyKey: string | undefined,
    by: 'payer' | 'app' = 'payer',
  ): Promise<RefundOutcome> {
    const piId = String(row.payment_intent_id);
    return this.#o.db.exclusive(`payment ${piId}`, async () => {
      if (idempotencyKey === undefined || !IDEMPOTENCY_KEY.test(idempotencyKey)) {
        return this.#refund(await this.#fresh(row), body, idempotencyKey, by);
      }
      // A refund answered before with this key is answered the same, by any instance: the key is
      // unique per payment in the database, written in the same lock as the refund it names.
      const scope = `refund ${piId} ${by}`;
      const request = JSON.stringify([body.amount ?? null, body.reason ?? null]);
      const seen = await this.#o.db.get(
        'SELECT request, status, response FROM idempotent_requests WHERE scope = ? AND key = ?',
        [scope, idempotencyKey],
      );
      if (seen) {
        if (seen.request !== request) {
          return refuse(
            409,
            'idempotency_conflict',
            'this Idempotency-Key was used for a refund with other parameters',
          );
        }
        return {
          ok: true,
          status: Number(seen.status),
          body: JSON.parse(String(seen.response)) as Extract<RefundOutcome, { ok: true }>['body'],
        };
      }
      const out = await this.#refund(await this.#fresh(row), body, idempotencyKey, by);
      // Only what was done is kept: a refusal or a Stripe outage may be retried with the same key.
      if (out.ok) {
        await this.#o.db.run(
          `INSERT INTO idempotent_requests (scope, key, request, status, response, created_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          [scope, idempotencyKey, request, out.status, JSON.stringify(out.body), this.#nowS()],
        );
      }
      return out;
    });
  }

  async #refund(
    row: Row,
    body: Record<string, unknown>,
    idempotencyKey: string | undefined,
    by: 'payer' | 'app',
  ): Promise<RefundOutcome> {
    if (row.status !== 'succeeded') {
      return refuse(
        409,
        'not_captured',
        `only a captured payment can be refunded (status ${String(row.status)}); cancel it instead`,
      );
    }
    if (by === 'payer') {
      const now = this.#nowS();
      const policy = Number(
        (
          await this.#o.db.get('SELECT payer_refund_seconds FROM merchants WHERE account_id = ?', [
            String(row.destination),
          ])
        )?.payer_refund_seconds ?? 0,
      );
      const window = Number(row.app_window ?? 0);
      const inWindow = row.accepted_at !== null && window > 0 && now < Number(row.accepted_at) + window;
      const inPolicy = policy > 0 && now < Number(row.created_at) + policy;
      if (!inWindow && !inPolicy) {
        return refuse(
          403,
          'refund_needs_app',
          'a captured payment is refunded by the app (its agreement or refund policy); ask the app',
        );
      }
    }
    const refundable = Number(row.amount_captured) - Number(row.amount_refunded);
    const amount = body.amount === undefined ? refundable : readAmount(body.amount);
    if (amount === null)
      return refuse(400, 'invalid_amount', 'amount must be a positive integer of minor units');
    if (amount > refundable) {
      return refuse(
        422,
        'amount_exceeds_refundable',
        `cannot refund ${amount}: ${refundable} is left to refund`,
        {
          refundable,
        },
      );
    }
    const reason = body.reason ?? 'requested_by_customer';
    if (typeof reason !== 'string' || !(REFUND_REASONS as readonly string[]).includes(reason)) {
      return refuse(400, 'invalid_reason', `reason must be one of ${REFUND_REASONS.join(', ')}`);
    }
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      return refuse(
        400,
        'invalid_idempotency_key',
        'Idempotency-Key must be 8–100 characters of [A-Za-z0-9_-]',
      );
    }
    const piId = String(row.payment_intent_id);
    let refund: Stripe.Refund;
    try {
      refund = await this.#o.stripe.refunds.create(
        {
          payment_intent: piId,
          amount,
          reason: reason as (typeof REFUND_REASONS)[number],
          reverse_transfer: true,
          metadata: { paybound_challenge_id: String(row.challenge_id) },
        },
        idempotencyKey ? { idempotencyKey: `${piId}:refund:${idempotencyKey}` } : {},
      );
      const charge = await this.#o.stripe.charges.retrieve(String(refund.charge));
      await this.#syncCharge(charge);
    } catch (err) {
      return { ok: false, error: mapStripeError(err) };
    }
    return {
      ok: true,
      status: 200,
      body: {
        refund: { id: refund.id, amount: refund.amount, status: refund.status },
        payment: view((await this.find(piId))!),
      },
    };
  }

  /** Mirrors a PaymentIntent's settlement state (from an API answer or a webhook). */
  async #sync(pi: Stripe.PaymentIntent): Promise<void> {
    const status =
      pi.status === 'succeeded' || pi.status === 'canceled' || pi.status === 'requires_capture'
        ? pi.status
        : null;
    if (!status) return;
    // Webhooks come in any order and late: a held authorization moves on once, never back, so an
    // event older than what an API answer already wrote cannot undo a capture or a cancel.
    await this.#o.db.run(
      `UPDATE payments SET status = ?, amount_captured = ?, updated_at = ?
       WHERE payment_intent_id = ? AND (status = 'requires_capture' OR status = ?)`,
      [status, status === 'succeeded' ? pi.amount_received : 0, this.#nowS(), pi.id, status],
    );
  }

  async #syncCharge(charge: Stripe.Charge): Promise<void> {
    if (!charge.captured || typeof charge.payment_intent !== 'string') return;
    // Refunds only add up: a late charge.refunded from an earlier refund must not lower the total.
    await this.#o.db.run(
      `UPDATE payments SET amount_refunded = GREATEST(amount_refunded, ?), updated_at = ?
       WHERE payment_intent_id = ?`,
      [charge.amount_refunded, this.#nowS(), charge.payment_intent],
    );
  }

  // Webhooks ------------------------------------------------------------------------------------

  async paymentIntentEvent(pi: Stripe.PaymentIntent): Promise<void> {
    if (await this.find(pi.id)) await this.#sync(pi);
  }

  async chargeEvent(charge: Stripe.Charge): Promise<void> {
    if (typeof charge.payment_intent === 'string' && (await this.find(charge.payment_intent)))
      await this.#syncCharge(charge);
  }

  async disputeEvent(dispute: Stripe.Dispute): Promise<void> {
    let piId =
      typeof dispute.payment_intent === 'string'
        ? dispute.payment_intent
        : (dispute.payment_intent?.id ?? null);
    const chargeId = typeof dispute.charge === 'string' ? dispute.charge : dispute.charge.id;
    if (!piId) {
      const charge = await this.#o.stripe.charges.retrieve(chargeId);
      piId =
        typeof charge.payment_intent === 'string'
          ? charge.payment_intent
          : (charge.payment_intent?.id ?? null);
    }
    const now = this.#nowS();
    // A closed dispute stays closed: a late "created" or "updated" event must not reopen it.
    await this.#o.db.run(
      `INSERT INTO disputes (id, payment_intent_id, charge_id, amount, currency, reason, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET status = excluded.status, amount = excluded.amount, updated_at = excluded.updated_at
       WHERE disputes.status NOT IN ('won', 'lost', 'warning_closed')`,
      [
        dispute.id,
        piId,
        chargeId,
        dispute.amount,
        dispute.currency,
        dispute.reason,
        dispute.status,
        dispute.created,
        now,
      ],
    );
  }

  async disputes(deviceId: string): Promise<Record<string, unknown>[]> {
    const rows = await this.#o.db.all(
      `SELECT d.*, p.challenge_id, p.destination, p.description FROM disputes d
       JOIN payments p ON p.payment_intent_id = d.payment_intent_id
       WHERE p.device_id = ? ORDER BY d.created_at DESC`,
      [deviceId],
    );
    return rows.map((d) => ({
      id: String(d.id),
      paymentIntent: String(d.payment_intent_id),
      challengeId: String(d.challenge_id),
      destination: String(d.destination),
      description: String(d.description),
      amount: Number(d.amount),
      currency: String(d.currency),
      reason: String(d.reason),
      status: String(d.status),
      createdAt: new Date(Number(d.created_at) * 1000).toISOString(),
    }));
  }
}
