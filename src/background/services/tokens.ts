/**
 * Paid L402 tokens, cached per API origin and path prefix, and attached by the browser itself:
 * each token is a declarativeNetRequest session rule that sets `Authorization` on matching
 * requests. Pages pay nothing extra per request, top-level page loads get the header too, and the
 * page's script never holds a token before it has paid for one.
 */
import type { DeclarativeNetRequest } from 'webextension-polyfill';
import type { PayboundDb, TokenRecord } from '../../db/schema';

export interface RuleApi {
  updateSessionRules(options: DeclarativeNetRequest.UpdateSessionRulesOptionsType): Promise<void>;
  getSessionRules(): Promise<DeclarativeNetRequest.Rule[]>;
}

const RESOURCE_TYPES: DeclarativeNetRequest.ResourceType[] = [
  'main_frame',
  'sub_frame',
  'xmlhttprequest',
  'image',
  'media',
  'other',
];

/** The scope a token covers: the URL's origin and its path up to the last '/'. */
export function tokenScope(url: string): { origin: string; pathPrefix: string } {
  const u = new URL(url);
  return {
    origin: `${u.protocol}//${u.host}`,
    pathPrefix: u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1),
  };
}

// urlFilter gives '*', '^' and '|' special meanings; a scope containing them is not cached.
const FILTER_SAFE = /^[^*^|]*$/;

function ruleFor(token: Required<Pick<TokenRecord, 'id'>> & TokenRecord): DeclarativeNetRequest.Rule {
  return {
    id: token.id,
    priority: 1,
    action: {
      type: 'modifyHeaders',
      requestHeaders: [{ header: 'authorization', operation: 'set', value: token.authorization }],
    },
    condition: { urlFilter: `|${token.origin}${token.pathPrefix}`, resourceTypes: RESOURCE_TYPES },
  };
}

export class TokenService {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: PayboundDb,
    private readonly rules: RuleApi,
    private readonly now: () => number = Date.now,
  ) {}

  /** The token that the browser attached to a request for this URL, if any (longest prefix). */
  async matching(url: string): Promise<TokenRecord | undefined> {
    const { origin } = tokenScope(url);
    const path = new URL(url).pathname;
    const candidates = await this.db.tokens
      .where('[origin+pathPrefix]')
      .between([origin, ''], [origin, '\uffff'])
      .toArray();
    return candidates
      .filter((t) => path.startsWith(t.pathPrefix))
      .sort((a, b) => b.pathPrefix.length - a.pathPrefix.length)[0];
  }

  /**
   * Keeps the token for its scope, replacing the one before. Stores run one after another: the
   * database row and the session rule of a scope must change together, or a stale rule could
   * outlive its row.
   */
  store(url: string, authorization: string, paymentId: string): Promise<void> {
    const run = this.queue.then(() => this.storeNow(url, authorization, paymentId));
    this.queue = run.catch(() => {});
    return run;
  }

  private async storeNow(url: string, authorization: string, paymentId: string): Promise<void> {
    const scope = tokenScope(url);
    if (!FILTER_SAFE.test(scope.origin + scope.pathPrefix)) return;
    const record = { ...scope, authorization, paymentId, createdAt: this.now() };
    const { id, previousId } = await this.db.transaction('rw', this.db.tokens, async () => {
      const previous = await this.db.tokens
        .where('[origin+pathPrefix]')
        .equals([scope.origin, scope.pathPrefix])
        .first();
      if (previous?.id !== undefined) await this.db.tokens.delete(previous.id);
      return { id: await this.db.tokens.add(record), previousId: previous?.id };
    });
    await this.rules.updateSessionRules({
      removeRuleIds: previousId !== undefined ? [previousId] : [],
      addRules: [ruleFor({ ...record, id })],
    });
  }

  async drop(token: TokenRecord): Promise<void> {
    if (token.id === undefined) return;
    await this.db.tokens.delete(token.id);
    await this.rules.updateSessionRules({ removeRuleIds: [token.id] });
  }

  /** Session rules vanish with the browser; the tokens do not. Re-create the rules on start. */
  async syncRules(): Promise<void> {
    const [tokens, existing] = await Promise.all([this.db.tokens.toArray(), this.rules.getSessionRules()]);
    await this.rules.updateSessionRules({
      removeRuleIds: existing.map((r) => r.id),
      addRules: tokens.filter((t): t is TokenRecord & { id: number } => t.id !== undefined).map(ruleFor),
    });
  }
}
