/**
 * The one message map: every message that crosses a context boundary, its runtime schema, who may
 * send it, and the shape of its answer. The worker validates every incoming message against the
 * schema here before any service sees it; the UI and the bridge share the types.
 */
import * as v from 'valibot';
import { AddRailInput } from '../core/config/rails';
import { RateSourcesSchema } from '../core/config/rate-sources';
import type { RateCheck, RateSourceSetting } from '../core/money/rate-sources';
import { PROBLEM_LIMIT } from '../core/payments/delivery';
import { answerFits, PAGE_WALLETS, type PageWalletRequest } from '../core/payments/page-wallet';
import type { RetryCredential } from '../core/payments/retry-credential';
import type { RulesWire } from '../core/policy/rules';
import type { Said } from '../core/text/said';

// The content scripts take these types from here: they import nothing of src/core themselves.
export type {
  PageWallet,
  PageWalletRequest,
  PageWalletResult,
} from '../core/payments/page-wallet';
export type { RetryCredential, RetryHeader } from '../core/payments/retry-credential';

/** `page`: relayed by the bridge from a web page (untrusted). `extension`: our own pages only. */
export type Audience = 'page' | 'extension';

/**
 * The payment headers of a 402 as the main-world script forwards them (only WWW-Authenticate and
 * PAYMENT-REQUIRED). Real L402 and MPP challenges are a few KB; servers refuse response headers
 * beyond 8–16 KB in all, so nothing larger is a real challenge.
 */
export const CHALLENGE_HEADER_LIMITS = { count: 16, value: 8 * 1024, total: 16 * 1024 } as const;
const HeaderList = v.pipe(
  v.array(
    v.tuple([
      v.pipe(v.string(), v.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, 'a header name')),
      v.pipe(v.string(), v.maxLength(CHALLENGE_HEADER_LIMITS.value)),
    ]),
  ),
  v.maxLength(CHALLENGE_HEADER_LIMITS.count),
  v.check(
    (hs) => hs.reduce((n, [k, val]) => n + k.length + val.length, 0) <= CHALLENGE_HEADER_LIMITS.total,
    'the challenge headers are too large',
  ),
);

/** Longest 402 body the page may send (as core/challenge/x402.ts reads at most). */
const X402_BODY_LIMIT = 64 * 1024;

export const ChallengeSeenInput = v.strictObject({
  url: v.pipe(v.string(), v.url(), v.maxLength(4096)),
  method: v.pipe(v.string(), v.regex(/^[A-Za-z]{1,16}$/)),
  status: v.literal(402),
  headers: HeaderList,
  /** The SHA-256 of the body the page would retry with. */
  bodySha256: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
  /** The 402's body, sent only when it names `x402Version` (x402 v1 asks in the body). */
  body: v.optional(v.pipe(v.string(), v.maxLength(X402_BODY_LIMIT))),
  /** The wallets the page has (advisory: a page that lies only misleads itself). */
  pageWallets: v.optional(v.pipe(v.array(v.picklist(PAGE_WALLETS)), v.maxLength(PAGE_WALLETS.length))),
  /**
   * The page says the request carried a credential Paybound handed it (one it keeps for later
   * requests, or a held one it retried with), so this 402 refuses that credential: the worker
   * then pays the new challenge rather than hand the same credential again. A page that lies
   * only makes its own site's challenge go through the user's rules once more.
   */
  carried: v.optional(v.literal(true)),
  /**
   * The 402 is the frame's own page load (Chromium: the page sees its navigation's status), read
   * again by a fresh GET of the same URL. The worker checks the URL and frame with the browser's.
   */
  navigation: v.optional(v.literal(true)),
});

export const RecentChallengesInput = v.strictObject({
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(500)), 50),
});

export const PendingApprovalsInput = v.strictObject({
  tabId: v.pipe(v.number(), v.integer(), v.minValue(-1)),
});

