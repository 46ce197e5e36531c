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
 * WWW-Authenticate header. x402 is noted by the presence of a v2 `PAYMENT-REQUIRED` header only,
 * without reading it (core/challenge/x402.ts reads v2 headers and v1 bodies strictly); a v1
 * challenge, which lives in the body, is not seen here at all.
 */
export function detectChallenges(headers: ReadonlyArray<readonly [string, string]>): DetectedChallenge[] {
  const found: DetectedChallenge[] = [];
  for (const challenge of challengesFromHeaders(headers)) {
    const protocol = SCHEME_PROTOCOL[challenge.schemeKey];
    if (protocol) found.push({ protocol, challenge });
  }
  if (headers.some(([name]) => name.toLowerCase() === 'payment-required')) found.push({ protocol: 'x402' });
  return found;
}
