/**
 * The service worker's composition root: makes the database, the browser adapters and the
 * services, routes the messages to their handlers, and registers every listener at the top level,
 * synchronously, so a worker the browser restarted hears the event that woke it.
 */
import * as v from 'valibot';
import browser from 'webextension-polyfill';
import { setMoneyLocale } from '../core/money/rates';
import { PayboundDb } from '../db/schema';
import { getSetting } from '../db/settings';
import { alarms as browserAlarms } from '../platform/alarms';
import { uiLanguage } from '../platform/i18n';
import { notifications } from '../platform/notifications';
import { sessionRules } from '../platform/requests';
import { broadcast, extensionId, extensionUrl, extensionVersion, tabs } from '../platform/runtime';
import { sessionSlot } from '../platform/session';
import { popupWindows } from '../platform/windows';
import { ALARMS, AlarmRegistry } from './alarms';
import { createEvents } from './events';
import { createHandlers } from './handlers/index';
import { createRouter } from './router';
import { originOf } from './sender';
import { ApprovalService, remembered } from './services/approvals';
import { AuthService } from './services/auth';
import { AutoLock } from './services/autolock';
import { DecisionService } from './services/decisions';
import { DisputeService } from './services/disputes';
import { NoticeService } from './services/notices';
import { ObservedResponses } from './services/observed';
import { PaymentService } from './services/payments';
import { applyProvisioning } from './services/provisioning';
import { cancelCardSubscription, cardSubscriptions } from './services/rails/card';
import { defaultRail, railFor } from './services/rails/index';
import { migrateRateSettings, RateService } from './services/rates';
import { ReviewError, ReviewService } from './services/review';
import { loadRules } from './services/rules';
import { SubscriptionService } from './services/subscriptions';
import { TokenService } from './services/tokens';
import { Vault } from './services/vault';
import { CardLinkService, PendingCardLink } from './services/wallets';

// Amounts in notifications are written as the browser's language writes numbers.
setMoneyLocale(uiLanguage());
const db = new PayboundDb();
const rules = () => loadRules(db);

// Which window shows each tab's quotes: kept across worker restarts, gone with the browser.
// Read once as the worker starts; kept in memory from then on (see `remembered`).
const approvalWindows = sessionSlot('approvalWindows', v.record(v.string(), v.number()));
const windowsOfTabs = remembered({
  get: async () => (await approvalWindows.get()) ?? {},
  set: (map) => approvalWindows.set(map),
});
windowsOfTabs.get().catch(() => {});
const approvals = new ApprovalService(
  db,
  popupWindows,
  windowsOfTabs,
  (tabId) => extensionUrl(`src/ui/approve/index.html?tab=${tabId}`),
  broadcast,
  async ({ waiting }) => {
    if (waiting) await notices.approvalNeeded(waiting.tabId ?? -1, waiting);
    await notices.refreshBadge();
  },
  // Every denial gives its reservation back, also when no flow of this worker waits on it.
  (paymentId) => payments.release(paymentId),
);
const notices = new NoticeService(db, notifications, rules);
// Chromium has no session rules (docs/permissions.md): pages attach what they were handed.
const pageRules = __PAYBOUND_TARGET__ === 'firefox' ? sessionRules : undefined;
// Set once per browser session: its absence on start means the browser, not only the worker, started.
const sessionStarted = sessionSlot('sessionStarted', v.literal(true));
const tokens = new TokenService(db, pageRules, Date.now, async () => {
  if (await sessionStarted.get()) return false;
  await sessionStarted.set(true);
  return true;
});
const rates = new RateService(db);
const auth = new AuthService(db);
const vault = new Vault(db, sessionSlot('vaultKey', v.string()));
const autoLock = new AutoLock({
  db,
  vault,
  restartTimer: (minutes) => browserAlarms.after(ALARMS.autoLock, minutes),
});
const disputes = new DisputeService(db);
const review = new ReviewService({
  db,
  disputes,
  openRail: (record) => vault.open(record),
  railFor: async (record) => railFor(await vault.open(record)),
  // An alarm, not a timer: it survives the worker being stopped for the length of the window.
  wakeAt: (paymentId, when) => browserAlarms.at(`${ALARMS.review}${paymentId}`, when),
  notify: (id, title, message) => notifications.notify(id, title, message),
});
// Plans: their charges are paid through the payments flow, declared below (called only later).
const subscriptions: SubscriptionService = new SubscriptionService({
  db,
  ...(pageRules ? { rules: pageRules } : {}),
  pay: ({ request, plan, standing }) =>
    payments.onChallenge({ ...request, plan, ...(standing ? { standing } : {}) }),
  renewed: (sub) => notices.renewed(sub),
  cardOverage: async (sub) => {
    const rail = await db.rails.get(sub.railId);
    if (rail?.kind !== 'card' || !sub.cardSubscription) return undefined;
    const found = (await cardSubscriptions(await vault.open(rail))).find(
      (s) => s.id === sub.cardSubscription,
    );
    return found ? { periodStart: found.currentPeriodStart * 1000, amount: found.overageAmount } : undefined;
  },
  spendingRules: () => rules(),
  cancelCard: async (sub) => {
    const rail = await db.rails.get(sub.railId);
    if (rail?.kind !== 'card' || !sub.cardSubscription) return;
    await cancelCardSubscription(await vault.open(rail), sub.cardSubscription);
  },
});
const payments = new PaymentService({
  db,
  subscriptions,
  rates,
  approvals,
  tokens,
  defaultRail: () => defaultRail(db),
  railFor: async (record) => railFor(await vault.open(record)),
  openRail: (record) => vault.open(record),
  openDispute: (p, reason, source) => disputes.open(p, reason, undefined, source),
  onPaid: (id) => review.started(id),
  rules,
  notify: {
    paidAutomatically: (p) => notices.paidAutomatically(p),
    afterCommit: (p) => notices.afterCommit(p),
    refused: (p) => notices.refused(p),
  },
  wakeAt: (paymentId, when) => browserAlarms.at(`${ALARMS.expire}${paymentId}`, when),
  cancelWake: (paymentId) => browserAlarms.clear(`${ALARMS.expire}${paymentId}`),
});
const decisions = new DecisionService({ db, approvals, auth, payments, rules, broadcast });
const cardLinks = new CardLinkService({
  db,
  vault,
  store: sessionSlot('cardLink', PendingCardLink),
  openTab: tabs.open,
});
/** 402s of pages' fetch and XHR as webRequest saw them (Firefox only: see ObservedResponses). */
const responses = __PAYBOUND_TARGET__ === 'firefox' ? new ObservedResponses() : undefined;

