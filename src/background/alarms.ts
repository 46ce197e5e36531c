/**
 * The worker's alarms by name: single ones (`paybound-autolock`) and families that carry an id
 * after their prefix (`paybound-expire:<payment id>`). One dispatcher, so an alarm's name and its
 * handler are written down together.
 */
export class AlarmRegistry {
  private readonly single = new Map<string, () => Promise<unknown>>();
  private readonly families: { prefix: string; run: (id: string) => Promise<unknown> }[] = [];

  on(name: string, run: () => Promise<unknown>): this {
    this.single.set(name, run);
    return this;
  }

  family(prefix: string, run: (id: string) => Promise<unknown>): this {
    this.families.push({ prefix, run });
    return this;
  }

  /** Runs the alarm's handler. False for a name nobody registered (an alarm left by an older version). */
  async dispatch(name: string): Promise<boolean> {
    const run = this.single.get(name);
    if (run) {
      await run();
      return true;
    }
    const family = this.families.find((f) => name.startsWith(f.prefix));
    if (!family) return false;
    await family.run(name.slice(family.prefix.length));
    return true;
  }
}

/** The worker's alarm names; the families carry a payment id after the prefix. */
export const ALARMS = {
  /** The unlocked vault locks (AutoLock restarts it on each user action). */
  autoLock: 'paybound-autolock',
  /** A payment's review window ended: it is accepted. */
  review: 'paybound-review:',
  /** A quote's offer or a page-wallet payment's invoice runs out: `payments.expire`. */
  expire: 'paybound-expire:',
  /** Ended windows, refunds paid and chargebacks are looked for every few minutes. */
  reviewSweep: 'paybound-review-sweep',
} as const;
