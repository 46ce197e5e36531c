/**
 * The service worker's entry: wires the services and registers every listener at the top level,
 * so a worker the browser restarted hears the event that woke it.
 */
import browser, { type Runtime } from 'webextension-polyfill';
import { PayboundDb } from '../db/schema';
import { createRouter } from './router';
import { originOf } from './sender';
import { ChallengeService } from './services/challenges';
import { applyProvisioning } from './services/provisioning';
import { getStatus } from './services/status';

const db = new PayboundDb();
const challenges = new ChallengeService(db);
const version = browser.runtime.getManifest().version;

// Provisioning must be in place before the first message is answered, on install and on every wake.
const ready = applyProvisioning(db, __PAYBOUND_PROVISION__).catch((e: unknown) => {
  console.error('paybound: provisioning failed', e);
  return false;
});

const route = createRouter(
  {
    'challenge.seen': (input, sender) => challenges.seen(input, sender),
    'status.get': () => getStatus(db, version),
    'challenges.recent': (input) => challenges.recent(input.limit),
  },
  { id: browser.runtime.id, origin: originOf(browser.runtime.getURL('/')) ?? '' },
);

browser.runtime.onMessage.addListener((message: unknown, sender: Runtime.MessageSender) =>
  ready.then(() => route(message, sender)),
);
