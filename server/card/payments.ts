// Paying approved quotes with the linked card, and settling them afterwards.
//
// A payment is a PaymentIntent for the approved maximum with capture_method=manual, confirmed off
// session against the device's saved card, sent to the app's connected account
// (transfer_data[destination]); the challenge id is the Idempotency-Key, and is unique in the
// database, so one challenge never becomes two charges. Settlement: capture (≤ authorized), cancel
// (release the hold), refund (reverse_transfer pulls the money back from the app).
import type Stripe from 'stripe';
import type { CardDb, Row } from './db';
import type { ReceiptSigner } from './receipt';
import { mapStripeError, type ServiceError } from './stripe';

export const CHALLENGE_ID = /^[A-Za-z0-9_-]{8,200}$/;
const ACCOUNT_ID = /^acct_[A-Za-z0-9]{1,64}$/;
const CURRENCY = /^[a-z]{3}$/;
const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

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
  currency: string;
  destination: string;
  description: string;
  createdAt: string;
  declineCode?: string;
  error?: { code: string; message: string };
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
  now: () => number;
}

function refuse(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
  return { ok: false as const, error: { status, code, message, details } };
}

/** A positive safe integer, given as a JSON number or a decimal string (minor units). */
export function readAmount(value: unknown): number | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && /^[1-9]\d{0,14}$/.test(value)) return Number(value);
  return null;
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
    if (typeof description !== 'string' || description.length > 500) {
      return refuse(400, 'invalid_description', 'description must be a string of at most 500 characters');
    }
    if (!this.#o.db.get('SELECT account_id FROM merchants WHERE account_id = ?', [destination])) {
      return refuse(
        422,
        'unknown_destination',
        'destination is not an app registered with this card service',
      );
    }

    const existing = this.#o.db.get('SELECT * FROM payments WHERE challenge_id = ?', [challengeId]);
    if (existing) return this.#replay(device, existing, amount, currency, destination);

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
        this.#insert(
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
      this.#insert(device, challengeId, pi.id, amount, currency, destination, description, 'declined', {
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
    const row = this.#insert(
      device,
      challengeId,
      pi.id,
      amount,
      currency,
      destination,
      description,
      'requires_capture',
    );
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

  #insert(
    device: Device,
    challengeId: string,
    piId: string,
    amount: number,
    currency: string,
    destination: string,
    description: string,
    status: string,
    error?: { code: string; message: string; decline: string | null },
  ): Row {
    const now = this.#nowS();
    // A concurrent replay may have stored the same PaymentIntent first (Stripe gave both the same one).
    this.#o.db.run(
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
    return this.#o.db.get('SELECT * FROM payments WHERE payment_intent_id = ?', [piId])!;
  }

  find(piId: string): Row | undefined {
    return this.#o.db.get('SELECT * FROM payments WHERE payment_intent_id = ?', [piId]);
  }

  findByChallenge(challengeId: string): Row | undefined {
    return this.#o.db.get('SELECT * FROM payments WHERE challenge_id = ?', [challengeId]);
  }

  list(deviceId: string): PaymentView[] {
    return this.#o.db
      .all('SELECT * FROM payments WHERE device_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 500', [
        deviceId,
      ])
      .map(view);
  }

  /**
   * The app's actual amount, recorded without capturing (the payer captures it when it accepts).
   * The same amount again changes nothing; another one replaces it while the payment is uncaptured.
   * Above the authorized amount it is refused, and the attempt is kept on the payment.
   */
  report(row: Row, amountInput: unknown): Outcome<{ payment: PaymentView }> {
    const amount = readAmount(amountInput);
    if (amount === null)
      return refuse(400, 'invalid_amount', 'amount must be a positive integer of minor units');
    const piId = String(row.payment_intent_id);
    const authorized = Number(row.amount_authorized);
    if (amount > authorized) {
      this.#o.db.run('UPDATE payments SET over_reported = ?, updated_at = ? WHERE payment_intent_id = ?', [
        amount,
        this.#nowS(),
        piId,
      ]);
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
    if (row.amount_reported === null || Number(row.amount_reported) !== amount) {
      this.#o.db.run(
        `UPDATE payments SET amount_reported = ?, updated_at = ?
         WHERE payment_intent_id = ? AND status = 'requires_capture'`,
        [amount, this.#nowS(), piId],
      );
    }
    return { ok: true, status: 200, body: { payment: view(this.find(piId)!) } };
  }

  /** Captures `amount` (default: the reported amount when there is one, else everything authorized); never more than authorized. */
  async capture(row: Row, amountInput: unknown): Promise<Outcome<{ payment: PaymentView }>> {
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
    try {
      const pi = await this.#o.stripe.paymentIntents.capture(
        String(row.payment_intent_id),
        { amount_to_capture: amount },
        { idempotencyKey: `${String(row.payment_intent_id)}:capture:${amount}` },
      );
      this.#sync(pi);
    } catch (err) {
      return { ok: false, error: mapStripeError(err) };
    }
    return { ok: true, status: 200, body: { payment: view(this.find(String(row.payment_intent_id))!) } };
  }

  /** Releases the authorization. */
  async cancel(row: Row): Promise<Outcome<{ payment: PaymentView }>> {
    const state = this.#settleable(row, 'cancel');
    if (state) return state;
    try {
      const pi = await this.#o.stripe.paymentIntents.cancel(
        String(row.payment_intent_id),
        { cancellation_reason: 'requested_by_customer' },
        { idempotencyKey: `${String(row.payment_intent_id)}:cancel` },
      );
      this.#sync(pi);
    } catch (err) {
      return { ok: false, error: mapStripeError(err) };
    }
    return { ok: true, status: 200, body: { payment: view(this.find(String(row.payment_intent_id))!) } };
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

  /** Refunds part or all of what was captured, pulling the money back from the app's account. */
  async refund(
    row: Row,
    body: Record<string, unknown>,
    idempotencyKey: string | undefined,
  ): Promise<
    Outcome<{ refund: { id: string; amount: number; status: string | null }; payment: PaymentView }>
  > {
    if (row.status !== 'succeeded') {
      return refuse(
        409,
        'not_captured',
        `only a captured payment can be refunded (status ${String(row.status)}); cancel it instead`,
      );
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
    if (idempotencyKey !== undefined && !/^[A-Za-z0-9_-]{8,100}$/.test(idempotencyKey)) {
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
      this.#syncCharge(charge);
    } catch (err) {
      return { ok: false, error: mapStripeError(err) };
    }
    return {
      ok: true,
      status: 200,
      body: {
        refund: { id: refund.id, amount: refund.amount, status: refund.status },
        payment: view(this.find(piId)!),
      },
    };
  }

  /** Mirrors a PaymentIntent's settlement state (from an API answer or a webhook). */
  #sync(pi: Stripe.PaymentIntent): void {
    const status =
      pi.status === 'succeeded' || pi.status === 'canceled' || pi.status === 'requires_capture'
        ? pi.status
        : null;
    if (!status) return;
    this.#o.db.run(
      `UPDATE payments SET status = ?, amount_captured = ?, updated_at = ?
       WHERE payment_intent_id = ? AND status != 'declined'`,
      [status, status === 'succeeded' ? pi.amount_received : 0, this.#nowS(), pi.id],
    );
  }

  #syncCharge(charge: Stripe.Charge): void {
    if (!charge.captured || typeof charge.payment_intent !== 'string') return;
    this.#o.db.run('UPDATE payments SET amount_refunded = ?, updated_at = ? WHERE payment_intent_id = ?', [
      charge.amount_refunded,
      this.#nowS(),
      charge.payment_intent,
    ]);
  }

  // Webhooks ------------------------------------------------------------------------------------

  paymentIntentEvent(pi: Stripe.PaymentIntent): void {
    if (this.find(pi.id)) this.#sync(pi);
  }

  chargeEvent(charge: Stripe.Charge): void {
    if (typeof charge.payment_intent === 'string' && this.find(charge.payment_intent))
      this.#syncCharge(charge);
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
    this.#o.db.run(
      `INSERT INTO disputes (id, payment_intent_id, charge_id, amount, currency, reason, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET status = excluded.status, amount = excluded.amount, updated_at = excluded.updated_at`,
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

  disputes(deviceId: string): Record<string, unknown>[] {
    return this.#o.db
      .all(
        `SELECT d.*, p.challenge_id, p.destination, p.description FROM disputes d
         JOIN payments p ON p.payment_intent_id = d.payment_intent_id
         WHERE p.device_id = ? ORDER BY d.created_at DESC`,
        [deviceId],
      )
      .map((d) => ({
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
