import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { DeclarativeNetRequest } from 'webextension-polyfill';
import { type RuleApi, TokenService, tokenScope } from '../../../src/background/services/tokens';
import { PayboundDb } from '../../../src/db/schema';

/** A session-rule store that behaves like the browser's: unique ids, removals then additions. */
function fakeRules() {
  const rules = new Map<number, DeclarativeNetRequest.Rule>();
  const api: RuleApi = {
    async updateSessionRules({ removeRuleIds = [], addRules = [] }) {
      for (const id of removeRuleIds) rules.delete(id);
      for (const r of addRules) {
        if (rules.has(r.id)) throw new Error(`Rule with id ${r.id} does not have a unique ID`);
        rules.set(r.id, r);
      }
    },
    async getSessionRules() {
      return [...rules.values()];
    },
  };
  return { api, rules };
}

const APP = { site: 'app.example', resource: 'fetch' } as const;

describe('TokenService', () => {
  it('scopes a token to the origin and the path up to its last slash', () => {
    expect(tokenScope('https://app.example:8443/api/v1/generate?x=1')).toEqual({
      origin: 'https://app.example:8443',
      pathPrefix: '/api/v1/',
    });
  });

  it('concurrent stores for one scope leave exactly one token and one rule, the last one', async () => {
    const db = new PayboundDb(`t-${Math.random()}`);
    const { api, rules } = fakeRules();
    const tokens = new TokenService(db, api);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        tokens.store(APP, 'https://app.example/api/generate', `L402 m${i}:p`, `pay-${i}`),
      ),
    );
    const rows = await db.tokens.toArray();
    expect(rows).toHaveLength(1);
    expect([...rules.keys()]).toEqual([rows[0]?.id]);
    expect(rows[0]?.authorization).toBe('L402 m9:p');
    expect(await tokens.matching(APP, 'https://app.example/api/other')).toMatchObject({
      authorization: 'L402 m9:p',
    });
    expect(await tokens.matching(APP, 'https://app.example/elsewhere')).toBeUndefined();
    await db.delete();
  });

  it('a worker started again goes on with fresh ids: its rules never take an id a row holds', async () => {
    const db = new PayboundDb(`t-${Math.random()}`);
    const { api, rules } = fakeRules();
    await new TokenService(db, api).store(APP, 'https://app.example/a/x', 'L402 a:1', 'p1');
    await new TokenService(db, api).store(APP, 'https://app.example/b/x', 'L402 b:1', 'p2');
    const again = new TokenService(db, api);
    await again.store(APP, 'https://app.example/a/x', 'L402 a:2', 'p3');
    const rows = await db.tokens.toArray();
    expect(rows.map((r) => r.authorization).sort()).toEqual(['L402 a:2', 'L402 b:1']);
    expect([...rules.keys()].sort()).toEqual(rows.map((r) => r.id).sort());
    expect(new Set(rows.map((r) => r.id)).size).toBe(2);
    await db.delete();
  });

  it('a rule the browser refuses leaves neither token of the scope: no old rule over the new credential', async () => {
    const db = new PayboundDb(`t-${Math.random()}`);
    const { api, rules } = fakeRules();
    const tokens = new TokenService(db, api);
    await tokens.store(APP, 'https://app.example/api/x', 'L402 old:1', 'p1');
    const refusing: RuleApi = {
      ...api,
      async updateSessionRules(opts) {
        if (opts.addRules?.length) throw new Error('quota');
        return api.updateSessionRules(opts);
      },
    };
    const failing = new TokenService(db, refusing);
    await expect(failing.store(APP, 'https://app.example/api/x', 'L402 new:1', 'p2')).rejects.toThrow(
      'quota',
    );
    expect(await db.tokens.count()).toBe(0);
    expect(rules.size).toBe(0);
    // And the next store in that scope works from a clean slate.
    await tokens.store(APP, 'https://app.example/api/x', 'L402 next:1', 'p3');
    expect((await db.tokens.toArray()).map((r) => r.authorization)).toEqual(['L402 next:1']);
    expect(rules.size).toBe(1);
    await db.delete();
  });

  it('rebuilds the session rules from the database after a browser restart', async () => {
    const db = new PayboundDb(`t-${Math.random()}`);
    const first = fakeRules();
    const service = new TokenService(db, first.api);
    await service.store({ site: 'a.example', resource: 'fetch' }, 'https://a.example/x/y', 'L402 a:b', 'p1');
    await service.store(
      { site: 'a.example', resource: 'navigation', tabId: 7 },
      'https://a.example/page',
      'L402 c:d',
      'p2',
    );
    const afterRestart = fakeRules();
    await new TokenService(db, afterRestart.api).syncRules();
    // The page-load token was for one tab of the browser before: tab ids start again, so it is gone.
    expect([...afterRestart.rules.values()].map((r) => r.condition.urlFilter)).toEqual([
      '|https://a.example/x/',
    ]);
    expect(await db.tokens.count()).toBe(1);
    await db.delete();
  });

  it('without session rules, drops page-load tokens when the browser started, and only then', async () => {
    const db = new PayboundDb(`t-${Math.random()}`);
    let started = false;
    const service = new TokenService(db, undefined, Date.now, async () => started);
    await service.store({ site: 'a.example', resource: 'fetch' }, 'https://a.example/x/y', 'L402 a:b', 'p1');
    await service.store(
      { site: 'a.example', resource: 'navigation', tabId: 7 },
      'https://a.example/page',
      'L402 c:d',
      'p2',
    );
    // Only the worker started again: tab ids still stand, and so do the tab's tokens.
    await service.syncRules();
    expect(await db.tokens.count()).toBe(2);
    // The browser started: tab 7 may now be another page entirely.
    started = true;
    await service.syncRules();
    expect((await db.tokens.toArray()).map((t) => t.authorization)).toEqual(['L402 a:b']);
    await db.delete();
  });

  it('a token serves only the site that paid, and only the kind of request it paid for', async () => {
    const db = new PayboundDb(`t-${Math.random()}`);
    const { api, rules } = fakeRules();
    const tokens = new TokenService(db, api);
    await tokens.store(
      { site: 'alice.github.io', resource: 'fetch' },
      'https://api.example.com/v1/gen',
      'L402 a:1',
      'p1',
    );
    await tokens.store(
      { site: 'example.com', resource: 'navigation', tabId: 3 },
      'https://api.example.com/v1/page',
      'L402 b:2',
      'p2',
    );
    const [fetchRule, pageRule] = [...rules.values()];
    expect(fetchRule?.condition).toEqual({
      urlFilter: '|https://api.example.com/v1/',
      resourceTypes: ['xmlhttprequest'],
      initiatorDomains: ['alice.github.io'],
    });
    expect(pageRule?.condition).toEqual({
      urlFilter: '|https://api.example.com/v1/',
      resourceTypes: ['main_frame'],
      tabIds: [3],
    });
    // Another site's token for the same API is its own, and replacing it leaves this one alone.
    await tokens.store(
      { site: 'bob.github.io', resource: 'fetch' },
      'https://api.example.com/v1/gen',
      'L402 c:3',
      'p3',
    );
    expect(
      await tokens.matching({ site: 'alice.github.io', resource: 'fetch' }, 'https://api.example.com/v1/x'),
    ).toMatchObject({
      authorization: 'L402 a:1',
    });
    expect(rules.size).toBe(3);
    await tokens.dropTabTokens(3);
    expect(rules.size).toBe(2);
    await db.delete();
  });
});
