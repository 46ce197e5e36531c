// Shared by the plan desk tests: reading Payment challenges and Paybound-Usage, writing credentials.
import { expect } from 'vitest';
import { challengeList } from './helpers';

export interface PaymentChallengeParams {
  id: string;
  realm: string;
  method: string;
  intent: string;
  expires: string;
  request: string;
  paybound?: string;
}

export function paymentChallenges(header: string | null): PaymentChallengeParams[] {
  return challengeList(header)
    .filter((c) => c.scheme === 'Payment')
    .map((c) => c.params as unknown as PaymentChallengeParams);
}

export function decodeRequest(request: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(request, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function paymentCredential(
  challenge: PaymentChallengeParams,
  payload: Record<string, unknown>,
): string {
  const { id, realm, method, intent, request, expires } = challenge;
  const json = JSON.stringify({ challenge: { id, realm, method, intent, request, expires }, payload });
  return `Payment ${Buffer.from(json).toString('base64url')}`;
}

/** Reads `Paybound-Usage` (an RFC 8941 dictionary of a string and integers). */
export function usageOf(res: Response): Record<string, string | number> | null {
  const header = res.headers.get('paybound-usage');
  if (header === null) return null;
  const out: Record<string, string | number> = {};
  for (const member of header.split(/,\s*/)) {
    const m = /^([a-z-]+)=(?:"([^"]*)"|(\d+))$/.exec(member);
    expect(m, `member ${member}`).not.toBeNull();
    out[m![1]!] = m![2] ?? Number(m![3]);
  }
  return out;
}

export async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

/** Request headers: a string is an Authorization value; an object is taken as it is. */
export function headersOf(auth: string | Record<string, string> | undefined): Record<string, string> {
  if (auth === undefined) return {};
  return typeof auth === 'string' ? { authorization: auth } : auth;
}
