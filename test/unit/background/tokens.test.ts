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
        tokens.store('https://app.example/api/generate', `L402 m${i}:p`, `pay-${i}`),
      ),
    );
    const rows = await db.tokens.toArray();
    expect(rows).toHaveLength(1);
    expect([...rules.keys()]).toEqual([rows[0]?.id]);
    expect(rows[0]?.authorization).toBe('L402 m9:p');
    expect(await tokens.matching('https://app.example/api/other')).toMatchObject({
      authorization: 'L402 m9:p',
    });
    expect(await tokens.matching('https://app.example/elsewhere')).toBeUndefined();
    await db.delete();
  });

  it('rebuilds the session rules from the database after a browser restart', async () => {
    const db = new PayboundDb(`t-${Math.random()}`);
    const first = fakeRules();
    await new TokenService(db, first.api).store('https://a.example/x/y', 'L402 a:b', 'p1');
    const afterRestart = fakeRules();
    await new TokenService(db, afterRestart.api).syncRules();
    expect([...afterRestart.rules.values()].map((r) => r.condition.urlFilter)).toEqual([
      '|https://a.example/x/',
    ]);
    await db.delete();
  });
});
