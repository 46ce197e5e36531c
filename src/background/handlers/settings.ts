/** The settings page: general settings, pause, the manual rate, the rules, backups. */
import { rulesToWire } from '../../core/policy/rules';
import { exportBackup, importBackup } from '../../db/backup';
import { getSetting, setSetting, setSettings } from '../../db/settings';
import { loadRules, saveRules } from '../services/rules';
import { generalSettings } from '../services/status';
import { refusal } from './refusal';
import type { HandlerGroup, Services } from './services';

export function settingsHandlers({
  db,
  rates,
}: Pick<Services, 'db' | 'rates'>): HandlerGroup<
  | 'settings.get'
  | 'settings.set'
  | 'pause.set'
  | 'rates.setManual'
  | 'rules.get'
  | 'rules.set'
  | 'ledger.export'
  | 'ledger.import'
> {
  return {
    'settings.get': () => generalSettings(db),
    'settings.set': async (input) => {
      await setSettings(db, input);
      // Other sources, or another currency: the cached rate is no longer theirs.
      if (input.rateSources !== undefined || input.currency !== undefined) await rates.forget();
      return generalSettings(db);
    },
    'pause.set': async ({ paused }) => {
      await setSetting(db, 'paused', paused);
      return { paused };
    },
    'rates.setManual': async ({ rate, validForHours }) => {
      const currency = await getSetting(db, 'currency');
      try {
        await rates.setManual(rate, currency, validForHours * 3600 * 1000);
      } catch (e) {
        throw refusal(e, 'errorInvalidRate');
      }
      return { currency };
    },
    'rules.get': async () => rulesToWire(await loadRules(db)),
    'rules.set': async (input) => {
      try {
        return await saveRules(db, input);
      } catch (e) {
        throw refusal(e, 'errorInvalidRules');
      }
    },
    'ledger.export': () => exportBackup(db),
    'ledger.import': async ({ backup }) => {
      try {
        return await importBackup(db, backup);
      } catch (e) {
        throw refusal(e, 'errorInvalidBackup');
      }
    },
  };
}