export const DecideInput = v.strictObject({
  paymentId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)),
  decision: v.picklist(['approve', 'deny']),
  /** Strong and overage tiers: the user's password or a 6-digit TOTP code. */
  password: v.optional(v.pipe(v.string(), v.maxLength(200))),
  /** Overage tier: the separate "exceed my budget" confirmation. */
  exceed: v.optional(v.boolean()),
  /** With an approval: let this site pay automatically from now on, up to these (minor units). */
  allowAuto: v.optional(
    v.strictObject({
      perChargeMinor: v.pipe(v.string(), v.regex(/^\d{1,15}$/)),
      perDayMinor: v.pipe(v.string(), v.regex(/^\d{1,15}$/)),
    }),
  ),
});

export const SetPasswordInput = v.strictObject({
  password: v.pipe(v.string(), v.minLength(8), v.maxLength(200)),
  current: v.optional(v.pipe(v.string(), v.maxLength(200))),
});

/**
 * What the page's wallet answered to a `pay-in-page` verdict: its raw answer (checked per wallet
 * kind by the method that handed the payment over), or the message of the error it threw.
 */
export const PagePayResultInput = v.strictObject({
  paymentId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)),
  wallet: v.picklist(PAGE_WALLETS),
  answer: v.optional(v.pipe(v.unknown(), v.check(answerFits, 'the wallet answer is too large'))),
  error: v.optional(v.pipe(v.string(), v.maxLength(300))),
});

/** What the page received after paying: evidence for a later dispute (reported by the page, so advisory). */
export const DeliveredInput = v.strictObject({
  paymentId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)),
  status: v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599)),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  /** The response's evidence headers (the main world sends only those; the worker filters again). */
  headers: v.optional(
    v.pipe(
      v.array(v.tuple([v.pipe(v.string(), v.maxLength(64)), v.pipe(v.string(), v.maxLength(8192))])),
      v.maxLength(32),
    ),
  ),
  /** The body of an `application/problem+json` response (cut to its first 4 KB). */
  problem: v.optional(v.pipe(v.string(), v.maxLength(PROBLEM_LIMIT))),
});

export const SetDefaultRailInput = v.strictObject({ railId: v.pipe(v.string(), v.maxLength(40)) });

export const RailIdInput = v.strictObject({ railId: v.pipe(v.string(), v.maxLength(40)) });

