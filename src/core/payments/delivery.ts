/**
 * What a paid retry's response says about the payment (draft-httpauth-payment-01): a
 * `Payment-Receipt` header on success (base64url JSON: status, method, timestamp, reference, and
 * what the method adds), or an RFC 9457 Problem Details body (`application/problem+json`) on a
 * refusal. Both come through the page, so both are kept as the page's word: evidence, never a
 * reason to move money.
 */
import { base64urlnopad } from '@scure/base';
import { stripPadding } from '../text/base64';

export interface PaymentReceipt {
  /** The header as received (cut to RECEIPT_LIMIT), for a dispute. */
  raw: string;
  status?: string;
  method?: string;
  timestamp?: string;
  reference?: string;
}

export interface ProblemDetails {
  type?: string;
  title?: string;
  detail?: string;
  status?: number;
}

export const RECEIPT_LIMIT = 2048;
export const PROBLEM_LIMIT = 4096;
const FIELD_LIMIT = 300;

const textDecoder = new TextDecoder();

function strings<K extends string>(
  o: Record<string, unknown>,
  keys: readonly K[],
): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'string' && v.length > 0) out[k] = v.slice(0, FIELD_LIMIT);
  }
  return out;
}

const asObject = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** A `Payment-Receipt` value; undefined when it is not base64url JSON of an object. */
export function readPaymentReceipt(raw: string): PaymentReceipt | undefined {
  const value = raw.trim().slice(0, RECEIPT_LIMIT);
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(value)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(base64urlnopad.decode(stripPadding(value))));
  } catch {
    return undefined;
  }
  const o = asObject(parsed);
  if (!o) return undefined;
  return { raw: value, ...strings(o, ['status', 'method', 'timestamp', 'reference'] as const) };
}

/** A Problem Details body; undefined when it is not JSON of an object with anything to say. */
export function readProblem(body: string): ProblemDetails | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.slice(0, PROBLEM_LIMIT));
  } catch {
    return undefined;
  }
  const o = asObject(parsed);
  if (!o) return undefined;
  const status = o.status;
  const problem: ProblemDetails = {
    ...strings(o, ['type', 'title', 'detail'] as const),
    ...(typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599
      ? { status }
      : {}),
  };
  return problem.title || problem.detail || problem.type ? problem : undefined;
}

/** The words a person reads for a problem: its detail, else its title, else its type. */
export const problemReason = (p: ProblemDetails): string =>
  (p.detail ?? p.title ?? p.type ?? '').slice(0, FIELD_LIMIT);
