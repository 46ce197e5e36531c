/**
 * The Dexie database. Versions are append-only once released: a change is a new
 * `this.version(n)` with its upgrade function, never an edit of a released one.
 */
import Dexie, { type Table } from 'dexie';
import type { MppChallenge } from '../core/challenge/mpp';
import type { PlanOffer } from '../core/challenge/plans';
import type { BitcoinNetwork } from '../core/lightning/bolt11';
import type { PaymentReceipt, ProblemDetails } from '../core/payments/delivery';
import type { Said } from '../core/text/said';
import { upgradeToMethods, upgradeToSites, upgradeToUnusedIndex } from './migrations';

export interface ChallengeRecord {
  id?: number;
  /** The origin the browser reported for the sending frame, never one the page claimed. */
  origin: string;
  url: string;
  method: string;
  protocols: string[];
  seenAt: number;
  /** Why the challenge could not be used, when it could not (English, for the record). */
  error?: string;
  /** The same, for the pages to say in the user's language. */
  errorSaid?: Said;
}

interface RailBase {
  id: string;
  label: string;
  network: BitcoinNetwork;
  createdAt: number;
  /** The secret part of `config`, AES-GCM sealed; then `config` holds it blanked. */
  sealed?: { iv: string; ct: string };
}

/** Connection details are secrets: sealed by the vault once a password is set (DESIGN §9). */
export type RailRecord =
  | (RailBase & { kind: 'lnbits'; config: { url: string; adminKey: string } })
  | (RailBase & { kind: 'nwc'; config: { uri: string } })
  /** The page's own `window.webln` (a wallet extension such as Alby): advisory, paid from the page. */
  | (RailBase & { kind: 'webln'; config: Record<string, never> })
  /** A card linked through the card service: the device token stands for it. */
  | (RailBase & { kind: 'card'; config: { serviceUrl: string; token: string } })
  /**
   * The page's own Ethereum wallet (EIP-1193, e.g. MetaMask), for x402: advisory, signs in the page.
   * `network` says which chains it pays on: `mainnet` only mainnets, anything else only testnets.
   */
  | (RailBase & { kind: 'ethereum'; config: Record<string, never> });

/** Lightning rails the worker can pay through itself. */
export type WorkerRailRecord = Extract<RailRecord, { kind: 'lnbits' | 'nwc' }>;

export type RailKind = RailRecord['kind'];

export interface SettingRecord {
  key: string;
  value: unknown;
}

/**
 * Ledger states (DESIGN §6). `reserved` covers the wait for approval; `failed` has released its
 * reservation; `unknown` means the worker died while paying and the rail must be asked.
 */
export type PaymentState =
  | 'reserved'
  | 'paying'
  | 'paid'
  | 'failed'
  | 'unknown'
  | 'proof_failed'
  | 'accepted'
  | 'rejected'
  /** Rejected (or asked back after the window), and the app has not paid the refund yet. */
  | 'refund_requested'
  | 'refunded'
  | 'partially_refunded'
  | 'refund_denied';

export type ApprovalState = 'waiting' | 'approved' | 'denied' | 'auto';

export interface RateSnapshot {
  currency: string;
  minorPerBtc: bigint;
  source: string;
  /** When the source stated the rate (unix ms); its age at quote time is quotedAt - asOf. */
  asOf: number;
}

export type Tier = 'auto' | 'confirm' | 'strong' | 'overage' | 'deny';

/** What a payment holds against the running totals it counts into. */
export interface Reservation {
  /** The running total (scope and period), see core/policy/rules.ts totalKey. */
  key: string;
  amountMinor: bigint;
}

/** What the app's challenge asked, in its protocol: what the credential is built from. */
export type PaymentChallenge =
  /** The L402 macaroon and the scheme to present it with. */
  | { protocol: 'l402'; macaroon: string; scheme: 'L402' | 'LSAT' }
  /** MPP (`Payment` scheme): the challenge the credential must echo. */
  | { protocol: 'mpp'; mpp: MppChallenge }
  /**
   * x402: the version asked in, the resource the challenge named, and the requirement accepted,
   * exactly as the server sent it (the v2 payment echoes it).
   */
  | {
      protocol: 'x402';
      version: 1 | 2;
      resource: { url: string; description?: string; mimeType?: string };
      accepted: Record<string, unknown>;
    };

