import { describe, expect, it } from 'vitest';
import { crossedMilestones } from '../../../../src/core/policy/milestones';

describe('crossedMilestones', () => {
  it('reports each milestone once, at the charge that reaches it exactly or passes it', () => {
    expect(crossedMilestones([50, 80, 100], 1000n, 0n, 499n)).toEqual([]);
    expect(crossedMilestones([50, 80, 100], 1000n, 0n, 500n)).toEqual([50]);
    expect(crossedMilestones([50, 80, 100], 1000n, 500n, 799n)).toEqual([]);
    expect(crossedMilestones([100, 50, 80], 1000n, 100n, 1200n)).toEqual([50, 80, 100]);
    expect(crossedMilestones([50], 0n, 0n, 10n)).toEqual([]);
  });
});
