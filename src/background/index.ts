/**
 * The service worker's entry: wires the services and registers every listener at the top level,
 * so a worker the browser restarted hears the event that woke it.
 */

import { base64urlnopad } from '@scure/base';
import browser, { type Runtime, type WebRequest } from 'webextension-polyfill';
import { setMoneyLocale } from '../core/money/rates';
import { rulesToWire } from '../core/policy/rules';
import { english, type Said, SaidError, type SaidKey, said } from '../core/text/said';
import { exportBackup, importBackup } from '../db/backup';
import { recheck } from '../db/ledger';
import { getSetting, recentChallenges, setSetting } from '../db/queries';
import { PayboundDb } from '../db/schema';
import type { Broadcast } from '../messages/map';
import { headersReceivedOptions } from '../platform/capabilities';
import { AlarmRegistry } from './alarms';
import { createRouter, HandlerError } from './router';
import { originOf } from './sender';
import { ApprovalService } from './services/approvals';
import { AuthService } from './services/auth';
import { allowAutomatic, blockSite, consentView, recordApproval } from './services/consent';
import { DisputeService } from './services/disputes';
import { NoticeService } from './services/notices';
import { ObservedResponses, paymentHeaders } from './services/observed';
import { PaymentService } from './services/payments';
import { applyProvisioning } from './services/provisioning';
import { claimCard, linkCommitment, revokeCard, setCardLimits } from './services/rails/card';
import { defaultRail, railFor } from './services/rails/index';
import { migrateRateSettings, RateService } from './services/rates';
import { ReviewError, ReviewService } from './services/review';
import { loadRules, saveRules } from './services/rules';
import { spendSummary } from './services/spend';
import { generalSettings, getStatus } from './services/status';
import { TokenService } from './services/tokens';
import { Vault } from './services/vault';
import { challengeView, disputeView, paymentView, quoteView } from './services/views';
import { addRail, LinkError, testRail } from './services/wallets';

// Amounts in notifications are written as the browser's language writes numbers.
setMoneyLocale(browser.i18n.getUILanguage() || 'en');
const db = new PayboundDb();
const version = browser.runtime.getManifest().version;
const WINDOWS_KEY = 'approvalWindows';

const approvals = new ApprovalService(
  db,
  {
    async create(url) {
      const win = await browser.windows.create({
        url,
        type: 'popup',
        width: 460,
        height: 640,
        focused: true,
      });
      return win.id;
    },
    async focus(windowId) {
      return browser.windows.update(windowId, { focused: true }).then(
        () => true,
        () => false,
      );
    },
    async remove(windowId) {
      await browser.windows.remove(windowId).catch(() => {});
    },
  },
  {
    async get() {
      const got = await browser.storage.session.get(WINDOWS_KEY);
      return (got[WINDOWS_KEY] as Record<string, number> | undefined) ?? {};
    },
    async set(map) {
      await browser.storage.session.set({ [WINDOWS_KEY]: map });
    },
  },
  (tabId) => browser.runtime.getURL(`src/ui/approve/index.html?tab=${tabId}`),
  async (msg: Broadcast) => {
    // Nobody listening (no extension page open) is fine.
    await browser.runtime.sendMessage(msg).catch(() => {});
  },
  async ({ waiting }) => {
    if (waiting) await notices.approvalNeeded(waiting.tabId ?? -1, waiting);
    await notices.refreshBadge();
  },
  // Every denial gives its reservation back, also when no flow of this worker waits on it.
  (paymentId) => payments.release(paymentId),
);
const noticeApi = {
  async notify(id: string, title: Said, message: Said) {
    // The browser's language, as the pages use; the English when a locale lacks the key.
    const text = (s: Said) => browser.i18n.getMessage(s.key, s.args ?? []) || english(s);
    await browser.notifications
      .create(id, {
        type: 'basic',
        iconUrl: browser.runtime.getURL('icons/icon-128.png'),
        title: text(title),
        message: text(message),
      })
      .catch(() => {});
  },
  async badge(text: string) {
    await browser.action.setBadgeText({ text });
  },
};
const notices = new NoticeService(db, noticeApi, () => loadRules(db));
const tokens = new TokenService(db, browser.declarativeNetRequest);
const rates = new RateService(db);
const auth = new AuthService(db);
const AUTOLOCK_ALARM = 'paybound-autolock';
const vault = new Vault(db, {
  async get() {
    const got = await browser.storage.session.get('vaultKey');
    return typeof got.vaultKey === 'string' ? got.vaultKey : undefined;
  },
  async set(key) {
    if (key === undefined) await browser.storage.session.remove('vaultKey');
    else await browser.storage.session.set({ vaultKey: key });
  },
});
/**
 * Unlocked vaults lock themselves after this long without the user doing something in Paybound's
 * own pages. Payments do not count: a site that triggers payments must not keep the vault open.
 */
