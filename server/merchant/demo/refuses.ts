// A broken paid route, for the "paid but refused" flow: `GET|POST /api/refuses?as=<name>`.
//
// It charges like any L402 route, then refuses every credential, valid ones too: a request with a
// correct token is answered 402 again, with the very challenge it paid, and a body saying so. Each
// `as` value (up to 64 characters; default empty) gets one challenge and keeps it, so that asking
// again presents the same challenge (a wallet must never pay it twice); a fresh one is made only
// when the invoice is about to expire. Tests pick their own `as`, so that runs sharing the app
// never share an invoice.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { applyCors, sendJson } from '../kit/http';
import { type L402Challenge, L402Gate } from '../kit/l402';
import { type InvoiceBackend, LnbitsError } from '../kit/lnbits-client';

const CAPABILITY = 'refuses';
/** The gate's invoice expiry (its default), less a margin for a wallet to quote and pay. */
const INVOICE_SECONDS = 600;
const REISSUE_AFTER_MS = (INVOICE_SECONDS - 120) * 1000;
/** How many `as` values are remembered: the oldest go first. */
const KEPT = 100;

export interface RefusingRouteOptions {
  wallet: InvoiceBackend;
  rootKey: string;
  location: string;
  service: string;
  priceMsat: bigint;
  now?: () => number;
}

export function refusingRoute(opts: RefusingRouteOptions) {
  const now = opts.now ?? Date.now;
  const gate = new L402Gate({
    wallet: opts.wallet,
    rootKey: opts.rootKey,
    location: opts.location,
    service: opts.service,
    invoiceExpirySeconds: INVOICE_SECONDS,
  });
  const issued = new Map<string, { at: number; challenge: Promise<L402Challenge> }>();

  function challengeFor(as: string): Promise<L402Challenge> {
    const known = issued.get(as);
    if (known && now() - known.at < REISSUE_AFTER_MS) return known.challenge;
    const challenge = gate.issue({
      priceMsat: opts.priceMsat,
      memo: 'Quill: a route that refuses every credential',
      capabilities: [CAPABILITY],
    });
    issued.delete(as);
    issued.set(as, { at: now(), challenge });
    // A wallet outage must not stick: the next request tries again.
    challenge.catch(() => issued.delete(as));
    while (issued.size > KEPT) issued.delete(issued.keys().next().value ?? '');
    return challenge;
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    applyCors(res);
    const as = new URL(req.url ?? '/', 'http://demo.invalid').searchParams.get('as') ?? '';
    if (as.length > 64) return sendJson(res, 422, { error: 'as is longer than 64 characters' });
    let challenge: L402Challenge;
    try {
      challenge = await challengeFor(as);
    } catch (err) {
      if (!(err instanceof LnbitsError)) throw err;
      return sendJson(res, 503, { error: 'payment backend unavailable', detail: err.message });
    }
    const verdict = await gate.verify(req.headers.authorization, {
      capability: CAPABILITY,
      caveatChecks: {},
    });
    res.setHeader('WWW-Authenticate', challenge.headerValues);
    if (verdict.ok) {
      // The point of this route: the proof is valid, and it is refused anyway.
      return sendJson(res, 402, {
        error: 'this route refuses every credential, even a valid one',
        code: 'credential_refused',
      });
    }
    sendJson(res, 402, {
      error: 'payment_required',
      code: verdict.code,
      price_msat: challenge.priceMsat.toString(),
    });
  };
}
