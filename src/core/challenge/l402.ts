/**
 * L402 (formerly LSAT) challenges: `L402 macaroon="<base64>", invoice="<bolt11>"`, also
 * `token=` for `macaroon=`, and an optional `version`. The credential is
 * `<scheme> <base64 macaroon>:<hex preimage>`, sent with the scheme the server challenged with.
 */
import type { AuthChallenge } from './www-authenticate';

export interface L402Challenge {
  /** 'L402', or 'LSAT' for servers that only speak the old name. */
  scheme: 'L402' | 'LSAT';
  macaroon: string;
  invoice: string;
  version?: string;
  /** Paybound's estimate and review terms, as sent (core/challenge/review.ts). */
  paybound?: string;
}

export class L402ChallengeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'L402ChallengeError';
  }
}

/** Picks the L402 challenge of a response; L402 wins over LSAT when a server sends both. */
export function readL402Challenge(challenges: readonly AuthChallenge[]): L402Challenge {
  const candidates = challenges.filter((c) => c.schemeKey === 'l402' || c.schemeKey === 'lsat');
  const chosen = candidates.find((c) => c.schemeKey === 'l402') ?? candidates[0];
  if (!chosen) throw new L402ChallengeError('no L402 challenge');
  const macaroon = chosen.params.get('macaroon') ?? chosen.params.get('token');
  const invoice = chosen.params.get('invoice');
  if (!macaroon) throw new L402ChallengeError('L402 challenge without a macaroon');
  if (!invoice) throw new L402ChallengeError('L402 challenge without an invoice');
  const version = chosen.params.get('version');
  const paybound = chosen.params.get('paybound');
  return {
    scheme: chosen.schemeKey === 'l402' ? 'L402' : 'LSAT',
    macaroon,
    invoice,
    ...(version !== undefined ? { version } : {}),
    ...(paybound !== undefined ? { paybound } : {}),
  };
}

export function l402Credential(
  scheme: L402Challenge['scheme'],
  macaroon: string,
  preimageHex: string,
): string {
  return `${scheme} ${macaroon}:${preimageHex}`;
}