/** What every payment holds, whichever method paid it. */
interface PaymentBase {
  id: string;
  /** The challenge's identity (`ln:<payment hash>`, `card:<challenge id>`): unique, so nothing is paid twice. */
  key: string;
  challenge: PaymentChallenge;
  /** The frame origin the browser reported for the request that asked. */
  origin: string;
  /** Its site (registrable domain): what budgets, consent, rules and the runaway guard count by. */
  site: string;
  /** The tab's top-level site, when the asking frame is of another site. */
  topSite?: string;
  /** Who is paid: the invoice's Lightning node, or the card merchant's account. */
  payee?: Payee;
  url: string;
  /** The HTTP method of the request that was answered with the 402. */
  method: string;
  tabId?: number;
  /** 'fetch' for a page's request, 'navigation' for a top-level page load. */
  via: 'fetch' | 'navigation';
  railId: string;
  state: PaymentState;
  approval: ApprovalState;
  /** User-currency amount, rounded up: what budgets count. Absent when no rate was available. */
  amountMinor?: bigint;
  rate?: RateSnapshot;
  description?: string;
  /** Until when the offer can be paid (unix seconds): the invoice's expiry, or the challenge's. */
  expiresAt: number;
  /** The 402's headers, to quote the same request again for another wallet. */
  challengeHeaders?: [string, string][];
  /** `reason` in English for the record; `said` for the pages (absent on rows from older versions). */
  failure?: { code: string; reason: string; said?: Said };
  /**
   * The app's estimate, in the payment's own unit (`amount.unit`). The charged amount is its
   * maximum.
   */
  estimate?: { min: bigint; max: bigint };
  /** The app's review policy: the charge is provisional until `endsAt` (set once paid). */
  review?: ReviewPolicy;
  /**
   * What the first use of the paid credential delivered: as the page reported it for a fetch or
   * XHR (advisory: the page is untrusted), as the browser saw it for a page load.
   */
  delivery?: Delivery;
  /**
   * Paid after the request it answered was gone (the worker stopped, the wallet answered late): no
   * page has been handed its credential yet. The next challenge in its scope takes that credential
   * instead of paying again, and clears this.
   */
  credentialUnused?: true;
  /**
   * Its site and creation time while `credentialUnused` holds (removed with it): a sparse index,
   * so that finding a site's unused credentials reads only those, not the site's whole day.
   */
  unusedAt?: [string, number];
  /**
   * The SHA-256 (hex) of the request body the page retries with, when the challenge bound the
   * payment to it (MPP `digest`): to quote the same request again for another wallet.
   */
  requestBodySha256?: string;
  /** What the app settled, and what came back (Lightning: counted from the user's own wallet). */
  settlement?: Settlement;
  /** The plans the app offered beside this charge (docs/plans.md §1), in the payment's own unit. */
  plans?: PlanOfferRecord[];
  /** Why the plans the app offered beside this charge were left out (docs/plans.md §1). */
  plansRefused?: string;
  /** A subscription's charge: the first period, a renewal, or overage under a plan. */
  plan?: PaymentPlan;
  /** The policy's decision when the challenge arrived, with its reasons and budget effects. */
  tier: Tier;
  reasons: string[];
  reasonsSaid?: Said[];
  budgetEffects: {
    budgetId: string;
    label: string;
    limitMinor: bigint;
    afterMinor: bigint;
    overMinor: bigint;
  }[];
  reservations: Reservation[];
  /** held: counted as reserved; committed: counted as spent; released: no longer counted. */
  reservationState: 'held' | 'committed' | 'released';
  createdAt: number;
  updatedAt: number;
  paidAt?: number;
}

/** A Lightning charge (an L402, or MPP's Lightning method), paid by the worker or by the page's wallet. */
export interface LightningPayment extends PaymentBase {
  kind: 'lightning';
  challenge: Extract<PaymentChallenge, { protocol: 'l402' | 'mpp' }>;
  amount: { unit: 'msat'; value: bigint };
  lightning: {
    invoice: string;
    paymentHash: string;
    /** The wallet's proof of payment, once it gave one (checked against the hash, or disputed). */
    preimage?: string;
  };
}

