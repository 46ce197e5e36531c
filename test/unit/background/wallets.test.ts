import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { linkCommitment } from '../../../src/background/services/rails/card';
import { Vault } from '../../../src/background/services/vault';
import {
  CARD_PAGE_WAIT_MS,
  CardLinkService,
  limitCard,
  type PendingCardLink,
  removeRail,
  setDefaultRail,
} from '../../../src/background/services/wallets';
import { PayboundDb, type SubscriptionRecord } from '../../../src/db/schema';
import { getSetting, setSetting } from '../../../src/db/settings';

let db: PayboundDb;
afterEach(async () => {
  await db.delete();
});

function setup(claim: ConstructorParameters<typeof CardLinkService>[0]['claim']) {
  db = new PayboundDb(`w-${Math.random()}`);
  let key: string | undefined;
  const vault = new Vault(db, {
    get: async () => key,
    set: async (k) => {
      key = k;
    },
  });
  let link: PendingCardLink | undefined;
  const store = {
    get: async () => link,
    set: async (l: PendingCardLink | undefined) => {
      link = l;
    },
  };
  const opened: string[] = [];
  let now = 1_000_000;
  const links = new CardLinkService({
    db,
    vault,
    store,
    openTab: async (url) => {
      opened.push(url);
    },
    ...(claim ? { claim } : {}),
    now: () => now,
  });
  return {
    links,
    opened,
    vault,
    link: () => link,
    setLink: (l: PendingCardLink) => {
      link = l;
    },
    later: (ms: number) => {
      now += ms;
    },
  };
}

describe('linking a card', () => {
  it('needs a card service: the one given, else the configured one', async () => {
    const { links, opened } = setup(undefined);
    await expect(links.start()).rejects.toMatchObject({ said: { key: 'errorNoCardService' } });
    await setSetting(db, 'cardServiceUrl', 'https://cards.example/');
    await links.start();
    expect(opened[0]).toMatch(/^https:\/\/cards\.example\/link\?state=/);
  });

  it("opens the service's page with the state and the secret's hash, never the secret", async () => {
    const { links, opened, link } = setup(undefined);
    await links.start('https://cards.example');
    const pending = link();
    const url = new URL(opened[0] ?? '');
    expect(url.searchParams.get('state')).toBe(pending?.state);
    expect(url.searchParams.get('v')).toBe(await linkCommitment(pending?.secret ?? ''));
    expect(opened[0]).not.toContain(pending?.secret);
  });

  it('waits for the page a while, then gives up; a link of an older version must be started again', async () => {
    const claim = vi.fn(async () => ({ status: 'unknown' as const }));
    const { links, later, link, setLink } = setup(claim);
    expect(await links.poll()).toEqual({ status: 'none' });
    await links.start('https://cards.example');
    expect(await links.poll()).toEqual({ status: 'pending', waiting: 'page' });
    later(CARD_PAGE_WAIT_MS);
    expect(await links.poll()).toMatchObject({ status: 'failed', said: { key: 'cardPageNeverOpened' } });
    expect(link()).toBeUndefined();
    setLink({ serviceUrl: 'https://cards.example', state: 's' });
    expect(await links.poll()).toMatchObject({ status: 'failed', said: { key: 'cardLinkOutdated' } });
    expect(link()).toBeUndefined();
  });

  it('stores the claimed card as a wallet, once', async () => {
    const claim = vi
      .fn()
      .mockResolvedValueOnce({ status: 'pending' })
      .mockResolvedValueOnce({ status: 'linked', token: 'tok', brand: 'visa', last4: '4242' });
    const { links, link } = setup(claim);
    await links.start('https://cards.example');
    expect(await links.poll()).toEqual({ status: 'pending', waiting: 'card' });
    const linked = await links.poll();
    expect(linked).toMatchObject({ status: 'linked', label: 'Visa •••• 4242' });
    const rails = await db.rails.toArray();
    expect(rails).toMatchObject([
      { kind: 'card', config: { serviceUrl: 'https://cards.example', token: 'tok' } },
    ]);
    expect(link()).toBeUndefined();
    expect(await links.poll()).toEqual({ status: 'none' });
  });
});

describe('choosing and limiting wallets', () => {
  it('the default must be a linked wallet; card limits only for a card', async () => {
    const { vault } = setup(undefined);
    await expect(setDefaultRail(db, 'nope')).rejects.toMatchObject({
      refusal: 'not_found',
      said: { key: 'errorNoSuchWallet' },
    });
    await db.rails.add({ id: 'w1', kind: 'webln', label: 'w', network: 'regtest', createdAt: 1, config: {} });
    expect(await setDefaultRail(db, 'w1')).toEqual({ railId: 'w1' });
    expect(await getSetting(db, 'defaultRailId')).toBe('w1');
    await expect(
      limitCard(db, vault, 'w1', { perChargeMinor: null, perDayMinor: null }),
    ).rejects.toMatchObject({
      refusal: 'not_found',
      said: { key: 'errorNoSuchCard' },
    });
  });
});

describe('unlinking a card', () => {
  /** A linked card with plans on it and on another wallet; unlinked against `service`. */
  async function unlinkWith(service: (url: string, init: RequestInit) => Promise<Response>) {
    const claim = vi.fn().mockResolvedValue({ status: 'linked', token: 'tok', brand: 'visa', last4: '4242' });
    const { links, vault } = setup(claim);
    await links.start('https://cards.example');
    await links.poll();
    const [card] = await db.rails.toArray();
    if (!card) throw new Error('no card linked');
    const plan = (id: string, railId: string, state: SubscriptionRecord['state']) =>
      ({ id, site: 'app.example', railId, rail: 'card', state, updatedAt: 1 }) as SubscriptionRecord;
    await db.subscriptions.bulkAdd([
      plan('on-card', card.id, 'active'),
      plan('elsewhere', 'ln-1', 'active'),
      plan('ended', card.id, 'ended'),
    ]);
    const calls: string[] = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push(`${init.method} ${url}`);
      return service(url, init);
    });
    try {
      expect(await removeRail(db, vault, card.id)).toEqual({ removed: true });
    } finally {
      vi.unstubAllGlobals();
    }
    expect(calls).toEqual(['DELETE https://cards.example/api/device']);
    expect(await db.rails.count()).toBe(0);
    return Object.fromEntries((await db.subscriptions.toArray()).map((s) => [s.id, s.state]));
  }

  it('revokes the device at the card service and shows the card’s plans ending with their period', async () => {
    const states = await unlinkWith(
      async () => new Response(JSON.stringify({ unlinked: true, cardDetached: true, plansCanceled: true })),
    );
    expect(states).toEqual({ 'on-card': 'canceling', elsewhere: 'active', ended: 'ended' });
  });

  it('a card service that cannot be reached still renews the plans: they are not shown as ending', async () => {
    const states = await unlinkWith(async () => {
      throw new TypeError('Failed to fetch');
    });
    expect(states).toEqual({ 'on-card': 'active', elsewhere: 'active', ended: 'ended' });
  });
});