export const messageSchemas = {
  /** The page's request was answered 402 with a challenge the main-world script recognised. */
  'challenge.seen': { audience: 'page', input: ChallengeSeenInput },
  /** The page's own wallet answered (or refused) what a `pay-in-page` verdict asked it. */
  'page.payResult': { audience: 'page', input: PagePayResultInput },
  /** The paid retry's response arrived: its status and the sha256 of its body. */
  'payment.delivered': { audience: 'page', input: DeliveredInput },
  /** Choose the rail that pays. */
  'rails.setDefault': { audience: 'extension', input: SetDefaultRailInput },
  /** Whether a password is set, and any lockout. */
  'auth.status': { audience: 'extension', input: v.strictObject({}) },
  /** Start 2FA setup: a new TOTP secret and its otpauth:// URI. */
  'auth.totpSetup': { audience: 'extension', input: v.strictObject({}) },
  /** Finish 2FA setup with a code from the authenticator app. */
  'auth.totpConfirm': {
    audience: 'extension',
    input: v.strictObject({ code: v.pipe(v.string(), v.regex(/^\d{6}$/)) }),
  },
  /** Unlock the wallet secrets with the password (they stay unlocked until lock or idle). */
  'vault.unlock': {
    audience: 'extension',
    input: v.strictObject({ password: v.pipe(v.string(), v.maxLength(200)) }),
  },
  /** Lock the wallet secrets now. */
  'vault.lock': { audience: 'extension', input: v.strictObject({}) },
  /** Set or change the password for strong approvals. */
  'auth.setPassword': { audience: 'extension', input: SetPasswordInput },
  /** Link a wallet (validated: URL and key shape, NWC string). */
  'rails.add': { audience: 'extension', input: AddRailInput },
  /** Ask a wallet for its balance. */
  'rails.test': { audience: 'extension', input: RailIdInput },
  /** Unlink a wallet. */
  'rails.remove': { audience: 'extension', input: RailIdInput },
  /** The whole ledger as a backup (JSON, amounts as strings). */
  'ledger.export': { audience: 'extension', input: v.strictObject({}) },
  /** Merge a backup into the ledger; validated row by row; says what changed. */
  'ledger.import': { audience: 'extension', input: v.strictObject({ backup: v.unknown() }) },
  /** Start linking a card: opens the card service's page in a tab. */
  'card.linkStart': {
    audience: 'extension',
    input: v.strictObject({ serviceUrl: v.optional(v.pipe(v.string(), v.url())) }),
  },
  /** A linked card's own limits, enforced by the card service (minor units; null: none). */
  'rails.cardLimits': {
    audience: 'extension',
    input: v.strictObject({
      railId: v.pipe(v.string(), v.maxLength(60)),
      perChargeMinor: v.nullable(v.pipe(v.string(), v.regex(/^[1-9]\d{0,11}$/))),
      perDayMinor: v.nullable(v.pipe(v.string(), v.regex(/^[1-9]\d{0,11}$/))),
    }),
  },
  /** Whether the card being linked is done (the settings page polls this). */
  'card.linkPoll': { audience: 'extension', input: v.strictObject({}) },
  /** Pay a waiting quote with another of the wallets it offers. */
  'approval.switchRail': {
    audience: 'extension',
    input: v.strictObject({
      paymentId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)),
      railId: v.pipe(v.string(), v.maxLength(60)),
    }),
  },
  /** Take a plan the app offers beside a waiting quote instead of paying per use. */
  'approval.subscribe': {
    audience: 'extension',
    input: v.strictObject({
      paymentId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)),
      planId: v.pipe(v.string(), v.regex(/^[a-z0-9-]{1,40}$/)),
    }),
  },
  /** The subscriptions, each refreshed from the app when `refresh`. */
  'subscriptions.list': {
    audience: 'extension',
    input: v.strictObject({ refresh: v.optional(v.boolean(), false) }),
  },
  /** Sites whose last 30 days per use cost more than a plan they offer. */
  'plans.hints': { audience: 'extension', input: v.strictObject({}) },
  /** Cancel a plan at the end of its period. */
  'subscriptions.cancel': {
    audience: 'extension',
    input: v.strictObject({ id: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)) }),
  },
  /** Reject what a paid charge delivered: opens a dispute; a card is refunded (all, or `amountMinor`). */
  'payment.reject': {
    audience: 'extension',
    input: v.strictObject({
      paymentId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)),
      reason: v.pipe(v.string(), v.minLength(1), v.maxLength(500)),
      amountMinor: v.optional(v.pipe(v.string(), v.regex(/^\d{1,15}$/))),
    }),
  },
  /** Accept a charge under review: final (card: the actual is captured; Lightning: the difference comes back). */
  'payment.accept': {
    audience: 'extension',
    input: v.strictObject({ paymentId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)) }),
  },
  /** After the review window: ask for (part of) a charge back (card: refunded; Lightning: the app decides). */
  'payment.refund': {
    audience: 'extension',
    input: v.strictObject({
      paymentId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)),
      reason: v.pipe(v.string(), v.minLength(1), v.maxLength(500)),
      amountMinor: v.optional(v.pipe(v.string(), v.regex(/^\d{1,15}$/))),
    }),
  },
  /** Look now for what waits on time or others: ended windows, refunds paid, chargebacks. */
  'review.sweep': { audience: 'extension', input: v.strictObject({}) },
  /** The dispute log, newest first. */
  'disputes.list': { audience: 'extension', input: v.strictObject({}) },
  /** Bring a tab's quote window to the front. */
  'approvals.focus': { audience: 'extension', input: PendingApprovalsInput },
  /** This period's spend against each budget. */
  'spend.summary': { audience: 'extension', input: v.strictObject({}) },
  /** General settings; each field optional, the whole message validated before anything is saved. */
  'settings.set': {
    audience: 'extension',
    input: v.strictObject({
      currency: v.optional(v.pipe(v.string(), v.regex(/^[A-Z]{3}$/, 'a currency code such as USD'))),
      rateSources: v.optional(RateSourcesSchema),
      autoLockMinutes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(24 * 60))),
      muteAutoNotices: v.optional(v.boolean()),
      cardServiceUrl: v.optional(v.pipe(v.string(), v.url('the card service must be a URL'))),
    }),
  },
  'settings.get': { audience: 'extension', input: v.strictObject({}) },
  /** Pause all payments (every charge is refused until resumed), or resume. */
  'pause.set': { audience: 'extension', input: v.strictObject({ paused: v.boolean() }) },
  /** A manual exchange rate, used only while no rate source answers, until it expires. */
  'rates.setManual': {
    audience: 'extension',
    input: v.strictObject({
      rate: v.pipe(v.string(), v.regex(/^\d{1,15}(\.\d{1,18})?$/)),
      validForHours: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(24 * 30)),
    }),
  },
  /** The spending rules (amounts as decimal strings of minor units). */
  'rules.get': { audience: 'extension', input: v.strictObject({}) },
  /** Replace the spending rules; validated whole, refused with the reason. */
  'rules.set': { audience: 'extension', input: v.record(v.string(), v.unknown()) },
  /** The popup's summary: version, rails, counters. */
  'status.get': { audience: 'extension', input: v.strictObject({}) },
  /** The most recent 402 challenges seen, newest first. */
  'challenges.recent': { audience: 'extension', input: RecentChallengesInput },
  /** The quotes waiting for the user in one tab's approval window, oldest first. */
  'approvals.pending': { audience: 'extension', input: PendingApprovalsInput },
  /** The user's answer to one quote. Only the approval window sends it. */
  'approval.decide': { audience: 'extension', input: DecideInput },
  /** "Block this site" in the quote window: the quote's site is blocked and its waiting quotes denied. */
  'approval.blockSite': {
    audience: 'extension',
    input: v.strictObject({ paymentId: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/)) }),
  },
  /** The ledger, newest first. */
  'payments.recent': { audience: 'extension', input: RecentChallengesInput },
} as const satisfies Record<string, { audience: Audience; input: v.GenericSchema }>;