/** A card charge through the card service: an authorization the app captures later. */
export interface CardPayment extends PaymentBase {
  kind: 'card';
  /** The authorized maximum, in minor units of the card's currency (ISO 4217, upper case: the user's). */
  amount: { unit: 'minor'; currency: string; value: bigint };
  challenge: Extract<PaymentChallenge, { protocol: 'mpp' }>;
  card: {
    /** The card service's signed receipt for the authorization, and its PaymentIntent. */
    receipt?: string;
    paymentIntent?: string;
    /** A plan's first period: the card service's subscription (its receipt is `receipt`). */
    subscription?: string;
  };
}

/** What the payer's Ethereum wallet has answered so far, step by step (see methods/x402.ts). */
export interface X402Progress {
  /** The wallet's account: the payer. */
  payer?: `0x${string}`;
  /** The EIP-3009 authorization Paybound built for the wallet to sign (numbers as decimal strings). */
  authorization?: {
    from: `0x${string}`;
    to: `0x${string}`;
    value: string;
    validAfter: string;
    validBefore: string;
    nonce: `0x${string}`;
  };
  /** `upto`: the Permit2 permit Paybound built instead (at most the amount, through the named facilitator). */
  permit?: {
    from: `0x${string}`;
    permitted: { token: `0x${string}`; amount: string };
    spender: `0x${string}`;
    nonce: string;
    deadline: string;
    witness: { to: `0x${string}`; facilitator: `0x${string}`; validAfter: string };
  };
  /** The wallet's signature over exactly that authorization, checked. */
  signature?: `0x${string}`;
  /** What is being asked of the wallet now. */
  step?: 'accounts' | 'chain' | 'switch' | 'allowance' | 'sign';
}

/** An x402 charge: a token transfer the payer's wallet authorizes and the app's facilitator settles. */
export interface X402Payment extends PaymentBase {
  kind: 'x402';
  /** Base units of the token (USDC: 10^6 per dollar); `exact` pays this, `upto` at most this. */
  amount: { unit: 'token'; symbol: 'USDC'; decimals: number; value: bigint };
  challenge: Extract<PaymentChallenge, { protocol: 'x402' }>;
  x402: X402Progress & {
    scheme: 'exact' | 'upto';
    /** CAIP-2 (`eip155:84532`). */
    network: string;
    /** The token contract. */
    asset: `0x${string}`;
    payTo: `0x${string}`;
    /** The charge in US cents, rounded up (USDC counts as dollars one for one). */
    usdMinor: bigint;
    /** The dollar rate the user's currency was reached through, when it is not USD. */
    usdRate?: RateSnapshot;
    /** The app's settlement (`PAYMENT-RESPONSE`): the transaction, once it said. */
    settlement?: { transaction: string; network: string; payer?: string; amount?: bigint; at: number };
  };
}

/** One payment on the ledger, by the kind of method that pays it. */
export type PaymentRecord = LightningPayment | CardPayment | X402Payment;
export type PaymentKind = PaymentRecord['kind'];

/** `Omit` over each member of a union (the built-in one keeps only the members' common keys). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a write may change: the shared fields, and the method's own details as a whole. */
export type PaymentPatch = Partial<Omit<PaymentBase, 'id' | 'state' | 'challenge'>> & {
  lightning?: LightningPayment['lightning'];
  card?: CardPayment['card'];
  x402?: X402Payment['x402'];
};

/** Who saw a delivery: the page's own report (untrusted), or the browser's view of a page load. */
export type DeliveryWitness = 'page' | 'browser';

/** The response to the first request that carried a paid credential. */
export interface Delivery {
  status: number;
  /** The body's sha256 (hex); absent when the browser, not the page, saw the response. */
  sha256?: string;
  at: number;
  /** Absent on rows from before witnesses were kept: those were the page's reports. */
  by?: DeliveryWitness;
  /**
   * The app answered the valid proof 401, 402 or 403: the user paid and got nothing. The
   * payment stays paid (the money moved); its challenge is never paid or presented again.
   */
  refused?: true;
  /** A few of the response's headers (REFUSAL_HEADERS), each bounded: the evidence. */
  headers?: [string, string][];
  /** What the response said of the payment: MPP's `Payment-Receipt`, parsed. */
  receipt?: PaymentReceipt;
  /** The Problem Details (`application/problem+json`) of a refusal, parsed. */
  problem?: ProblemDetails;
}

/** A plan an app offers (docs/plans.md §1), amounts in the unit of the challenge it came on. */
export type PlanOfferRecord = PlanOffer;

