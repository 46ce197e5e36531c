/** Browser alarms: they outlive the worker, which the browser wakes again to run them. */
import browser from 'webextension-polyfill';

export const alarms = {
  /** At `when` (unix ms). */
  async at(name: string, when: number): Promise<void> {
    await browser.alarms.create(name, { when });
  },
  async after(name: string, minutes: number): Promise<void> {
    await browser.alarms.create(name, { delayInMinutes: minutes });
  },
  async every(name: string, minutes: number): Promise<void> {
    await browser.alarms.create(name, { periodInMinutes: minutes });
  },
  async clear(name: string): Promise<void> {
    await browser.alarms.clear(name);
  },
};