async function touchAutoLock() {
  const minutes = await getSetting(db, 'autoLockMinutes', 30);
  await browser.alarms.create(AUTOLOCK_ALARM, { delayInMinutes: minutes });
}
const disputes = new DisputeService(db, (r) => vault.open(r));
/** How long linking waits for the card service's page to open in its tab before giving up. */
const CARD_PAGE_WAIT_MS = 2 * 60 * 1000;
const REVIEW_ALARM = 'paybound-review:';
/** A quote's offer or a page-wallet payment's invoice runs out: `payments.expire`. */
const EXPIRE_ALARM = 'paybound-expire:';
const REVIEW_SWEEP_ALARM = 'paybound-review-sweep';
const review = new ReviewService({
  db,
  disputes,
  openRail: (record) => vault.open(record),
  railFor: async (record) => railFor(await vault.open(record)),
  // An alarm, not a timer: it survives the worker being stopped for the length of the window.
  wakeAt: async (paymentId, when) => {
    await browser.alarms.create(`${REVIEW_ALARM}${paymentId}`, { when });
  },
  notify: (id, title, message) => noticeApi.notify(id, title, message),
});
const payments = new PaymentService({
  db,
  rates,
  approvals,
  tokens,
  defaultRail: () => defaultRail(db),
  railFor: async (record) => railFor(await vault.open(record)),
  openRail: (record) => vault.open(record),
  openDispute: (p, reason) => disputes.open(p, reason),
  onPaid: (id) => review.started(id),
  rules: () => loadRules(db),
  notify: {
    paidAutomatically: (p) => notices.paidAutomatically(p),
    afterCommit: (p) => notices.afterCommit(p),
  },
  wakeAt: async (paymentId, when) => {
    await browser.alarms.create(`${EXPIRE_ALARM}${paymentId}`, { when });
  },
  cancelWake: async (paymentId) => {
    await browser.alarms.clear(`${EXPIRE_ALARM}${paymentId}`);
  },
});

// Before the first message is answered: provisioning, token rules, payments left open by a dead worker.
const ready = (async () => {
  await migrateRateSettings(db).catch((e: unknown) => console.error('paybound: rate settings', e));
  await applyProvisioning(db, __PAYBOUND_PROVISION__).catch((e: unknown) =>
    console.error('paybound: provisioning failed', e),
  );
  await tokens.syncRules().catch((e: unknown) => console.error('paybound: token rules', e));
  // Denials a dead worker never released, quotes whose offer ran out meanwhile.
  await payments.tidy().catch((e: unknown) => console.error('paybound: tidy', e));
  void payments.reconcile().catch((e: unknown) => console.error('paybound: reconcile', e));
  // Windows that ended while the browser was closed are settled now; then every few minutes.
  void review.sweep().catch((e: unknown) => console.error('paybound: review sweep', e));
  await browser.alarms.create(REVIEW_SWEEP_ALARM, { periodInMinutes: 5 });
  // Warm the rate cache so that the first quote does not wait for the rate source.
  void getSetting(db, 'currency', 'USD')
    .then((c) => rates.current(c))
    .catch(() => {});
})();

/**
 * A check's failure as the handler's refusal: its own Said when it has one, else its English words
 * (rules, rates, backups: checks that explain themselves), else the generic sentence `fallback`.
 */
function refusal(e: unknown, fallback: SaidKey): HandlerError {
  if (e instanceof SaidError) return new HandlerError(e.refusal, e.said);
  return new HandlerError(
    'bad_message',
    e instanceof Error ? said('errorInvalid', e.message) : said(fallback),
  );
}

/** 402s of pages' fetch and XHR as webRequest saw them (Firefox only: see ObservedResponses). */
const responses = __PAYBOUND_TARGET__ === 'firefox' ? new ObservedResponses() : undefined;