/** What a subscription's payment was for. */
export interface PaymentPlan {
  kind: 'subscribe' | 'renewal' | 'overage';
  planId: string;
  planName: string;
  /** The subscription it belongs to, once there is one. */
  subscriptionId?: string;
  interval: PlanOfferRecord['interval'];
  intervalCount: number;
  /** The plan's overage terms, in its own unit: a card plan's subscription carries them. */
  overage?: { price: bigint; cap: bigint };
}

/**
 * A plan the user subscribed to, and the standing approval it records (docs/plans.md §5):
 * renewals and overage within `mandate` are paid without a window.
 */
export interface SubscriptionRecord {
  id: string;
  site: string;
  /** The API origin the subscriber credential is sent to (the subscribe URL's). */
  origin: string;
  subscribeUrl: string;
  planId: string;
  planName: string;
  rail: 'lightning' | 'card';
  railId: string;
  mandate: {
    unit: PlanOfferRecord['unit']['unit'];
    /** The card's currency, for a card plan. */
    currency?: string;
    amountPerPeriod: bigint;
    interval: PlanOfferRecord['interval'];
    intervalCount: number;
    includes: PlanOfferRecord['includes'];
    overage?: { price: bigint; cap: bigint };
  };
  /** What the app knows the subscriber by: sent in `Paybound-Subscriber` to its origin. */
  credential: string;
  /** The id of the session rule that attaches the credential. */
  ruleId: number;
  /** active; canceling: ends at `periodEnd`; ended. */
  state: 'active' | 'canceling' | 'ended';
  periodStart: number;
  periodEnd: number;
  /** The app's last word on usage this period. */
  usage?: { used: number; included: number; overageCalls: number; overageAmount: bigint; at: number };
  /** The card service's subscription, for a card plan. */
  cardSubscription?: string;
  createdAt: number;
  updatedAt: number;
}

export interface Payee {
  /** A Lightning node, a card merchant's account, or an EVM address (x402's `payTo`, lower case). */
  kind: 'node' | 'card' | 'address';
  id: string;
}

/**
 * What the user agreed to for one site, with their own clicks: the first approved payment, and
 * every payee approved for it. A site without a record has never been approved.
 */
export interface SiteRecord {
  site: string;
  firstApprovedAt: number;
  payees: { kind: Payee['kind']; id: string; firstAt: number }[];
  /** The payee of the last payment to this site, by kind (a site may take cards and Lightning), to flag a change. */
  lastPayee?: Partial<Record<Payee['kind'], string>>;
  lastPaidAt?: number;
}

export interface ReviewPolicy {
  windowMs: number;
  /** The app's review endpoint (README, "Estimates and the review window"). */
  refundUrl: string;
  /** The id the app knows the charge by: the payment hash, or the MPP challenge id for a card. */
  chargeId: string;
  /** The unit of amounts on the wire: msat for L402, sat for MPP Lightning, minor for a card. */
  unit: 'msat' | 'sat' | 'minor';
  endsAt?: number;
}

export interface Settlement {
  /** The actual amount the app reported, in the payment's unit (≤ the maximum). */
  actual?: bigint;
  /** An actual the app reported above the maximum: refused, and disputed. */
  overReported?: bigint;
  /** What came back to the user, in the payment's unit. */
  refunded: bigint;
  /** A refund the app still owes: the invoice the user's wallet made for it. */
  pendingRefund?: {
    invoice: string;
    paymentHash: string;
    amount: bigint;
    requestedAt: number;
    /** The dispute the refund answers (absent: the difference after an accept). */
    disputeId?: string;
  };
  /** How much of `refunded`, in the user's currency, no longer counts against the budgets. */
  countedMinor?: bigint;
  decidedAt?: number;
  /** How it was decided: by the user, or at the end of the window. */
  decidedBy?: 'user' | 'window';
  note?: string;
  noteSaid?: Said;
}

export interface TokenRecord {
  /** Also the id of the declarativeNetRequest session rule that attaches it. */
  id?: number;
  /** The site that paid: only requests that site starts carry the token. */
  site: string;
  /** What was paid for: the page's fetch/XHR, or one tab's top-level page load. */
  resource: 'fetch' | 'navigation';
  /** For a page load: the tab it was paid in. */
  tabId?: number;
  /** scheme://host[:port] of the API the token is sent to. */
  origin: string;
  /** Path prefix the token covers, ending in '/'. */
  pathPrefix: string;
  authorization: string;
  paymentId: string;
  createdAt: number;
}

