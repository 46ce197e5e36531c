/**
 * Paid L402 tokens, cached per paying site, API origin and path prefix. A token is always an
 * `Authorization` value (kept as `TokenRecord.authorization`): credentials in other headers
 * (x402's) prove one payment for one request and are never stored here.
 *
 * How a token reaches requests (docs/permissions.md): a 402 from the paying site in the token's
 * scope is answered with the token, nothing charged, and the page's script keeps it for the
 * document's later requests in that scope (`PaymentService.held`). In Firefox each token is also
 * a declarativeNetRequest session rule that sets `Authorization` on matching requests, and a
 * page-load token reaches its page load only that way. Chromium has no such rules: it would
 * slow every request of every page. Either way the page's script never holds a token before it
 * has paid for one.
 *
 * A token stays with the site that paid (docs/threat-model.md): a fetch/XHR token goes only to
 * that site's pages (the site comes from the browser; in Firefox's rule, `initiatorDomains`), a
 * page-load token only to the top-level page load of the tab that paid (`tabIds`). Another
 * site's fetch, image or frame pointed at the same API gets nothing.
 */

import type { DeclarativeNetRequest } from 'webextension-polyfill';
import type { PayboundDb, TokenRecord } from '../../db/schema';
import { mark } from '../trace';

export interface RuleApi {
  updateSessionRules(options: DeclarativeNetRequest.UpdateSessionRulesOptionsType): Promise<void>;
  getSessionRules(): Promise<DeclarativeNetRequest.Rule[]>;
}

/** What a token pays for, as the browser names the request types. */
const RESOURCE_TYPES: Record<TokenRecord['resource'], DeclarativeNetRequest.ResourceType[]> = {
  fetch: ['xmlhttprequest'],
  navigation: ['main_frame'],
};

/** Who paid for a token and what for. */
export interface TokenOwner {
  site: string;
  resource: TokenRecord['resource'];
  tabId?: number;
}

/** The scope a token covers: the URL's origin and its path up to the last '/'. */
export function tokenScope(url: string): { origin: string; pathPrefix: string } {
  const u = new URL(url);
  return {
    origin: `${u.protocol}//${u.host}`,
    pathPrefix: u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1),
  };
}

/**
 * A request's scope: exactly what one token rule would cover. The site that pays, the kind of
 * request (a page's fetch/XHR, or a top-level page load, which is also its tab's), the API origin,
 * and the path prefix. Two requests in one scope are served by one L402 token; a payment whose
 * outcome is not yet known holds back new charges in its scope (see `PaymentService`). Undefined
 * for a URL that does not parse (it has no scope, and no token either).
 */
export function scopeKey(owner: TokenOwner, url: string): string | undefined {
  let scope: ReturnType<typeof tokenScope>;
  try {
    scope = tokenScope(url);
  } catch {
    return undefined;
  }
  const tab = owner.resource === 'navigation' ? (owner.tabId ?? -1) : null;
  return JSON.stringify([owner.site, owner.resource, tab, scope.origin, scope.pathPrefix]);
}

/** Session rule ids from here up are subscriber rules; token rules take their row's id below. */
export const SUBSCRIBER_RULE_BASE = 1_000_000;

// urlFilter gives '*', '^' and '|' special meanings; a scope containing them is not cached.
const FILTER_SAFE = /^[^*^|]*$/;

function ruleFor(token: Required<Pick<TokenRecord, 'id'>> & TokenRecord): DeclarativeNetRequest.Rule {
  const owner: DeclarativeNetRequest.RuleConditionType =
    token.resource === 'navigation'
      ? { tabIds: [token.tabId ?? -1] }
      : { initiatorDomains: [token.site.replace(/^\[|\]$/g, '')] };
  return {
    id: token.id,
    priority: 1,
    action: {
      type: 'modifyHeaders',
      requestHeaders: [{ header: 'authorization', operation: 'set', value: token.authorization }],
    },
    condition: {
      urlFilter: `|${token.origin}${token.pathPrefix}`,
      resourceTypes: RESOURCE_TYPES[token.resource],
      ...owner,
    },
  };
}

/** One row per scope and owner kind, as the `[site+resource+origin+pathPrefix]` index tells them apart. */
const rowSlot = (t: Pick<TokenRecord, 'site' | 'resource' | 'origin' | 'pathPrefix'>) =>
  JSON.stringify([t.site, t.resource, t.origin, t.pathPrefix]);

interface TokenIndex {
  bySlot: Map<string, number>;
  next: number;
}

export class TokenService {
  private queue: Promise<unknown> = Promise.resolve();
  private index?: Promise<TokenIndex>;

  /**
   * `rules`: Firefox's session rules, or none (Chromium). Without rules, `browserStarted` tells
   * whether this is the browser session's first start of the worker (tab ids start again then).
   */
  constructor(
    private readonly db: PayboundDb,
    private readonly rules: RuleApi | undefined,
    private readonly now: () => number = Date.now,
    private readonly browserStarted: () => Promise<boolean> = async () => false,
  ) {}

  /**
   * Whether the browser attaches tokens itself (session rules). Then a token must be in place
   * before its page hears of it; otherwise the page attaches what it is handed, and the row only
   * serves the site's other documents.
   */
  get browserAttaches(): boolean {
    return this.rules !== undefined;
  }

  /** The token this owner's requests to this URL carry, if any (longest prefix). */
  async matching(owner: TokenOwner, url: string): Promise<TokenRecord | undefined> {
    const { origin } = tokenScope(url);
    const path = new URL(url).pathname;
    const candidates = await this.db.tokens
      .where('[site+resource+origin+pathPrefix]')
      .between([owner.site, owner.resource, origin, ''], [owner.site, owner.resource, origin, '\uffff'])
      .toArray();
    return candidates
      .filter((t) => path.startsWith(t.pathPrefix) && (owner.resource === 'fetch' || t.tabId === owner.tabId))
      .sort((a, b) => b.pathPrefix.length - a.pathPrefix.length)[0];
  }

