/**
 * What the worker says to a person — a policy's reason, a payment's failure, an error — as a message
 * key with its arguments, so that the pages render it in the user's language. The English here is
 * the record's own wording (ledger rows, exports, logs); `public/_locales/en/messages.json` holds the
 * same sentences for the pages, and a unit test keeps the two and the other locales in step.
 *
 * `$1`, `$2` … are the arguments, in order. An argument is data (a budget's name, a count, a time,
 * a wallet's own words), never a sentence of ours.
 */
export const ENGLISH = {
  // Why a charge asks, or is refused, by the spending rules.
  reasonNotPositive: 'the amount is not a positive charge',
  reasonAbsurd: 'the amount is implausibly large',
  reasonBlocked: 'you blocked payments to this site',
  reasonLarge: 'a large charge: above your confirmation limit',
  reasonFirstPayment: 'the first payment to this site',
  reasonNewPayee: 'a new payee for this site',
  reasonAskEvery: 'you asked to approve every payment to this site',
  reasonNotTrusted: 'you have not let this site pay automatically',
  reasonAboveAuto: 'above the automatic-payment limit for this site',
  reasonAboveSiteDay: "above this site's automatic payments for today",
  reasonAboveDayCap: 'above your daily cap on automatic payments',
  reasonRunaway: 'this site was paid automatically $1 times recently',
  reasonExceeds: 'this would exceed "$1"',
  reasonWithin: 'small and within every budget',
  reasonTabFull: 'this tab already has too many payments waiting for you',
  reasonSiteFull: 'this site already has too many payments waiting for you',
  reasonAllFull: 'too many payments are waiting for you',
  reasonBudgetsChanged: 'your budgets changed since this quote: it now exceeds one; look again',

  // Why a payment did not go through (the ledger's failure).
  failureDenied: 'you denied the payment',
  failureOfferExpired: 'the offer expired before approval',
  failureSwitched: 'you chose another wallet',
  failureInvoiceExpired: 'the invoice expired before it could be paid',
  failureNoRail: 'the wallet was unlinked',
  failureCardIncomplete: 'the card charge is incomplete',
  failureNotPaid: 'the wallet reports the payment did not happen',
  failureBadProof: 'the wallet returned a proof that does not match the invoice',
  failurePageWalletUnconfirmed:
    'the page said its wallet did not pay ($1); Paybound cannot check a wallet inside a web page, so the amount stays reserved until the invoice expires at $2',
  failurePageWalletExpired:
    "the page said its wallet did not pay ($1); the invoice has expired, so the reservation was released — check your wallet's history if in doubt",

  // What a wallet answered (the wallet's own words, when it gave any, are the argument).
  walletTimeout: 'the wallet did not answer in time',
  walletUnreachable: 'the wallet could not be reached',
  walletNoProofYet: 'the wallet accepted the payment but gave no proof yet',
  walletKeyRefused: 'the wallet refused the key: $1',
  walletNoFunds: 'not enough funds in the wallet',
  walletNoRoute: 'the wallet found no route: $1',
  walletTimedOut: 'the wallet timed out: $1',
  walletRefused: 'the wallet refused: $1',
  walletFailed: 'the payment failed: $1',
  walletUnclear: 'no clear answer from the wallet: $1',
  walletLookupFailed: 'the wallet could not look the payment up (HTTP $1)',
  walletInvoiceLookupFailed: 'the wallet could not look the invoice up (HTTP $1)',
  walletBadAnswer: 'the wallet gave an answer Paybound cannot read',
  walletOtherPayment: 'the wallet answered about another payment',
  walletNoInvoice: 'the wallet made no invoice',
  walletNoInvoiceWhy: 'the wallet made no invoice: $1',
  walletBadProof: 'the wallet reported the payment without a usable proof',
  walletBadUri: 'the NWC connection string is invalid',
  walletRelayUnreachable: 'the NWC relay could not be reached',
  walletNotOnRelay: 'the wallet is not on its relay',
  walletNwcFailed: 'NWC failed: $1',
  lockedToLink: 'Paybound is locked: unlock it to link a wallet',
  lockedToPay: 'Paybound is locked: unlock it in the toolbar popup to pay',
  cardTimeout: 'the card service did not answer in time',
  cardUnreachable: 'the card service could not be reached',
  cardUnlinked: 'the card is no longer linked: link it again in settings',
  cardSaid: 'the card service said: $1',
  cardDeclined: 'the card was declined',
  cardDeclinedWhy: 'the card was declined ($1)',
  cardAboveLimit: "above this card's own limit at the card service (Wallets in settings)",
  cardAnswered: 'the card service answered $1',

  // Why a 402 was left alone, before any quote.
  refusedMalformed: 'malformed payment challenge',
  refusedUnknown: 'no payment challenge Paybound knows',
  refusedUnsupported: 'Paybound cannot pay $1 yet',
  refusedNoWallet: 'no wallet linked',
  refusedPaused: 'payments are paused: resume them in the Paybound popup',
  refusedNoRate: 'no exchange rate is available to check this charge against your budgets',
  refusedRatesDisagree:
    'the exchange-rate sources disagree ($1), so there is no rate to check this charge against your budgets',
  refusedRatesTooFew:
    'too few exchange-rate sources gave a usable rate ($1), so there is no rate to check this charge against your budgets',
  refusedNoLightning: 'this app takes no Lightning payment; link a card to pay it',
  refusedNoCard: 'this app takes no card payment; choose a Lightning wallet to pay it',
  refusedChallenge: "the app's payment request cannot be used: $1",
  refusedFlood: 'too many payment requests from this tab; ignored for a moment',
  refusedBadInvoice: "the app's invoice cannot be read",
  refusedNoAmount: 'the invoice has no amount, so there is nothing to quote',
  refusedWrongNetwork: 'the invoice is for another Bitcoin network than your wallet',
  refusedExpired: 'the payment request has expired or expires too soon to approve and pay',
  refusedBadMacaroon: "the app's access token cannot be read",
  refusedHashMismatch: 'the access token is for a different payment than the invoice',
  refusedAmountMismatch: 'the invoice amount differs from the price the app stated',
  refusedReviewTerms: "the app's estimate or review terms are unusable",
  refusedStillChecking: 'a payment for this is still being checked with your wallet; ask again in a moment',
  refusedDeliveredNothing:
    'this app refused the proof of an earlier payment for this request: Paybound does not pay it again',

  // Answers to the user's own actions.
  errorNoSuchWallet: 'no such wallet',
  errorNoSuchCard: 'no such card',
  errorNoSuchPayment: 'no such payment',
  errorNoCardService: 'no card service is configured',
  errorCannotSwitch: 'this quote cannot be paid with that wallet',
  errorNotWaiting: 'this payment is no longer waiting for a decision',
  errorConfirmExceed: 'confirm that this payment may exceed your budget',
  errorWrongPassword: 'wrong password',
  errorWrongAnswer: 'wrong password or code',
  errorLockedOut: 'wrong password or code: strong approvals are locked for 5 minutes',
  errorLockedUntil: 'too many wrong answers: locked until $1',
  errorNeedsSecret: 'set a password or 2FA on the settings page to approve large charges',
  errorPasswordShort: 'a password needs at least 8 characters',
  errorTotpNotStarted: 'start the 2FA setup first',
  errorTotpMismatch: 'that code does not match: check the time on both devices',
  // A check's own English words (rules, rates, backups, disputes): shown as they are, marked in other languages.
  errorInvalid: '$1',
  errorInvalidBackup: 'that file is not a Paybound backup',
  errorInvalidRate: 'that is not a usable exchange rate',
  errorInvalidRules: 'those rules cannot be saved',
  walletPageOnly: "a page's WebLN wallet can only be reached from that page",
  walletCardNoBalance: 'a card has no balance to show',
  cardLinkOutdated: 'the card link is out of date: start linking again',
  cardPageNeverOpened: 'the card page never opened: start linking again',
  // Reviews, refunds and disputes: the timeline's steps and what the settlement says.
  reviewNotFound: 'no such charge',
  reviewAlreadyState: 'this charge was already $1',
  reviewOnlyUnderReview: 'only a paid charge under review can be accepted',
  reviewAcceptedAskRefund: 'you accepted this charge: ask for a refund instead',
  reviewWindowClosed: 'the review window closed at $1: ask for a refund instead',
  reviewOnlyPaid: 'only a paid charge can be rejected',
  reviewStillUnderReview: 'this charge is still under review: reject it instead',
  reviewBadAmount: 'the amount to refund must be positive and at most what was paid',
  disputeAlready: 'this charge is already disputed',
  disputeRefusedByPage:
    'the app answered the paid request with HTTP $1 and delivered nothing (as the page reported)',
  disputeRefusedByBrowser:
    'the app answered the paid page load with HTTP $1 and delivered nothing (seen by the browser)',
  noteCardCancelled: 'the card authorization was cancelled: nothing was charged',
  noteCardPartly: 'only $1 of the $2 authorized was captured',
  noteCardRefunded: 'the card service refunded $1',
  noteCardRefundedAll: 'the card service refunded what was captured',
  noteCardRefundedCharge: 'the card service refunded the charge',
  noteLightningByApp:
    'a Lightning payment can only be refunded by the app: this dispute stays open until it answers',
  noteCardNotSettled: 'the card service did not settle the rejection: $1',
  noteCardNotRefunded: 'the card service did not refund: $1',
  noteChargeback: 'the card issuer disputed the charge ($1); a person reviews it at the card service',
  noteReviewNoAnswer: "the app's review endpoint did not answer ($1): the whole amount stays paid",
  notePageWalletNoRefund: 'the page wallet cannot be paid back by Paybound: ask the app for the difference',
  noteDifferenceBack: 'the app paid back the difference between the estimate and the actual',
  noteDifferenceNotYet: 'the app did not pay back the difference yet ($1)',
  notePageWalletDispute:
    'the page wallet cannot receive a refund through Paybound: this dispute stays open for the app to answer',
  noteNothingToRefund: 'less than one sat: nothing to refund',
  noteNoRefundInvoice: 'your wallet could not make a refund invoice ($1)',
  noteRefundUrlFailed:
    "the app's refund URL failed ($1): the dispute stays open, and Paybound keeps checking your wallet for the refund",
  noteRefundDenied: 'the app denied the refund',
  noteRefundDeniedWhy: 'the app denied the refund: $1',
  noteRefundQueued:
    'the app queued the refund for a person to review; the dispute stays open until the refund reaches your wallet',
  noteRefundQueuedLate:
    'the app queued the refund for a person to review (after the review window it is at its discretion); the dispute stays open until the refund reaches your wallet',
  noteRefundUnpaid:
    'the app has not paid the refund invoice: the dispute stays open until the refund reaches your wallet',
  noteRefundArrived: 'the refund of $1 reached your wallet',
  noteOverReported: 'the app reported an actual of $1, above the $2 you authorized: nothing above it is paid',
  noteOverReportedKept: 'an app that over-reports is kept for review',

  // Notifications.
  noticePaidAuto: 'Paid $1 automatically',
  noticeSite: '$1',
  noticeAutoToday: '$1: $2 paid automatically today',
  noticeBudgetUsedUp: '$1: budget used up',
  noticeBudgetPercent: '$1: $2 % used',
  noticeBudgetSpentDay: '$1 of $2 spent today.',
  noticeBudgetSpentWeek: '$1 of $2 spent this week.',
  noticeBudgetSpentMonth: '$1 of $2 spent this month.',
  noticeApprovalNeeded: 'Approval needed',
  noticeAsksFor: '$1 asks for $2',
  noticeChargeAccepted: 'Charge accepted',
  noticeWindowEnded: '$1: the review window ended',
  noticeWindowEndedBack: '$1: the review window ended; the unused part came back',
  noticeRefundReceived: 'Refund received',
  noticeRefundCameBack: '$1: $2 came back to your wallet',
  noticeRefused: 'Paid, but nothing delivered',
  noticeRefusedSite: '$1 refused the proof of payment (HTTP $2): a dispute is open in the history',
  errorInternal: 'something went wrong inside Paybound; nothing was paid',
  refusedX402Malformed: "the app's x402 payment request is malformed",
  refusedX402Version: 'the app asks in a version of x402 Paybound does not know',
  refusedX402Unknown:
    'the app asks to be paid in a way Paybound does not know (another token, network or scheme)',
  refusedX402Mainnet:
    'the app asks for real money on a main network; your Ethereum wallet is set up for test networks',
  refusedX402Testnet:
    'the app asks for payment on a test network; your Ethereum wallet is set up for main networks',
  refusedX402Upto: "the app asks for an 'up to' authorization in x402 version 1, which has none",
  refusedNoEthWallet:
    'this page has no Ethereum wallet to pay with: install or enable one (for example MetaMask) and try again',
  failureEthNoAccount: 'your Ethereum wallet gave no account; nothing was paid',
  failureEthWrongSignature:
    'your Ethereum wallet signed something other than what you approved; it was not sent, nothing was paid',
  disputeX402OverSettled: 'the app settled more than you authorized',
  failureEthWalletRefused: 'your Ethereum wallet did not sign ($1); nothing was paid',
  failureEthWrongChain: 'your Ethereum wallet could not switch to $1; nothing was paid',
  failureEthNoPermit2Allowance:
    'your Ethereum wallet has not allowed Permit2 to move this much $1 for you: approve it in your wallet, then try again; nothing was signed or paid',
  disputeX402NotSettled:
    'the app delivered (status $1) but never confirmed the transfer on the chain; it may still take the amount until $2',
  disputeX402SettleFailed: 'the app said the transfer failed ($1) after you signed it',
  planNoAnswer: 'The app did not confirm the subscription. Nothing more is paid until it does.',
  planCancelled: 'This plan was cancelled, so it does not renew.',
  planUnreachable: 'The app could not be reached to subscribe. Nothing was paid.',
  planNotPaid: 'The plan was not paid.',
  planRefusedPaid: 'The app did not take the paid subscription. It is kept for a dispute.',
  planCancelFailed: 'The app did not take the cancellation. Try again in a moment.',
  reasonStanding: 'Within your standing approval for $1.',
  noticeRenewed: '$1 renewed',
  noticeRenewedUntil: '$1 · paid within your standing approval, until $2',
  reasonStandingOverage: 'Overage within the cap of your $1 plan.',
  planPriceChanged: 'The app asked another price or period than the plan it offered. Nothing was paid.',
  noticeForecast: '$1: at this pace it runs out on $2',
  planNotDue: '$1 is paid for this period already: nothing more was paid.',
} as const;

export type SaidKey = keyof typeof ENGLISH;

/** A sentence for a person: a key of ENGLISH (and of every locale) and its arguments. */
export interface Said {
  key: SaidKey;
  args?: string[];
}

export function said(key: SaidKey, ...args: string[]): Said {
  return args.length ? { key, args } : { key };
}

/** The English sentence, for the record: `$n` replaced by the n-th argument. */
export function english(s: Said): string {
  return ENGLISH[s.key].replace(/\$(\d)/g, (_, n: string) => s.args?.[Number(n) - 1] ?? '');
}

export function isSaidKey(key: string): key is SaidKey {
  return Object.hasOwn(ENGLISH, key);
}

/** How the worker's reply classes a refusal (a subset of the message map's error codes). */
export type RefusalCode = 'auth' | 'bad_message' | 'not_found';

/**
 * An error that says its reason as a Said: the pages render `said`, logs read `message`, and the
 * router answers with `refusal` as the reply's code — the one place errors become codes.
 */
export class SaidError extends Error {
  constructor(
    readonly said: Said,
    readonly refusal: RefusalCode = 'bad_message',
  ) {
    super(english(said));
  }
}
