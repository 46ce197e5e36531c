/**
 * A short run of the parser fuzz properties (test/fuzz/parsers.fuzz.ts); `npm run bench:fuzz` is the
 * full one. The seed is fixed so this run is the same every time; the bench explores new seeds.
 */
import { describe, expect, it } from 'vitest';
import { fuzzProperties } from '../../fuzz/parsers.fuzz';

const RUNS = 300;
const SEED = 20_300_601;

describe('fuzzing what pages and merchants send', () => {
  it.each(fuzzProperties.map((p) => [p.name, p] as const))('%s', (_name, property) => {
    const result = property.run(RUNS, { seed: SEED, endOnFailure: true });
    if (result.failure !== undefined) throw new Error(result.failure);
    expect(result.inputs).toBe(RUNS);
  });
});
