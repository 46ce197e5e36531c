/** The user's spending rules, kept in the settings table (with bigints, as IndexedDB allows). */
import { defaultRules, parseRules, type Rules, type RulesWire, rulesToWire } from '../../core/policy/rules';
import { getSetting, setSetting } from '../../db/queries';
import type { PayboundDb } from '../../db/schema';

const localTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

export async function loadRules(db: PayboundDb): Promise<Rules> {
  return (await getSetting<Rules | null>(db, 'rules', null)) ?? defaultRules(localTimeZone());
}

/** Validates and stores rules sent by the settings page; throws with the reason on invalid ones. */
export async function saveRules(db: PayboundDb, wire: unknown): Promise<RulesWire> {
  const rules = parseRules(wire);
  await setSetting(db, 'rules', rules);
  return rulesToWire(rules);
}
