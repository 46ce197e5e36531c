// Webhook endpoints and delivery, signed the way Stripe signs them:
//   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw JSON body>" keyed by the endpoint secret>
// so `stripe.webhooks.constructEvent(body, header, secret)` accepts them. Delivery is asynchronous,
// one event at a time per endpoint, retried a few times on failure, like Stripe (which retries for days).
import { createHmac, randomBytes } from 'node:crypto';

export interface WebhookEndpoint {
  id: string;
  object: 'webhook_endpoint';
  url: string;
  enabled_events: string[];
  status: 'enabled' | 'disabled';
  created: number;
  livemode: false;
  metadata: Record<string, string>;
  api_version: string | null;
  description: string | null;
  /** Only shown when the endpoint is created. */
  secret?: string;
}

export interface DeliveryRecord {
  eventId: string;
  type: string;
  endpointId: string;
  attempts: number;
  /** Last HTTP status, or 0 when the endpoint could not be reached. */
  status: number;
  delivered: boolean;
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

export function signatureHeader(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export interface DelivererOptions {
  /** Delays before each retry; default [50, 500, 2000] ms. Empty: no retries. */
  retryDelaysMs?: readonly number[];
  timeoutMs?: number;
  now: () => number;
}

interface Queued {
  endpoint: WebhookEndpoint & { secret: string };
  event: { id: string; type: string };
  payload: string;
}

export class WebhookDeliverer {
  readonly deliveries: DeliveryRecord[] = [];
  readonly #queues = new Map<string, Queued[]>();
  readonly #running = new Set<string>();
  #waiters: (() => void)[] = [];
  #closed = false;
  readonly #retryDelays: readonly number[];
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(options: DelivererOptions) {
    this.#retryDelays = options.retryDelaysMs ?? [50, 500, 2000];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#now = options.now;
  }

  enqueue(endpoint: WebhookEndpoint & { secret: string }, event: { id: string; type: string }): void {
    if (this.#closed) return;
    const queue = this.#queues.get(endpoint.id) ?? [];
    queue.push({ endpoint, event, payload: JSON.stringify(event, null, 2) });
    this.#queues.set(endpoint.id, queue);
    if (!this.#running.has(endpoint.id)) void this.#drain(endpoint.id);
  }

  /** Resolves once every queued event has been delivered or given up on. */
  idle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.#closed = true;
    this.#queues.clear();
  }

  async #drain(endpointId: string): Promise<void> {
    this.#running.add(endpointId);
    try {
      const queue = this.#queues.get(endpointId);
      for (let item = queue?.shift(); item && !this.#closed; item = queue?.shift()) {
        await this.#deliver(item);
      }
    } finally {
      this.#running.delete(endpointId);
      if (this.#running.size === 0) {
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }

  async #deliver({ endpoint, event, payload }: Queued): Promise<void> {
    const record: DeliveryRecord = {
      eventId: event.id,
      type: event.type,
      endpointId: endpoint.id,
      attempts: 0,
      status: 0,
      delivered: false,
    };
    this.deliveries.push(record);
    for (let attempt = 0; attempt <= this.#retryDelays.length && !this.#closed; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.#retryDelays[attempt - 1]));
      record.attempts++;
      const timestamp = Math.floor(this.#now() / 1000);
      try {
        const res = await fetch(endpoint.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
            'stripe-signature': signatureHeader(payload, endpoint.secret, timestamp),
          },
          body: payload,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        record.status = res.status;
        if (res.ok) {
          record.delivered = true;
          return;
        }
      } catch {
        record.status = 0;
      }
    }
  }
}
