import { describe, expect, it } from 'vitest';
import { AlarmRegistry } from '../../../src/background/alarms';

describe('the alarm registry', () => {
  it('runs a single alarm, a family member with its id, and says when nobody knows the name', async () => {
    const ran: string[] = [];
    const alarms = new AlarmRegistry()
      .on('paybound-autolock', async () => ran.push('lock'))
      .family('paybound-expire:', async (id) => ran.push(`expire ${id}`))
      .on('paybound-review-sweep', async () => ran.push('sweep'))
      .family('paybound-review:', async (id) => ran.push(`review ${id}`));
    expect(await alarms.dispatch('paybound-autolock')).toBe(true);
    expect(await alarms.dispatch('paybound-expire:p-1')).toBe(true);
    // A single name that shares the start of a family's prefix is its own alarm.
    expect(await alarms.dispatch('paybound-review-sweep')).toBe(true);
    expect(await alarms.dispatch('paybound-review:p-2')).toBe(true);
    expect(await alarms.dispatch('paybound-something-old')).toBe(false);
    expect(ran).toEqual(['lock', 'expire p-1', 'sweep', 'review p-2']);
  });

  it("passes a handler's failure on to the caller", async () => {
    const alarms = new AlarmRegistry().family('x:', async () => {
      throw new Error('no');
    });
    await expect(alarms.dispatch('x:1')).rejects.toThrow('no');
  });
});