/**
 * The headers a page's 402 report stands for. In Firefox every report claims the response
 * webRequest saw, and one whose challenge fetch() hid takes that response's headers.
 */
async function reportedHeaders(
  input: { url: string; method: string; headers: [string, string][] },
  sender: { tabId?: number; frameId?: number },
): Promise<readonly (readonly [string, string])[] | undefined> {
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

const route = createRouter(
  {
    'challenge.seen': async (input, sender) => {
      const headers = await reportedHeaders(input, sender);
      // A 402 without any challenge: nothing to record, the page keeps its response.
      if (!headers)
        return { action: 'pass', reason: english(said('refusedUnknown')), said: said('refusedUnknown') };
      return payments.onChallenge({
        ...input,
        headers,
        origin: sender.origin,
        ...(sender.topOrigin !== undefined ? { topOrigin: sender.topOrigin } : {}),
        tabId: sender.tabId,
        via: 'fetch',
      });
    },
    'webln.result': (input, sender) => payments.weblnResult(input, sender),
    'payment.delivered': (input, sender) => payments.delivered(input, sender),
    'rails.setDefault': async ({ railId }) => {
      if (!(await db.rails.get(railId))) throw new HandlerError('not_found', said('errorNoSuchWallet'));
      await setSetting(db, 'defaultRailId', railId);
      return { railId };
    },
    'status.get': async () => ({ ...(await getStatus(db, version)), vault: await vault.status() }),
    'auth.status': () => auth.status(),
    'auth.totpSetup': () => auth.totpSetup(),
    'auth.totpConfirm': async ({ code }) => {
      await auth.totpConfirm(code);
      return { hasTotp: true };
    },
    'auth.setPassword': async ({ password, current }) => {
      await auth.setPassword(password, current);
      // Wallet secrets are sealed under the new password (and unsealed from the old one).
      await vault.rekey(password, current);
      await touchAutoLock();
      return { hasPassword: true };
    },
    'vault.unlock': async ({ password }) => {
      if (!(await vault.unlock(password))) throw new HandlerError('auth', said('errorWrongPassword'));
      await touchAutoLock();
      return { unlocked: true };
    },
    'vault.lock': async () => {
      await vault.lock();
      return { unlocked: false };
    },
    'spend.summary': () => spendSummary(db),
    'ledger.export': () => exportBackup(db),
    'ledger.import': async ({ backup }) => {
      try {
        return await importBackup(db, backup);
      } catch (e) {
        throw refusal(e, 'errorInvalidBackup');
      }
    },
    'rails.add': async (input) => {
      try {
        return { id: (await addRail(db, vault, input)).id };
      } catch (e) {
        if (e instanceof LinkError) throw refusal(e, 'errorInvalid');
        throw e;
      }
    },
    'rails.test': ({ railId }) => testRail(db, vault, railId),
    'rails.cardLimits': async ({ railId, perChargeMinor, perDayMinor }) => {
      const record = await db.rails.get(railId);
      if (record?.kind !== 'card') throw new HandlerError('not_found', said('errorNoSuchCard'));
      return await setCardLimits(await vault.open(record), { perChargeMinor, perDayMinor });
    },
    'rails.remove': async ({ railId }) => {
      const record = await db.rails.get(railId);
      if (record?.kind === 'card') await revokeCard(await vault.open(record)).catch(() => undefined);
      await db.rails.delete(railId);
      return { removed: record !== undefined };
    },
    'card.linkStart': async ({ serviceUrl }) => {
      const url = serviceUrl ?? (await getSetting<string | null>(db, 'cardServiceUrl', null));
      if (!url) throw new HandlerError('bad_message', said('errorNoCardService'));
      const random = () => base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(32)));
      const state = random();
      const secret = random();
      // The secret leaves the extension only in the claim; the tab's URL carries just its hash.
      await browser.storage.session.set({
        cardLink: { serviceUrl: url, state, secret, startedAt: Date.now() },
      });
      // A tab the extension opens is a navigation no page started: the card service insists on it.
      await browser.tabs.create({
        url: `${url.replace(/\/+$/, '')}/link?state=${state}&v=${await linkCommitment(secret)}`,
      });
      return { started: true };
    },
    'card.linkPoll': async () => {
      const got = (await browser.storage.session.get('cardLink')).cardLink as
        | { serviceUrl: string; state: string; secret?: string; startedAt?: number }
        | undefined;
      if (!got) return { status: 'none' };
      // A link started before the secret existed cannot be claimed any more: start again.
      if (typeof got.secret !== 'string') {
        await browser.storage.session.remove('cardLink');
        return {
          status: 'failed',
          reason: english(said('cardLinkOutdated')),
          said: said('cardLinkOutdated'),
        };
      }
      const r = await claimCard(got.serviceUrl, got.state, got.secret).catch((e: unknown) => ({
        status: 'failed' as const,
        reason: e instanceof Error ? e.message : 'the card service did not answer',
      }));
      if (r.status === 'pending') return { status: 'pending', waiting: 'card' };
      // Polled before the tab reached the card service (a busy machine, a slow network): the link
      // is not there yet. Wait for it a while rather than give up on a link that is coming.
      if (r.status === 'unknown') {
        if (Date.now() - (got.startedAt ?? 0) < CARD_PAGE_WAIT_MS)
          return { status: 'pending', waiting: 'page' };
        await browser.storage.session.remove('cardLink');
        return {
          status: 'failed',
          reason: english(said('cardPageNeverOpened')),
          said: said('cardPageNeverOpened'),
        };
      }
      await browser.storage.session.remove('cardLink');
      if (r.status === 'failed') return r;
      const label = `${r.brand.charAt(0).toUpperCase()}${r.brand.slice(1)} •••• ${r.last4}`;
      const rail = {
        id: `card-${r.last4}-${Date.now().toString(36)}`,
        kind: 'card' as const,
        label,
        network: 'mainnet' as const,
        createdAt: Date.now(),
        config: { serviceUrl: got.serviceUrl, token: r.token },
      };
      await db.rails.add(await vault.sealRail(rail));
      return { status: 'linked', railId: rail.id, label };
    },
    'approval.switchRail': async ({ paymentId, railId }) => {
      const switched = await payments.switchRail(paymentId, railId);
      if (!switched) throw new HandlerError('not_found', said('errorCannotSwitch'));
      await browser.runtime
        .sendMessage({
          broadcast: 'approvals.changed',
          data: { tabId: (await db.payments.get(paymentId))?.tabId ?? -1 },
        })
        .catch(() => {});
      return { switched };
    },
    // Review and dispute refusals (ReviewError, DisputeError, RailError) are Saids: the router classes them.
    'payment.reject': async ({ paymentId, reason, amountMinor }) =>
      disputeView(
        await review.reject(paymentId, reason, amountMinor !== undefined ? BigInt(amountMinor) : undefined),
      ),
    'payment.refund': async ({ paymentId, reason, amountMinor }) =>
      disputeView(
        await review.requestRefund(
          paymentId,
          reason,
          amountMinor !== undefined ? BigInt(amountMinor) : undefined,
        ),
      ),
    'payment.accept': async ({ paymentId }) => paymentView(await review.accept(paymentId, 'user')),
    'review.sweep': async () => {
      await review.sweep();
      return { swept: true as const };
    },
    'disputes.list': async () => (await disputes.list()).map(disputeView),
    'approvals.focus': async ({ tabId }) => {
      const windowId = await approvals.windowOf(tabId);
      if (windowId === undefined) return { focused: false };
      await browser.windows.update(windowId, { focused: true });
      return { focused: true };
    },
    'settings.get': () => generalSettings(db),
    'settings.set': async (input) => {
      await db.transaction('rw', db.settings, async () => {
        for (const [key, value] of Object.entries(input))
          if (value !== undefined) await setSetting(db, key, value);
      });
      // Other sources, or another currency: the cached rate is no longer theirs.
      if (input.rateSources !== undefined || input.currency !== undefined) await rates.forget();
      return generalSettings(db);
    },
    'pause.set': async ({ paused }) => {
      await setSetting(db, 'paused', paused);
      return { paused };
    },
    'rates.setManual': async ({ rate, validForHours }) => {
      const currency = await getSetting(db, 'currency', 'USD');
      try {
        await rates.setManual(rate, currency, validForHours * 3600 * 1000);
      } catch (e) {
        throw refusal(e, 'errorInvalidRate');
      }
      return { currency };
    },
    'rules.get': async () => rulesToWire(await loadRules(db)),
    'rules.set': async (input) => {
      try {
        return await saveRules(db, input);
      } catch (e) {
        throw refusal(e, 'errorInvalidRules');
      }
    },
    'challenges.recent': async (input) => (await recentChallenges(db, input.limit)).map(challengeView),
    'approvals.pending': async ({ tabId }) => {
      const currency = await getSetting(db, 'currency', 'USD');
      const kinds = new Map((await db.rails.toArray()).map((r) => [r.id, r.kind]));
      return Promise.all(
        (await approvals.shown(tabId)).map(async (p) =>
          quoteView(
            p,
            Date.now(),
            currency,
            kinds.get(p.railId) ?? '',
            (await payments.alternatives(p)).map(({ id, label, kind }) => ({ id, label, kind })),
            await consentView(db, p),
          ),
        ),
      );
    },
    'approval.decide': async ({ paymentId, decision, password, exceed, allowAuto }) => {
      const pending = await db.payments.get(paymentId);
      if (decision === 'approve' && (pending?.tier === 'strong' || pending?.tier === 'overage')) {
        if (pending.tier === 'overage' && exceed !== true) {
          throw new HandlerError('auth', said('errorConfirmExceed'));
        }
        await auth.verify(password ?? '');
      }
      if (decision === 'approve' && allowAuto && pending) {
        try {
          await allowAutomatic(
            db,
            pending.site,
            BigInt(allowAuto.perChargeMinor),
            BigInt(allowAuto.perDayMinor),
          );
        } catch (e) {
          if (e instanceof RangeError) throw refusal(e, 'errorInvalid');
          throw e;
        }
      }
      const awaited = approvals.isAwaited(paymentId);
      // Quotes of other sites approved meanwhile may have used up a budget: decided again, in the
      // same transaction as the approval, so two approvals cannot both take the last of a budget.
      const rules = await loadRules(db);
      let escalated = false;
      const guard = async () => {
        const checked = await recheck(db, paymentId, rules, Date.now());
        escalated = checked.kind === 'escalated';
        return checked.kind === 'ok';
      };
      const accepted = await approvals.decide(
        paymentId,
        decision === 'approve' ? 'approved' : 'denied',
        decision === 'approve' ? guard : undefined,
      );
      // The window that asked loads the quote again (now an overage) and shows why.
      if (escalated) throw new HandlerError('auth', said('reasonBudgetsChanged'));
      if (!accepted) throw new HandlerError('not_found', said('errorNotWaiting'));
      // The user's own click: this site and its payee are known from now on.
      if (decision === 'approve' && pending) await recordApproval(db, pending, Date.now());
      // After a worker restart nobody waits on the decision: pay here; the token serves the page's next request.
      if (!awaited && decision === 'approve') void payments.pay(paymentId);
      return { accepted };
    },
    'approval.blockSite': async ({ paymentId }) => {
      const p = await db.payments.get(paymentId);
      if (!p) throw new HandlerError('not_found', said('errorNoSuchPayment'));
      await blockSite(db, p.site);
      let denied = 0;
      for (const w of await approvals.allWaiting()) {
        if (w.site === p.site && (await approvals.decide(w.id, 'denied'))) denied += 1;
      }
      await broadcastQuotes(p.tabId);
      return { blocked: p.site, denied };
    },
    'payments.recent': async ({ limit }) =>
      (await db.payments.orderBy('createdAt').reverse().limit(limit).toArray()).map((p) => paymentView(p)),
  },
  { id: browser.runtime.id, origin: originOf(browser.runtime.getURL('/')) ?? '' },
);

