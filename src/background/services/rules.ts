/** The user's spending rules, kept in the settings table (with bigints, as IndexedDB allows). */
import { parseRules, type Rules, type RulesWire, rulesToWire } from '../../core/policy/rules';
import type { PayboundDb } from '../../db/schema';
import { getSetting, setSetting } from '../../db/settings';

/** The stored rules; the defaults (in this browser's time zone) until the user saves some. */
export async function loadRules(db: PayboundDb): Promise<Rules> {
  return getSetting(db, 'rules');
}

/** Validates and stores rules sent by the settings page; throws with the reason on invalid ones. */
export async function saveRules(db: PayboundDb, wire: unknown): Promise<RulesWire> {
  const rules = parseRules(wire);
  await setSetting(db, 'rules', rules);
  return rulesToWire(rules);
}
