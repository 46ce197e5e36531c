import { SaidError, type SaidKey, said } from '../../core/text/said';
import { HandlerError } from '../router';

/**
 * A check's failure as the handler's refusal: its own Said when it has one, else its English words
 * (rules, rates, backups: checks that explain themselves), else the generic sentence `fallback`.
 */
export function refusal(e: unknown, fallback: SaidKey): HandlerError {
  if (e instanceof SaidError) return new HandlerError(e.refusal, e.said);
  return new HandlerError(
    'bad_message',
    e instanceof Error ? said('errorInvalid', e.message) : said(fallback),
  );
}
