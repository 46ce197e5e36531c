/**
 * Linking, testing and unlinking wallets from the settings page. A connection string is checked
 * for its shape before anything is stored; "test" asks the wallet for its balance.
 */
import { base64urlnopad } from '@scure/base';
import * as v from 'valibot';
import type { AddRailInput } from '../../core/config/rails';
import { english, type Said, SaidError, said } from '../../core/text/said';
import type { PayboundDb, RailRecord } from '../../db/schema';
import { getSetting, setSetting } from '../../db/settings';
import type { MessageOutput } from '../../messages/map';
import { type CardLimits, claimCard, linkCommitment, revokeCard, setCardLimits } from './rails/card';
import { railFor } from './rails/index';
import { RailError } from './rails/types';
import type { Vault } from './vault';

export class LinkError extends Error {}

export async function addRail(
  db: PayboundDb,
  vault: Vault,
  input: v.InferOutput<typeof AddRailInput>,
): Promise<RailRecord> {
  const base = {
    id: `${input.kind}-${crypto.randomUUID().slice(0, 8)}`,
    label: input.label,
    network: input.network,
    createdAt: Date.now(),
  };
  const record: RailRecord =
    input.kind === 'lnbits'
      ? { ...base, kind: 'lnbits', config: { url: input.url, adminKey: input.adminKey } }
      : input.kind === 'nwc'
        ? { ...base, kind: 'nwc', config: { uri: input.uri } }
        : input.kind === 'ethereum'
          ? { ...base, kind: 'ethereum', config: {} }
          : { ...base, kind: 'webln', config: {} };
  // A wallet that does not answer is refused here, with the reason, rather than failing a payment later.
  if (record.kind === 'lnbits' || record.kind === 'nwc') {
    try {
      await railFor(record).balance();
    } catch (e) {
      throw new LinkError(`the wallet did not answer: ${e instanceof Error ? e.message : 'no reason given'}`);
    }
  }
  await db.rails.add(await vault.sealRail(record));
  return record;
}

/** The wallet's balance in msat, or why it could not be read. */
export async function testRail(
  db: PayboundDb,
  vault: Vault,
  railId: string,
): Promise<{ ok: true; balanceMsat: string } | { ok: false; reason: string; said: Said }> {
  const no = (s: Said) => ({ ok: false as const, reason: english(s), said: s });
  const record = await db.rails.get(railId);
  if (!record) return no(said('errorNoSuchWallet'));
  if (record.kind === 'webln' || record.kind === 'ethereum') return no(said('walletPageOnly'));
  if (record.kind === 'card') return no(said('walletCardNoBalance'));
  try {
    return { ok: true, balanceMsat: (await railFor(await vault.open(record)).balance()).toString() };
  } catch (e) {
    return no(
      e instanceof RailError
        ? e.said
        : e instanceof Error
          ? said('walletRefused', e.message)
          : said('walletTimeout'),
    );
  }
}

/** Chooses the wallet that pays. */
export async function setDefaultRail(db: PayboundDb, railId: string): Promise<{ railId: string }> {
  if (!(await db.rails.get(railId))) throw new SaidError(said('errorNoSuchWallet'), 'not_found');
  await setSetting(db, 'defaultRailId', railId);
  return { railId };
}

/** Unlinks a wallet; a card's device token is revoked at the card service first, when it answers. */
export async function removeRail(
  db: PayboundDb,
  vault: Vault,
  railId: string,
): Promise<{ removed: boolean }> {
  const record = await db.rails.get(railId);
  if (record?.kind === 'card') {
    // The card service cancels the card's plans at their periods' ends as it unlinks the device.
    // Shown that way here only once it said so: a service that could not be reached still renews them.
    const revoked = await revokeCard(await vault.open(record)).catch(() => ({ plansCanceled: false }));
    if (revoked.plansCanceled) {
      await db.subscriptions
        .where('state')
        .equals('active')
        .filter((s) => s.railId === railId)
        .modify({ state: 'canceling', updatedAt: Date.now() });
    }
  }
  await db.rails.delete(railId);
  return { removed: record !== undefined };
}