export type MessageType = keyof typeof messageSchemas;
export type MessageInput<T extends MessageType> = v.InferOutput<(typeof messageSchemas)[T]['input']>;

/** Where a kept credential goes: requests to this origin whose path starts with the prefix. */
export interface CredentialScope {
  origin: string;
  pathPrefix: string;
}

/** What the worker tells the page to do with a 402. */
export type ChallengeVerdict =
  /**
   * `refusedBeforeLedger`: nothing was paid for this request (refused before a payment was
   * recorded, or the challenge's earlier payment was refused by the app): its log entry says why.
   */
  | { action: 'pass'; reason: string; said?: Said; refusedBeforeLedger?: true }
  /** Retry the request with `credential` (its header is one of RETRY_HEADERS, checked before it leaves). */
  | {
      action: 'retry';
      credential: RetryCredential;
      reason: string;
      paymentId?: string;
      /**
       * A reusable credential (an L402 token, a subscriber credential): the page may send it on
       * its later requests to this origin and path prefix, for as long as the document lives.
       */
      keep?: CredentialScope;
      /** Paid before this request: a 402 to the retry refuses it (ask again with `carried`). */
      held?: true;
    }
  /** Ask the page's own wallet `request`, and report its answer through `page.payResult`. */
  | ({ action: 'pay-in-page'; paymentId: string; reason: string } & PageWalletRequest);

export interface ChallengeRecordView {
  id: number;
  origin: string;
  url: string;
  method: string;
  protocols: string[];
  seenAt: number;
  error?: string;
  errorSaid?: Said;
}

/** An x402 charge as the pages show it. Amounts are decimal strings. */
export interface X402View {
  /** `exact` pays the amount; `upto` at most it (the app settles the actual). */
  scheme: 'exact' | 'upto';
  /** Base units of the token, and its decimals and symbol (USDC: 6). */
  amount: string;
  decimals: number;
  symbol: string;
  /** The charge in US cents (USDC counts as dollars one for one). */
  usdMinor: string;
  /** The chain by name ("Base Sepolia"), and whether it is a test network (no real money). */
  networkName: string;
  testnet: boolean;
  payTo: string;
  /** Once signed: the payer's account; once settled: the transaction. */
  payer?: string;
  transaction?: string;
}

