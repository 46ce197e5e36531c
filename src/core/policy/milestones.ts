/** Which budget milestones (percent of the limit) a charge crossed, from spent-before to spent-after. */
export function crossedMilestones(
  milestones: readonly number[],
  limitMinor: bigint,
  beforeMinor: bigint,
  afterMinor: bigint,
): number[] {
  if (limitMinor <= 0n) return [];
  // before < m% of limit ≤ after, compared in integers: spent * 100 vs m * limit.
  return [...new Set(milestones)]
    .sort((a, b) => a - b)
    .filter(
      (m) => beforeMinor * 100n < BigInt(m) * limitMinor && afterMinor * 100n >= BigInt(m) * limitMinor,
    );
}
