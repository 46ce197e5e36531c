// The card service: see README.md.

export { RECEIPT_TYPE, type ReceiptClaims } from './receipt';
export { type CardService, type CardServiceOptions, type MerchantInput, startCardService } from './service';
export { STRIPE_API_VERSION, type StripeConnection } from './stripe';
