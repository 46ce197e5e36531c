/**
 * `storage.session`: memory the browser keeps across worker restarts and drops when it closes.
 * Each slot is one key with a schema: what comes back is checked, so a value of another shape
 * (an older version's) reads as nothing rather than as something it is not.
 */
import * as v from 'valibot';
import browser from 'webextension-polyfill';

export interface SessionSlot<T> {
  get(): Promise<T | undefined>;
  /** `undefined` removes the key. */
  set(value: T | undefined): Promise<void>;
}

export function sessionSlot<S extends v.GenericSchema>(
  key: string,
  schema: S,
): SessionSlot<v.InferOutput<S>> {
  return {
    async get() {
      const got = (await browser.storage.session.get(key))[key];
      const parsed = v.safeParse(schema, got);
      return parsed.success ? parsed.output : undefined;
    },
    async set(value) {
      if (value === undefined) await browser.storage.session.remove(key);
      else await browser.storage.session.set({ [key]: value });
    },
  };
}
