/**
 * The exchange-rate sources a user (or a provisioning file) may choose: a known kind, optionally at
 * a URL of their own. A custom URL has to say which known shape it speaks, because Paybound reads
 * no format of its own.
 */
import * as v from 'valibot';
import { RATE_SOURCE_KINDS } from '../money/rate-sources';

export const RateSourceSchema = v.strictObject({
  kind: v.picklist(RATE_SOURCE_KINDS, 'a rate source is one of coinbase, kraken, mempool, alby, yadio'),
  /** Base URL answering the kind's own paths (e.g. a mirror of mempool.space); absent: the public API. */
  url: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(2000),
      v.url('a rate source URL must be a URL'),
      // The kind's path and query are appended, so the base carries neither.
      v.regex(/^https?:\/\/[^?#]+$/, 'a rate source URL is http(s), without query or fragment'),
    ),
  ),
});

export const RateSourcesSchema = v.pipe(v.array(RateSourceSchema), v.maxLength(8, 'at most 8 rate sources'));
