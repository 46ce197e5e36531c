/** What web pages send (relayed by the bridge): the 402s they met, and how their payments went. */
import { english, said } from '../../core/text/said';
import type { ChallengeVerdict } from '../../messages/map';
import type { SenderContext } from '../sender';
import { paymentHeaders } from '../services/observed';
import type { HandlerGroup, Services } from './services';

type HeaderList = readonly (readonly [string, string])[];

/** Without its fragment, which no request carries. */
function unfragmented(url: string): string | undefined {
  try {
    const u = new URL(url);
    u.hash = '';
    return u.href;
  } catch {
    return undefined;
  }
}

/** A page-load report from the tab's top frame, about the URL that frame shows, asked with GET. */
function ownPageLoad(input: { url: string; method: string }, sender: SenderContext): boolean {
  const shown = sender.url !== undefined ? unfragmented(sender.url) : undefined;
  return (
    sender.frameId === 0 &&
    sender.tabId !== undefined &&
    input.method.toUpperCase() === 'GET' &&
    shown !== undefined &&
    shown === unfragmented(input.url)
  );
}

export function pageHandlers({
  payments,
  responses,
}: Pick<Services, 'payments' | 'responses'>): HandlerGroup<
  'challenge.seen' | 'page.payResult' | 'payment.delivered'
> {
  /**
   * The headers a page's 402 report stands for. In Firefox every report claims the response
   * webRequest saw, and one whose challenge fetch() hid takes that response's headers.
   */
  async function reportedHeaders(
    input: { url: string; method: string; headers: [string, string][] },
    sender: SenderContext,
  ): Promise<HeaderList | undefined> {
    if (!responses) return input.headers;
    const seen = responses.take({
      tabId: sender.tabId ?? -1,
      frameId: sender.frameId ?? 0,
      method: input.method,
      url: input.url,
    });
    if (paymentHeaders(input.headers).length > 0) return input.headers;
    const headers = await seen;
    return headers && headers.length > 0 ? headers : undefined;
  }

  return {
    'challenge.seen': async (input, sender) => {
      const { navigation, carried, ...report } = input;
      // A page load's 402 is the top frame's own: its URL is the one the browser gives for the
      // frame, asked again with GET. Any other report of one is refused, so a page cannot make the
      // worker quote, or hand a page-load token to, a URL it is not showing.
      if (navigation && !ownPageLoad(input, sender))
        return { action: 'pass', reason: english(said('refusedUnknown')), said: said('refusedUnknown') };
      const seen = await reportedHeaders(report, sender);
      // A 402 without any challenge (no payment header, no x402 body): nothing to record.
      const headers = seen ?? (input.body !== undefined ? input.headers : undefined);
      if (!headers)
        return { action: 'pass', reason: english(said('refusedUnknown')), said: said('refusedUnknown') };
      // The page hears a paid verdict as soon as there is one; the ledger is written meanwhile.
      return new Promise<ChallengeVerdict>((resolve, reject) => {
        let answered = false;
        payments
          .onChallenge({
            ...report,
            headers,
            origin: sender.origin,
            ...(sender.topOrigin !== undefined ? { topOrigin: sender.topOrigin } : {}),
            tabId: sender.tabId,
            via: navigation ? 'navigation' : 'fetch',
            ...(carried ? { carried } : {}),
            answerEarly: (verdict) => {
              answered = true;
              resolve(verdict);
            },
          })
          .then(resolve, (e: unknown) => {
            if (answered) console.error('paybound: after the paid verdict', e);
            else reject(e);
          });
      });
    },
    'page.payResult': (input, sender) => payments.pageResult(input, sender),
    'payment.delivered': (input, sender) => payments.delivered(input, sender),
  };
}
