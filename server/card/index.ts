// The card service: see README.md.

export { CardDbError } from './db';
export { generateReceiptKey, parseReceiptKeys, type ReceiptKeyConfig } from './keys';
export { RECEIPT_TYPE, type ReceiptClaims } from './receipt';
export { type CardService, type CardServiceOptions, type MerchantInput, startCardService } from './service';
export { STRIPE_API_VERSION, type StripeConnection } from './stripe';
