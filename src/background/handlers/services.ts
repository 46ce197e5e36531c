/** What the message handlers work with: the worker's services, made once in the composition root. */
import type { PayboundDb } from '../../db/schema';
import type { Handlers } from '../router';
import type { ApprovalService } from '../services/approvals';
import type { AuthService } from '../services/auth';
import type { AutoLock } from '../services/autolock';
import type { DecisionService } from '../services/decisions';
import type { DisputeService } from '../services/disputes';
import type { ObservedResponses } from '../services/observed';
import type { PaymentService } from '../services/payments';
import type { RateService } from '../services/rates';
import type { ReviewService } from '../services/review';
import type { SubscriptionService } from '../services/subscriptions';
import type { Vault } from '../services/vault';
import type { CardLinkService } from '../services/wallets';

export interface Services {
  db: PayboundDb;
  /** The extension's version, for the popup. */
  version: string;
  approvals: ApprovalService;
  decisions: DecisionService;
  auth: AuthService;
  vault: Vault;
  autoLock: AutoLock;
  payments: PaymentService;
  review: ReviewService;
  disputes: DisputeService;
  rates: RateService;
  cardLinks: CardLinkService;
  subscriptions: SubscriptionService;
  /** Firefox only: the 402s webRequest saw, for reports whose challenge fetch() hid. */
  responses: ObservedResponses | undefined;
}

/** The handlers of some of the messages. */
export type HandlerGroup<K extends keyof Handlers> = Pick<Handlers, K>;