/** Messages that are the user doing something in Paybound's own pages: they keep the vault open. */
const USER_ACTIONS = new Set<string>([
  'approval.decide',
  'approval.blockSite',
  'approval.switchRail',
  'payment.accept',
  'payment.reject',
  'payment.refund',
  'rules.set',
  'settings.set',
  'pause.set',
  'rails.add',
  'rails.remove',
  'rails.setDefault',
  'card.linkStart',
]);

browser.runtime.onMessage.addListener((message: unknown, sender: Runtime.MessageSender) =>
  ready.then(async () => {
    const reply = await route(message, sender);
    // Only a message our own pages may send gets this far with `ok` (the router checks audiences).
    const type = (message as { type?: unknown } | null)?.type;
    if (
      reply.ok &&
      typeof type === 'string' &&
      USER_ACTIONS.has(type) &&
      (await vault.status()) === 'unlocked'
    )
      await touchAutoLock().catch(() => {});
    return reply;
  }),
);

/** Tells a tab's quote window to load its quotes again. */
async function broadcastQuotes(tabId: number | undefined): Promise<void> {
  await browser.runtime
    .sendMessage({ broadcast: 'approvals.changed', data: { tabId: tabId ?? -1 } })
    .catch(() => {});
}

// A notice leads to the place it speaks of.
browser.notifications.onClicked.addListener((id) => {
  void (async () => {
    await ready;
    if (id.startsWith('approve-')) {
      const windowId = await approvals.windowOf(Number(id.slice('approve-'.length)));
      if (windowId !== undefined) await browser.windows.update(windowId, { focused: true });
    } else {
      // Budget milestones lead to the budgets; payments, reviews and refunds to the history.
      const page = id.startsWith('milestone|') ? 'budgets' : 'history';
      await browser.tabs.create({ url: browser.runtime.getURL(`src/ui/options/index.html#${page}`) });
    }
    await browser.notifications.clear(id);
  })().catch(() => {});
});