  /**
   * Keeps the token for its owner and scope, replacing that owner's token before. Stores run one
   * after another: the database row and the session rule of a scope must change together, or a
   * stale rule could outlive its row. `authorization` is the value of an `Authorization`
   * credential: the only header a token rule sets.
   */
  store(owner: TokenOwner, url: string, authorization: string, paymentId: string): Promise<void> {
    const run = this.queue.then(() => this.storeNow(owner, url, authorization, paymentId));
    this.queue = run.catch(() => {});
    return run;
  }

  private async storeNow(
    owner: TokenOwner,
    url: string,
    authorization: string,
    paymentId: string,
  ): Promise<void> {
    const scope = tokenScope(url);
    if (!FILTER_SAFE.test(scope.origin + scope.pathPrefix)) return;
    if (owner.resource === 'navigation' && owner.tabId === undefined) return;
    const record: TokenRecord = {
      site: owner.site,
      resource: owner.resource,
      ...(owner.resource === 'navigation' ? { tabId: owner.tabId } : {}),
      ...scope,
      authorization,
      paymentId,
      createdAt: this.now(),
    };
    // The row and its rule are written side by side: the rule's id is the row's, chosen here.
    const index = await this.rows();
    const slot = rowSlot(record);
    const previousId = index.bySlot.get(slot);
    const id = index.next++;
    const old = previousId !== undefined ? [previousId] : [];
    try {
      await Promise.all([
        this.db.transaction('rw', this.db.tokens, async () => {
          if (previousId !== undefined) await this.db.tokens.delete(previousId);
          await this.db.tokens.add({ ...record, id });
          mark('token row written');
        }),
        this.rules?.updateSessionRules({ removeRuleIds: old, addRules: [ruleFor({ ...record, id })] }),
      ]);
    } catch (e) {
      // Neither half may outlive the other: a rule without its row, or the old token's rule over
      // the new credential. Both tokens go; the next payment in this scope stores afresh.
      this.index = undefined;
      await Promise.allSettled([
        this.db.tokens.bulkDelete([id, ...old]),
        this.rules?.updateSessionRules({ removeRuleIds: [id, ...old] }),
      ]);
      throw e;
    }
    index.bySlot.set(slot, id);
  }

  /**
   * This worker's view of the token rows: which row holds each scope, and the next free id (a
   * rule's id is its row's). Read once; the store queue keeps it in step after that.
   */
  private rows(): Promise<TokenIndex> {
    this.index ??= this.db.tokens.toArray().then((all) => {
      const bySlot = new Map<string, number>();
      let next = 1;
      for (const t of all) {
        if (t.id === undefined) continue;
        bySlot.set(rowSlot(t), t.id);
        if (t.id >= next) next = t.id + 1;
      }
      return { bySlot, next };
    });
    this.index.catch(() => {
      this.index = undefined;
    });
    return this.index;
  }

  async drop(token: TokenRecord): Promise<void> {
    if (token.id === undefined) return;
    // The worker's view may keep naming this row for its scope: the next store there then removes
    // a row and a rule that are already gone, which changes nothing.
    await this.db.tokens.delete(token.id);
    await this.rules?.updateSessionRules({ removeRuleIds: [token.id] });
  }

  /** The tokens one payment bought (the app refused them: they are worthless). */
  async dropPayment(paymentId: string): Promise<void> {
    const bought = await this.db.tokens.filter((t) => t.paymentId === paymentId).toArray();
    for (const t of bought) await this.drop(t);
  }

  /** Every page-load token: their tabs are gone with the browser session that had them. */
  private async dropPageLoadTokens(): Promise<void> {
    const stale = (await this.db.tokens.toArray()).filter((t) => t.resource === 'navigation');
    await this.db.tokens.bulkDelete(stale.flatMap((t) => (t.id !== undefined ? [t.id] : [])));
    this.index = undefined;
  }

  /** A page-load token belongs to one tab: when the tab is gone, so is the token. */
  async dropTabTokens(tabId: number): Promise<void> {
    const gone = (await this.db.tokens.toArray()).filter(
      (t) => t.resource === 'navigation' && t.tabId === tabId,
    );
    for (const t of gone) await this.drop(t);
  }

  /**
   * Session rules vanish with the browser; the tokens do not. Re-create the rules on start. No
   * session rules at all means the browser (not just the worker) started: tab ids start again
   * then, so page-load tokens, each bound to one tab, are dropped. Without rules, the browser's
   * start is told by `browserStarted`.
   */
  async syncRules(): Promise<void> {
    if (!this.rules) {
      if (await this.browserStarted()) await this.dropPageLoadTokens();
      return;
    }
    let [tokens, all] = await Promise.all([this.db.tokens.toArray(), this.rules.getSessionRules()]);
    // Subscriber rules are the subscriptions' own (services/subscriptions.ts).
    const existing = all.filter((r) => r.id < SUBSCRIBER_RULE_BASE);
    if (existing.length === 0) {
      const stale = tokens.filter((t) => t.resource === 'navigation');
      await this.db.tokens.bulkDelete(stale.flatMap((t) => (t.id !== undefined ? [t.id] : [])));
      tokens = tokens.filter((t) => t.resource !== 'navigation');
      this.index = undefined;
    }
    await this.rules.updateSessionRules({
      removeRuleIds: existing.map((r) => r.id),
      addRules: tokens.filter((t): t is TokenRecord & { id: number } => t.id !== undefined).map(ruleFor),
    });
  }
}
