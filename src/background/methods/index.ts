/**
 * The payment methods, by the rail kind each pays through. A new method is a module and a line
 * here.
 */
import type { RailKind } from '../../db/schema';
import { card } from './card';
import { lightningPage } from './lightning-page';
import { lightningWorker } from './lightning-worker';
import type { PaymentMethod } from './types';
import { x402 } from './x402';

export const METHODS: readonly PaymentMethod[] = [lightningWorker, lightningPage, card, x402];

const BY_RAIL = new Map<RailKind, PaymentMethod>(METHODS.flatMap((m) => m.rails.map((r) => [r, m] as const)));

/** The method that pays through a rail of this kind. */
export function methodFor(rail: RailKind): PaymentMethod {
  const method = BY_RAIL.get(rail);
  if (!method) throw new Error(`no payment method pays through ${rail}`);
  return method;
}

export type { PaymentMethod } from './types';
