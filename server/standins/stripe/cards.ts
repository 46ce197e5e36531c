// Stripe's documented test cards and `pm_card_*` shortcuts, and what each does when charged.
import { createHash } from 'node:crypto';

export type CardBehaviour =
  | 'succeed'
  | 'generic_decline'
  | 'insufficient_funds'
  /** Succeeds, then the charge is disputed as fraudulent once captured. */
  | 'dispute'
  /** Declines every off-session payment: the issuer wants the cardholder present. */
  | 'authentication_required';

export interface TestCard {
  number: string;
  brand: 'visa' | 'mastercard' | 'amex';
  funding: 'credit' | 'debit';
  behaviour: CardBehaviour;
}

const CARDS: readonly TestCard[] = [
  { number: '4242424242424242', brand: 'visa', funding: 'credit', behaviour: 'succeed' },
  { number: '4000056655665556', brand: 'visa', funding: 'debit', behaviour: 'succeed' },
  { number: '5555555555554444', brand: 'mastercard', funding: 'credit', behaviour: 'succeed' },
  { number: '378282246310005', brand: 'amex', funding: 'credit', behaviour: 'succeed' },
  { number: '4000000000000002', brand: 'visa', funding: 'credit', behaviour: 'generic_decline' },
  // Attaching succeeds, charging fails: the same as 0002 here, since setup never declines.
  { number: '4000000000000341', brand: 'visa', funding: 'credit', behaviour: 'generic_decline' },
  { number: '4000000000009995', brand: 'visa', funding: 'credit', behaviour: 'insufficient_funds' },
  { number: '4000000000000259', brand: 'visa', funding: 'credit', behaviour: 'dispute' },
  { number: '4000002760003184', brand: 'visa', funding: 'credit', behaviour: 'authentication_required' },
];

const SHORTCUTS: Readonly<Record<string, string>> = {
  pm_card_visa: '4242424242424242',
  pm_card_visa_debit: '4000056655665556',
  pm_card_mastercard: '5555555555554444',
  pm_card_amex: '378282246310005',
  pm_card_chargeDeclined: '4000000000000002',
  pm_card_visa_chargeDeclined: '4000000000000002',
  pm_card_chargeCustomerFail: '4000000000000341',
  pm_card_chargeDeclinedInsufficientFunds: '4000000000009995',
  pm_card_visa_chargeDeclinedInsufficientFunds: '4000000000009995',
  pm_card_createDispute: '4000000000000259',
  pm_card_authenticationRequired: '4000002760003184',
};

export function testCardByNumber(number: string): TestCard | undefined {
  const digits = number.replace(/[\s-]/g, '');
  return CARDS.find((c) => c.number === digits);
}

export function testCardByShortcut(id: string): TestCard | undefined {
  const number = SHORTCUTS[id];
  return number === undefined ? undefined : testCardByNumber(number);
}

export function luhnValid(digits: string): boolean {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Same card, same fingerprint: what Stripe uses to spot one card across customers. */
export function fingerprint(number: string): string {
  return createHash('sha256').update(`paybound-standin:${number}`).digest('base64url').slice(0, 16);
}