/** A quote as the approval window shows it. Amounts are decimal strings: messages are JSON. */
export interface QuoteView {
  id: string;
  origin: string;
  /** The site that asks (registrable domain, ASCII/punycode form). */
  site: string;
  /** The tab's top-level site, when the asking frame belongs to another site. */
  topSite?: string;
  /** The site's name uses international characters (shown in punycode): a look-alike warning. */
  lookalike: boolean;
  /** No payment to this site was approved before. */
  firstPayment: boolean;
  /** Who is paid. `isNew`: not approved for this site before; `changed`: not who was paid last time. */
  payee?: { kind: 'node' | 'card' | 'address'; id: string; short: string; isNew: boolean; changed: boolean };
  /** What "let <site> pay automatically" offers by default (minor units); absent when already allowed. */
  autoOffer?: { perChargeMinor: string; perDayMinor: string };
  url: string;
  method: string;
  /** The app's own words (memo, description), cleaned of bidi and invisible characters, cut to length. */
  description?: string;
  /** The app's words had characters removed or were cut. */
  descriptionAltered?: boolean;
  /** Lightning, a card authorization, or an x402 token transfer (the last two have no sats: `amountMsat` 0). */
  kind: 'lightning' | 'card' | 'x402';
  amountMsat: string;
  /** An x402 charge: the token, the chain and the payee. */
  x402?: X402View;
  amountMinor?: string;
  currency: string;
  rate?: { minorPerBtc: string; source: string; ageMs: number; stale: boolean };
  /** Until when the offer can be paid (unix seconds). */
  expiresAt: number;
  createdAt: number;
  tier: 'confirm' | 'strong' | 'overage';
  /** The app's estimate in the user's currency (the maximum is what is authorized). */
  estimateMinor?: { min: string; max: string };
  /** How long the user may reject what is delivered, when the app gives a review window. */
  reviewWindowMs?: number;
  /** The kind of wallet that would pay: 'card' shows an authorization, not a final charge. */
  railKind: string;
  railId: string;
  /** The wallets that could pay this quote instead (the default preselected as `railId`). */
  rails: { id: string; label: string; kind: string }[];
  reasons: string[];
  /** The reasons as Saids (absent from older records): the window shows these in the user's language. */
  reasonsSaid?: Said[];
  budgets: { label: string; limitMinor: string; afterMinor: string; overMinor: string }[];
  /** Plans the app offers instead of paying per use, compared with this site's history. */
  plans?: PlanView[];
  /** Why the plans the app offered were left out (in English, from the check). */
  plansRefused?: string;
  /** This charge is a plan's period (the first, or a renewal asked above the standing approval). */
  plan?: {
    kind: 'subscribe' | 'renewal' | 'overage';
    name: string;
    interval: PlanView['interval'];
    intervalCount: number;
  };
}

export interface PaymentView {
  id: string;
  tabId?: number;
  description?: string;
  railId: string;
  origin: string;
  url: string;
  via: 'fetch' | 'navigation';
  state: string;
  approval: string;
  /** Lightning, a card charge, or x402 (the last two: `amountMsat` 0 and `paymentHash` empty). */
  kind: 'lightning' | 'card' | 'x402';
  amountMsat: string;
  x402?: X402View;
  amountMinor?: string;
  currency?: string;
  rate?: { minorPerBtc: string; source: string; asOf: number };
  paymentHash: string;
  failure?: { code: string; reason: string; said?: Said };
  createdAt: number;
  paidAt?: number;
  /** The app's estimate in the user's currency. */
  estimateMinor?: { min: string; max: string };
  /** Under review until this time (unix ms); absent when the app gave no review window. */
  reviewEndsAt?: number;
  /** True while the charge can be accepted or rejected. */
  provisional: boolean;
  /** The actual amount and what came back, in the user's currency; a note on how it went. */
  actualMinor?: string;
  refundedMinor?: string;
  refundPending?: boolean;
  settlementNote?: string;
  settlementNoteSaid?: Said;
  /** Paid, and the app refused the valid proof: the status, and who saw it (the page or the browser). */
  deliveredNothing?: { status: number; by: 'page' | 'browser' };
}

