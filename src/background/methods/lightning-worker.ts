/** Lightning paid by the worker itself, through a wallet it holds the keys to (LNbits, NWC). */
import { said } from '../../core/text/said';
import type { RailRecord, WorkerRailRecord } from '../../db/schema';
import { RailError } from '../services/rails/types';
import { lightningRecord, offersLightning, paidCredential, proofOutcome, quoteLightning } from './lightning';
import type { MethodDeps, Outcome, PaymentMethod } from './types';

const WORKER_RAILS = ['lnbits', 'nwc'] as const;

function workerRail(rail: RailRecord): WorkerRailRecord {
  if (rail.kind === 'lnbits' || rail.kind === 'nwc') return rail;
  throw new Error(`not a wallet the worker pays through: ${rail.kind}`);
}

export const lightningWorker: PaymentMethod = {
  kind: 'lightning-worker',
  rails: WORKER_RAILS,
  challenge: 'lightning',
  unit: 'msat',
  sealed: true,
  offered: offersLightning,
  quote: quoteLightning,

  async pay(record, rail, deps: MethodDeps): Promise<Outcome> {
    const p = lightningRecord(record);
    let preimage: string;
    try {
      preimage = (await (await deps.railFor(workerRail(rail))).sendPayment(p.lightning.invoice)).preimage;
    } catch (e) {
      if (!(e instanceof RailError)) throw e;
      if (e.code === 'timeout') {
        return {
          kind: 'unknown',
          failure: { code: 'timeout', reason: e.message, said: e.said },
          reason:
            'the wallet did not confirm in time; Paybound will check with it before anything else happens',
        };
      }
      return { kind: 'failed', code: e.code, said: e.said };
    }
    return proofOutcome(p, preimage, deps.now());
  },

  credential: paidCredential,

  async reconcile(record, rail, deps): Promise<Outcome> {
    const p = lightningRecord(record);
    try {
      const found = await (await deps.railFor(workerRail(rail))).lookup(p.lightning.paymentHash);
      if (found.status === 'paid') return proofOutcome(p, found.preimage, deps.now());
      if (found.status === 'failed' || found.status === 'not_found') {
        return { kind: 'failed', code: 'not_paid', said: said('failureNotPaid') };
      }
      return { kind: 'pending' };
    } catch (e) {
      if (!(e instanceof RailError)) throw e;
      return { kind: 'pending' };
    }
  },
};
