import { type AuthChallenge, challengesFromHeaders } from './www-authenticate';

/** The payment protocols Paybound knows. */
export type PaymentProtocol = 'l402' | 'mpp' | 'x402';

export interface DetectedChallenge {
  protocol: PaymentProtocol;
  /** The parsed challenge, for the header-based protocols. */
  challenge?: AuthChallenge;
}

const SCHEME_PROTOCOL: Record<string, PaymentProtocol> = { l402: 'l402', lsat: 'l402', payment: 'mpp' };

/**
 * Which payment challenges a 402 response carries. Throws ChallengeSyntaxError on a malformed
 * WWW-Authenticate header. x402 is only noted here, without reading it: by a v2 `PAYMENT-REQUIRED`
 * header, or by a body that names `x402Version` (v1 asks in the body; the page sends the body of
 * a 402 only when it carries no payment header). core/challenge/x402.ts reads both strictly.
 */
export function detectChallenges(
  headers: ReadonlyArray<readonly [string, string]>,
  body?: string,
): DetectedChallenge[] {
  const found: DetectedChallenge[] = [];
  for (const challenge of challengesFromHeaders(headers)) {
    const protocol = SCHEME_PROTOCOL[challenge.schemeKey];
    if (protocol) found.push({ protocol, challenge });
  }
  if (
    headers.some(([name]) => name.toLowerCase() === 'payment-required') ||
    (body !== undefined && /"x402Version"/.test(body))
  )
    found.push({ protocol: 'x402' });
  return found;
}