export interface DisputeView {
  id: string;
  paymentId: string;
  origin: string;
  reason: string;
  reasonSaid?: Said;
  requestedMinor?: string;
  amountMinor?: string;
  currency?: string;
  status: string;
  timeline: { at: number; status: string; note: string; said?: Said }[];
  openedAt: number;
  source?: string;
  answer?: { at: number; status: string; note?: string };
  /** What a reviewer looks at first; the export has all of it. */
  evidence: {
    url: string;
    paidAt?: number;
    proof?: string;
    /** `receipt`: the app's Payment-Receipt reference; `problem`: the reason its refusal gave. */
    delivered?: {
      status: number;
      sha256?: string;
      by?: 'page' | 'browser';
      refused?: true;
      headers?: [string, string][];
      receipt?: string;
      problem?: string;
    };
  };
}

export interface GeneralSettings {
  currency: string;
  /** The exchange-rate sources read (the defaults when the user chose none). */
  rateSources: RateSourceSetting[];
  /** What the sources said the last time they were asked. */
  rateCheck: RateCheck | null;
  autoLockMinutes: number;
  muteAutoNotices: boolean;
  cardServiceUrl: string | null;
}

export interface BudgetSpendView {
  id: string;
  label: string;
  period: 'day' | 'week' | 'month';
  scope: string;
  currency: string;
  limitMinor: string;
  spentMinor: string;
  reservedMinor: string;
  /** Local date the next period starts. */
  resetsOn: string;
  /** At this period's pace, the day (unix ms) the budget runs out, when it does before `resetsOn`. */
  runsOutAt?: number;
}

/** A plan the app offers beside a charge, as the quote window shows it (amounts in the user's currency). */
export interface PlanView {
  id: string;
  name: string;
  rail: 'lightning' | 'card';
  interval: 'day' | 'week' | 'month' | 'year';
  intervalCount: number;
  priceMinor: string;
  includes: { calls: number } | { creditMinor: string };
  overage?: { priceMinor: string; capMinor: string };
  /** This site's last 30 days on the ledger, and what the plan would have cost for the same use. */
  comparison: { days: number; spentMinor: string; calls: number; planCostMinor: string; savingMinor: string };
}

/** "A plan would have been cheaper here": a site, its plan, and what it would have saved. */
export interface PlanHintView {
  site: string;
  planId: string;
  planName: string;
  currency: string;
  spentMinor: string;
  calls: number;
  planCostMinor: string;
  savingMinor: string;
}

/** A subscription as the pages show it (amounts in the user's currency where a rate is known). */
export interface SubscriptionView {
  id: string;
  site: string;
  planName: string;
  rail: 'lightning' | 'card';
  state: 'active' | 'canceling' | 'ended';
  interval: PlanView['interval'];
  intervalCount: number;
  /** The plan's price per period in its own unit, and in the user's currency when known. */
  price: { unit: 'msat' | 'sat' | 'minor'; value: string; currency?: string };
  priceMinor?: string;
  periodStart: number;
  periodEnd: number;
  /** The next renewal (absent once cancelled). */
  renewsAt?: number;
  usage?: { used: number; included: number; overageCalls: number; overageMinor?: string; at: number };
  overageCapMinor?: string;
  /** Renewals and overage paid, newest first. */
  history: { at: number; kind: 'subscribe' | 'renewal' | 'overage'; amountMinor?: string; state: string }[];
  /** Last period the plan cost more than its use would have cost per call. */
  underused?: { periodCostMinor: string; perUseMinor: string };
}

