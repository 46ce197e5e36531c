/**
 * A payment method: how one kind of wallet answers a 402. The payments flow keeps what every
 * charge shares (rate limit, consent, policy, the reservation, approval, expiry, the retry) and
 * asks the method for the rest: which challenge it takes, what the record holds, how it pays,
 * the credential the page retries with, and what to do after a worker restart.
 */
import type { detectChallenges } from '../../core/challenge/detect';
import type { PageWallet, PageWalletResult } from '../../core/payments/page-wallet';
import type { RetryCredential } from '../../core/payments/retry-credential';
import type { Said } from '../../core/text/said';
import type { NewPayment } from '../../db/ledger';
import type {
  DistributiveOmit,
  Payee,
  PaymentPatch,
  PaymentRecord,
  PlanOfferRecord,
  RailKind,
  RailRecord,
  RateSnapshot,
  ReviewPolicy,
} from '../../db/schema';
import type { ChallengeVerdict } from '../../messages/map';
import type { LightningRail } from '../services/rails/types';

export type Detected = ReturnType<typeof detectChallenges>;

/** What the worker needs from outside to pay (the vault holds the rails' secrets). */
export interface MethodDeps {
  /** The rail for a record, its secret unsealed; throws RailError('locked') while Paybound is locked. */
  railFor(record: Extract<RailRecord, { kind: 'lnbits' | 'nwc' }>): Promise<LightningRail>;
  /** A record with its secret unsealed (throws RailError('locked')). */
  openRail<T extends RailRecord>(record: T): Promise<T>;
  now(): number;
}

/** The app's estimate and review terms, in the payment's own unit (msat, or minor units for a card). */
export interface QuoteTerms {
  estimate?: { min: bigint; max: bigint };
  review?: ReviewPolicy;
}

/** The request a challenge came with, as the method needs it. */
export interface ChallengeContext {
  url: string;
  origin: string;
  detected: Detected;
  protocols: string[];
  /** The user's currency, lower case. */
  currency(): Promise<string>;
  nowMs: number;
  /** SHA-256 (hex) of the body the page retries with, as it reported it: checked against a `digest`. */
  bodySha256?: string;
  /** The HTTP method of the request that was answered 402. */
  method: string;
  /** The 402's payment headers, and its body when the page sent it (x402 v1 asks in the body). */
  headers: ReadonlyArray<readonly [string, string]>;
  body?: string;
  /** The wallets the page said it has (advisory: the page could lie, and only misleads itself). */
  pageWallets?: readonly PageWallet[];
  /** The rate of another currency than the user's (x402 prices USDC in dollars first). */
  rate(currency: string): Promise<RateSnapshot | undefined>;
  /** A plan's period is being paid: an MPP challenge of intent `subscription` is the one to take. */
  subscription?: true;
}

/** The method's part of the record: what it charges, and how the charge is identified. */
export type MethodPart = DistributiveOmit<
  NewPayment,
  | 'id'
  | 'key'
  | 'origin'
  | 'site'
  | 'topSite'
  | 'payee'
  | 'url'
  | 'method'
  | 'tabId'
  | 'via'
  | 'railId'
  | 'challengeHeaders'
  | 'estimate'
  | 'review'
  | 'createdAt'
  | 'updatedAt'
>;

/** A challenge the method will pay, checked and priced. */
export interface Quote {
  /** The challenge's identity: the ledger's unique key, so nothing is paid twice. */
  key: string;
  /**
   * The challenge is a price, not an invoice (x402 names no nonce of its own): every request may
   * pay it again. Then `key` names a series: a presentation joins its open charge, or takes a
   * paid credential no page used, and otherwise starts the series' next charge.
   */
  series?: true;
  payee?: Payee;
  terms?: QuoteTerms;
  /** Plans the app offers beside the charge, checked (docs/plans.md §1). */
  plans?: PlanOfferRecord[];
  /** Why the plans the app offered were left out (the charge itself is quoted as it is). */
  plansRefused?: string;
  /** The app says this charge is overage of a plan the user holds (docs/plans.md §3). */
  overage?: { plan: string };
  /** The record's charge at this rate (a card needs none: it is priced in the user's currency). */
  part(rate: RateSnapshot, nowMs: number): MethodPart;
}

/** A challenge the method will not pay: the log's words, and what the page is told. */
export interface QuoteRefusal {
  /** The precise English for the log (or a Said). */
  error: string | Said;
  /** What a person reads in the log, when it differs from `error`. */
  shown?: Said;
  /** What the page is told. */
  reason: string | Said;
}

/** What paying (or asking the rail again) came to. */
export type Outcome =
  /** Paid: the record's proof, and the credential for the retry. */
  | { kind: 'paid'; patch: PaymentPatch; credential: RetryCredential; reason: string }
  /** The rail claims paid with a proof that does not hold: spent, and disputed. */
  | { kind: 'proof_failed'; patch: PaymentPatch; dispute: string; reason: string }
  /** No answer: the amount stays reserved until the rail says (`wakeAt`: settle it then). */
  | { kind: 'unknown'; failure: NonNullable<PaymentRecord['failure']>; reason: string; wakeAt?: number }
  | { kind: 'failed'; code: string; said: Said }
  /** Someone else pays (the page): the verdict hands it over; `patch` keeps what was learnt so far. */
  | { kind: 'handover'; verdict: ChallengeVerdict; patch?: PaymentPatch }
  /** Nothing known yet: the reservation stays. */
  | { kind: 'pending' };

export interface PaymentMethod {
  readonly kind: 'lightning-worker' | 'lightning-page' | 'card' | 'x402-page';
  /** The rail kinds this method pays through. */
  readonly rails: readonly RailKind[];
  /** The challenge it answers: wallets answering the same one can take over each other's quotes. */
  readonly challenge: 'lightning' | 'card' | 'x402';
  /** The unit of the record's own amounts: msat, the user's currency's minor units, or a token's base units. */
  readonly unit: 'msat' | 'minor' | 'token';
  /** The rail holds a secret: a locked vault is said before the quote, not after the approval. */
  readonly sealed: boolean;
  /** Whether the 402 offers a challenge this method could pay. */
  offered(detected: Detected): boolean;
  /** Selects and checks its challenge among the detected ones, and prices it. */
  quote(ctx: ChallengeContext, rail: RailRecord): Promise<Quote | QuoteRefusal>;
  /** Pays an approved charge through the rail. */
  pay(p: PaymentRecord, rail: RailRecord, deps: MethodDeps): Promise<Outcome>;
  /** The credential a paid charge is retried with again (a page asking after a restart). */
  credential(p: PaymentRecord): { credential: RetryCredential; reason: string } | undefined;
  /**
   * A charge whose outcome was lost (the worker stopped, the rail timed out): ask again. A new
   * challenge in the charge's scope waits for this answer, so it must end (the rail's timeout).
   */
  reconcile(p: PaymentRecord, rail: RailRecord, deps: MethodDeps): Promise<Outcome>;
  /**
   * The kind of page wallet this method hands its payments to (its `pay` answers `handover` with
   * a `pay-in-page` verdict); only a report from that kind of wallet is taken.
   */
  readonly pageWallet?: PageWallet;
  /** What the page's wallet answered, checked: the page could report anything. */
  fromPage?(p: PaymentRecord, result: PageWalletResult, deps: MethodDeps): Outcome;
}

export const isQuote = (q: Quote | QuoteRefusal): q is Quote => 'key' in q;