const alarms = new AlarmRegistry()
  .on(AUTOLOCK_ALARM, () => vault.lock())
  .family(REVIEW_ALARM, (id) =>
    review.accept(id, 'window').catch((e: unknown) => {
      // Decided meanwhile (by the user): nothing to do.
      if (!(e instanceof ReviewError)) throw e;
    }),
  )
  .family(EXPIRE_ALARM, (id) => payments.expire(id))
  .on(REVIEW_SWEEP_ALARM, () => review.sweep());

browser.alarms.onAlarm.addListener((alarm) => {
  // The vault locks at once; everything else waits for start-up (provisioning, tidying) first.
  const run =
    alarm.name === AUTOLOCK_ALARM
      ? alarms.dispatch(alarm.name)
      : ready.then(() => alarms.dispatch(alarm.name));
  void run.catch((e: unknown) => console.error(`paybound: alarm ${alarm.name}`, e));
});

// A page-load token belongs to the tab that paid for it.
browser.tabs.onRemoved.addListener((tabId) => {
  void ready.then(() => tokens.dropTabTokens(tabId)).catch(() => {});
});

browser.windows.onRemoved.addListener((windowId) => {
  void ready.then(() => approvals.windowClosed(windowId));
});

// A 402 on a page load never reaches the page's scripts: the browser shows it to us here. After
// payment the token's session rule adds the credential, and the tab reloads.
browser.webRequest.onHeadersReceived.addListener(
  (details: WebRequest.OnHeadersReceivedDetailsType) => {
    if (details.statusCode !== 402 || details.tabId < 0) return;
    const origin = originOf(details.url);
    if (!origin) return;
    const headers = (details.responseHeaders ?? []).map((h) => [h.name, h.value ?? ''] as const);
    void ready
      .then(() =>
        payments.onChallenge({
          url: details.url,
          method: details.method,
          headers,
          origin,
          tabId: details.tabId,
          via: 'navigation',
        }),
      )
      .then((verdict) => (verdict.action === 'retry' ? browser.tabs.reload(details.tabId) : undefined))
      .catch((e: unknown) => console.error('paybound: navigation 402', e));
  },
  { urls: ['http://*/*', 'https://*/*'], types: ['main_frame'] },
  headersReceivedOptions(),
);

// Firefox: the 402s of pages' fetch and XHR, for the reports whose challenge fetch() hid.
if (responses) {
  browser.webRequest.onHeadersReceived.addListener(
    (details: WebRequest.OnHeadersReceivedDetailsType) => {
      if (details.statusCode !== 402 || details.tabId < 0) return;
      responses.record(
        { tabId: details.tabId, frameId: details.frameId, method: details.method, url: details.url },
        (details.responseHeaders ?? []).map((h) => [h.name, h.value ?? ''] as const),
      );
    },
    { urls: ['http://*/*', 'https://*/*'], types: ['xmlhttprequest'] },
    headersReceivedOptions(),
  );
}