// Before the first message is answered: provisioning, token rules, payments left open by a dead worker.
const ready = (async () => {
  await migrateRateSettings(db).catch((e: unknown) => console.error('paybound: rate settings', e));
  await applyProvisioning(db, __PAYBOUND_PROVISION__).catch((e: unknown) =>
    console.error('paybound: provisioning failed', e),
  );
  await tokens.syncRules().catch((e: unknown) => console.error('paybound: token rules', e));
  await subscriptions.syncRules().catch((e: unknown) => console.error('paybound: subscriber rules', e));
  void subscriptions.sweep().catch((e: unknown) => console.error('paybound: subscriptions', e));
  // Denials a dead worker never released, quotes whose offer ran out meanwhile.
  await payments.tidy().catch((e: unknown) => console.error('paybound: tidy', e));
  void payments.reconcile().catch((e: unknown) => console.error('paybound: reconcile', e));
  // Windows that ended while the browser was closed are settled now; then every few minutes.
  void review.sweep().catch((e: unknown) => console.error('paybound: review sweep', e));
  await browserAlarms.every(ALARMS.reviewSweep, 5);
  // Warm the rate cache so that the first quote does not wait for the rate source.
  void getSetting(db, 'currency')
    .then((c) => rates.current(c))
    .catch(() => {});
})();

const route = createRouter(
  createHandlers({
    db,
    version: extensionVersion(),
    approvals,
    decisions,
    auth,
    vault,
    autoLock,
    payments,
    review,
    disputes,
    rates,
    cardLinks,
    responses,
    subscriptions,
  }),
  {
    id: extensionId(),
    origin: originOf(extensionUrl('/')) ?? '',
    // Read your writes: a page that has its paid answer, and the user looking at it, see the charge
    // paid. A new 402 or a page wallet's result is not held up by another payment's record.
    before: (type) =>
      type === 'challenge.seen' || type === 'page.payResult' ? undefined : payments.recorded(),
  },
);

const alarms = new AlarmRegistry()
  .on(ALARMS.autoLock, () => vault.lock())
  .family(ALARMS.review, (id) =>
    review.accept(id, 'window').catch((e: unknown) => {
      // Decided meanwhile (by the user): nothing to do.
      if (!(e instanceof ReviewError)) throw e;
    }),
  )
  .family(ALARMS.expire, (id) => payments.expire(id))
  .on(ALARMS.reviewSweep, () => review.sweep());

const events = createEvents({
  ready,
  route,
  alarms,
  autoLock,
  approvals,
  payments,
  tokens,
  responses,
  clearNotice: notifications.clear,
  openOptions: (page) => tabs.open(extensionUrl(`src/ui/options/index.html#${page}`)),
  reloadTab: tabs.reload,
});

browser.runtime.onMessage.addListener(events.message);
browser.notifications.onClicked.addListener(events.notificationClicked);
browser.alarms.onAlarm.addListener(events.alarm);
browser.tabs.onRemoved.addListener(events.tabRemoved);
browser.windows.onRemoved.addListener(events.windowRemoved);
// Firefox only: Chromium's build holds no webRequest permission, which would slow every request
// of every page; there the page's script sees its own page load's 402 (docs/permissions.md).
if (__PAYBOUND_TARGET__ === 'firefox') {
  browser.webRequest.onHeadersReceived.addListener(
    events.pageLoadHeaders,
    { urls: ['http://*/*', 'https://*/*'], types: ['main_frame'] },
    ['responseHeaders'],
  );
  browser.webRequest.onHeadersReceived.addListener(
    events.requestHeaders,
    { urls: ['http://*/*', 'https://*/*'], types: ['xmlhttprequest'] },
    ['responseHeaders'],
  );
}