/** A running total: what is reserved and spent for one scope in one period, in minor units. */
export interface SpendTotal {
  key: string;
  reservedMinor: bigint;
  committedMinor: bigint;
}

/** A notification already given (milestone of a budget in a period): given once, even across restarts. */
export interface NoticeRecord {
  key: string;
  at: number;
}

export type DisputeStatus = 'open' | 'refunded' | 'partially_refunded' | 'denied' | 'escalated';

/** A complaint about a payment: a rejected delivery, a failed proof, a chargeback. */
export interface DisputeRecord {
  id: string;
  paymentId: string;
  origin: string;
  reason: string;
  /** When Paybound, not the user, gave the reason: what the pages show. */
  reasonSaid?: Said;
  /** What the user asks back, in minor units of the payment's currency (absent: all of it). */
  requestedMinor?: bigint;
  /** What a careful reviewer needs: where, what was asked, what was proven. */
  evidence: {
    url: string;
    challengeHeaders: [string, string][];
    amountMsat: bigint;
    amountMinor?: bigint;
    currency?: string;
    proof?: {
      preimage?: string;
      receipt?: string;
      paymentHash?: string;
      /** x402: the settlement's transaction hash, and the signed authorization's nonce. */
      transaction?: string;
      nonce?: string;
    };
    paidAt?: number;
    /** The quote as shown: the rate and the app's estimate (the payment's own unit). */
    rate?: RateSnapshot;
    estimate?: { min: bigint; max: bigint };
    /** The response the user got after paying: its status, headers kept and the sha256 of its body. */
    delivery?: Delivery;
  };
  status: DisputeStatus;
  timeline: { at: number; status: DisputeStatus; note: string; said?: Said }[];
  /**
   * What opened it: the user, a failed proof, an app that over-reported, a card chargeback, or an
   * app that refused the paid proof (`evidence.delivery.refused`, with who saw the refusal).
   */
  source?: 'user' | 'proof' | 'app' | 'chargeback' | 'refused';
  /** The app's last answer to the refund request, in its words. */
  answer?: { at: number; status: string; note?: string };
  /** A chargeback at the card network: its id at the card service. */
  chargebackId?: string;
  openedAt: number;
}

export class PayboundDb extends Dexie {
  challenges!: Table<ChallengeRecord, number>;
  rails!: Table<RailRecord, string>;
  settings!: Table<SettingRecord, string>;
  payments!: Table<PaymentRecord, string>;
  tokens!: Table<TokenRecord, number>;
  spend!: Table<SpendTotal, string>;
  notices!: Table<NoticeRecord, string>;
  disputes!: Table<DisputeRecord, string>;
  sites!: Table<SiteRecord, string>;
  subscriptions!: Table<SubscriptionRecord, string>;

  constructor(name = 'paybound') {
    super(name);
    this.version(1).stores({
      challenges: '++id, origin, seenAt',
      rails: 'id, kind',
      settings: 'key',
      payments: 'id, &key, origin, state, createdAt, [origin+createdAt]',
      tokens: '++id, &[origin+pathPrefix]',
      spend: 'key',
      notices: 'key',
      disputes: 'id, paymentId, status, openedAt',
    });
    // Sites are registrable domains; tokens belong to the site that paid; consent per site and payee.
    this.version(2)
      .stores({
        payments: 'id, &key, origin, state, createdAt, [origin+createdAt], [site+createdAt]',
        tokens: '++id, &[site+resource+origin+pathPrefix]',
        sites: 'site',
      })
      .upgrade(upgradeToSites);
    // Each payment becomes a record of its method: its amount with its unit, the method's own
    // details in their own sub-object, the protocol's challenge on its own.
    this.version(3).stores({}).upgrade(upgradeToMethods);
    // Plans: the subscriptions and their standing approvals.
    this.version(4).stores({ subscriptions: 'id, site, state' });
    // Unused credentials found through their own sparse index.
    this.version(5)
      .stores({
        payments: 'id, &key, origin, state, createdAt, [origin+createdAt], [site+createdAt], unusedAt',
      })
      .upgrade(upgradeToUnusedIndex);
  }
}