/** A linked card's own limits, which the card service enforces. */
export async function limitCard(
  db: PayboundDb,
  vault: Vault,
  railId: string,
  limits: { perChargeMinor: string | null; perDayMinor: string | null },
): Promise<CardLimits> {
  const record = await db.rails.get(railId);
  if (record?.kind !== 'card') throw new SaidError(said('errorNoSuchCard'), 'not_found');
  return setCardLimits(await vault.open(record), limits);
}

/** How long linking waits for the card service's page to open in its tab before giving up. */
export const CARD_PAGE_WAIT_MS = 2 * 60 * 1000;

/** A card link the user is finishing in a tab (kept in session memory: it outlives the worker). */
export const PendingCardLink = v.object({
  serviceUrl: v.string(),
  state: v.string(),
  /** Absent from links started by an older version: those cannot be claimed. */
  secret: v.optional(v.string()),
  startedAt: v.optional(v.number()),
});
export type PendingCardLink = v.InferOutput<typeof PendingCardLink>;

export interface CardLinkDeps {
  db: PayboundDb;
  vault: Vault;
  store: {
    get(): Promise<PendingCardLink | undefined>;
    set(link: PendingCardLink | undefined): Promise<void>;
  };
  /** Opens a tab on the card service: a navigation no page started, as the service insists. */
  openTab: (url: string) => Promise<void>;
  claim?: typeof claimCard;
  now?: () => number;
}

/**
 * Linking a card: the card service's page opens in a tab with a random `state` and the hash of a
 * secret; the settings page polls until the card is saved there, then the device token is claimed
 * with the secret and stored as a card wallet.
 */
export class CardLinkService {
  private readonly now: () => number;
  private readonly claim: typeof claimCard;

  constructor(private readonly deps: CardLinkDeps) {
    this.now = deps.now ?? Date.now;
    this.claim = deps.claim ?? claimCard;
  }

  async start(serviceUrl?: string): Promise<{ started: true }> {
    const url = serviceUrl ?? (await getSetting(this.deps.db, 'cardServiceUrl'));
    if (!url) throw new SaidError(said('errorNoCardService'));
    const random = () => base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(32)));
    const state = random();
    const secret = random();
    // The secret leaves the extension only in the claim; the tab's URL carries just its hash.
    await this.deps.store.set({ serviceUrl: url, state, secret, startedAt: this.now() });
    await this.deps.openTab(
      `${url.replace(/\/+$/, '')}/link?state=${state}&v=${await linkCommitment(secret)}`,
    );
    return { started: true };
  }

  async poll(): Promise<MessageOutput<'card.linkPoll'>> {
    const { store } = this.deps;
    const got = await store.get();
    if (!got) return { status: 'none' };
    // A link started before the secret existed cannot be claimed any more: start again.
    if (typeof got.secret !== 'string') {
      await store.set(undefined);
      return failed(said('cardLinkOutdated'));
    }
    const r = await this.claim(got.serviceUrl, got.state, got.secret).catch((e: unknown) => ({
      status: 'failed' as const,
      reason: e instanceof Error ? e.message : 'the card service did not answer',
    }));
    if (r.status === 'pending') return { status: 'pending', waiting: 'card' };
    // Polled before the tab reached the card service (a busy machine, a slow network): the link
    // is not there yet. Wait for it a while rather than give up on a link that is coming.
    if (r.status === 'unknown') {
      if (this.now() - (got.startedAt ?? 0) < CARD_PAGE_WAIT_MS)
        return { status: 'pending', waiting: 'page' };
      await store.set(undefined);
      return failed(said('cardPageNeverOpened'));
    }
    await store.set(undefined);
    if (r.status === 'failed') return r;
    const label = `${r.brand.charAt(0).toUpperCase()}${r.brand.slice(1)} •••• ${r.last4}`;
    const rail = {
      id: `card-${r.last4}-${this.now().toString(36)}`,
      kind: 'card' as const,
      label,
      network: 'mainnet' as const,
      createdAt: this.now(),
      config: { serviceUrl: got.serviceUrl, token: r.token },
    };
    await this.deps.db.rails.add(await this.deps.vault.sealRail(rail));
    return { status: 'linked', railId: rail.id, label };
  }
}

const failed = (s: Said) => ({ status: 'failed' as const, reason: english(s), said: s });