export interface StatusView {
  version: string;
  rails: { id: string; kind: string; label: string }[];
  defaultRailId?: string;
  paused: boolean;
  challengesSeen: number;
  currency: string;
  /** none: no password, secrets stored unencrypted; locked/unlocked: sealed under the password. */
  vault?: 'none' | 'locked' | 'unlocked';
}

export interface MessageOutputs {
  'challenge.seen': ChallengeVerdict;
  'page.payResult': ChallengeVerdict;
  'payment.delivered': { recorded: boolean };
  'rails.setDefault': { railId: string };
  'rules.get': RulesWire;
  'rates.setManual': { currency: string };
  'pause.set': { paused: boolean };
  'settings.set': GeneralSettings;
  'settings.get': GeneralSettings;
  'spend.summary': BudgetSpendView[];
  'approvals.focus': { focused: boolean };
  'payment.reject': DisputeView;
  'payment.accept': PaymentView;
  'payment.refund': DisputeView;
  'review.sweep': { swept: true };
  'disputes.list': DisputeView[];
  'approval.switchRail': { switched: boolean };
  'approval.subscribe': { subscribing: boolean };
  'subscriptions.list': SubscriptionView[];
  'plans.hints': PlanHintView[];
  'subscriptions.cancel': SubscriptionView;
  'card.linkStart': { started: true };
  'card.linkPoll':
    | { status: 'none' }
    /** `page`: the card service's page has not opened yet; `card`: it waits for the card to be saved. */
    | { status: 'pending'; waiting: 'page' | 'card' }
    | { status: 'linked'; railId: string; label: string }
    | { status: 'failed'; reason: string; said?: Said };
  'rails.add': { id: string };
  'rails.cardLimits': {
    perChargeMinor: string | null;
    perDayMinor: string | null;
    pending: { perChargeMinor: string | null; perDayMinor: string | null; from: string } | null;
  };
  'rails.test': { ok: true; balanceMsat: string } | { ok: false; reason: string; said?: Said };
  'rails.remove': { removed: boolean };
  'ledger.export': {
    format: 'paybound-backup';
    version: 2;
    exportedAt: number;
    payments: unknown[];
    disputes?: unknown[];
  };
  'ledger.import': { added: number; alreadyThere: number; refused: number; reasons: string[] };
  'auth.status': { hasPassword: boolean; hasTotp: boolean; lockedUntil?: number };
  'auth.totpSetup': { uri: string; secret: string };
  'auth.totpConfirm': { hasTotp: true };
  'vault.unlock': { unlocked: true };
  'vault.lock': { unlocked: false };
  'auth.setPassword': { hasPassword: true };
  'rules.set': RulesWire;
  'status.get': StatusView;
  'challenges.recent': ChallengeRecordView[];
  'approvals.pending': QuoteView[];
  'approval.decide': { accepted: boolean };
  'approval.blockSite': { blocked: string; denied: number };
  'payments.recent': PaymentView[];
}

/** Worker → extension pages broadcasts (not requests; nothing answers them). */
export interface BroadcastMap {
  /**
   * `planEnded`: a subscription asked from this tab's window has come to its end (paid or not).
   * `settled`: the approved payment of that id has its outcome: the window that waited may close.
   */
  'approvals.changed': { tabId: number; planEnded?: true; settled?: string };
}
export type Broadcast = {
  [K in keyof BroadcastMap]: { broadcast: K; data: BroadcastMap[K] };
}[keyof BroadcastMap];

export type MessageOutput<T extends MessageType> = MessageOutputs[T];

export interface Envelope<T extends MessageType = MessageType> {
  type: T;
  payload: MessageInput<T>;
}

/** A refusal: `message` in English (logs, tests); `said`, when present, is what the pages show. */
export type Reply<T> =
  | { ok: true; data: T }
  | { ok: false; error: { code: ErrorCode; message: string; said?: Said } };

export type ErrorCode = 'bad_message' | 'forbidden' | 'internal' | 'bad_challenge' | 'not_found' | 'auth';

export const EnvelopeSchema = v.object({
  type: v.picklist(Object.keys(messageSchemas) as MessageType[]),
  payload: v.unknown(),
});
