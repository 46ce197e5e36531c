// The merchant kit: what an AI app needs to charge over HTTP 402.

export * from './card';
export * from './http';
export * from './invoice';
export * from './l402';
export * from './lnbits-client';
export * from './middleware';
export * from './money';
export * from './mpp';
export * from './mpp-lightning';
export * from './mpp-method';
export * from './payment-paywall';
export * from './plan-desk';
export * from './plan-store';
export * from './plans';
export * from './review';
export * from './review-store';
