/**
 * The user's answers in the quote window: approve or deny a quote (with the password a strong
 * one needs), block its site, pay it with another wallet; and the quotes the window shows.
 */

import type { Rules } from '../../core/policy/rules';
import { SaidError, type SaidKey, said } from '../../core/text/said';
import { type RecheckReads, recheck, recheckReads } from '../../db/ledger';
import type { PayboundDb, PaymentRecord } from '../../db/schema';
import { getSetting } from '../../db/settings';
import type { Broadcast, MessageInput, QuoteView } from '../../messages/map';
import { mark } from '../trace';
import type { ApprovalService } from './approvals';
import type { AuthService } from './auth';
import { allowAutomatic, blockSite, consentView, recordApproval } from './consent';
import type { PaymentService } from './payments';
import { planOfCharge, planViews, siteHistory } from './plan-views';
import { quoteView } from './views';

/** A decision that could not be recorded: the quote is gone, or changed under the user. */
export class DecisionError extends SaidError {}

export interface DecisionDeps {
  db: PayboundDb;
  approvals: ApprovalService;
  auth: AuthService;
  payments: PaymentService;
  rules: () => Promise<Rules>;
  broadcast: (msg: Broadcast) => Promise<void>;
  now?: () => number;
}

export class DecisionService {
  private readonly now: () => number;

  constructor(private readonly deps: DecisionDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The quotes a tab's window shows, as it shows them. */
  async quotes(tabId: number): Promise<QuoteView[]> {
    const { db, approvals, payments } = this.deps;
    // The window shows its button only with this answer: the reads go side by side, not in turn.
    const [currency, rails, shown] = await Promise.all([
      getSetting(db, 'currency'),
      db.rails.toArray(),
      approvals.shown(tabId),
    ]);
    const kinds = new Map(rails.map((r) => [r.id, r.kind]));
    return Promise.all(
      shown.map(async (p) => {
        const [alternatives, consent] = await Promise.all([
          payments.alternatives(p, rails),
          consentView(db, p),
        ]);
        const view = quoteView(
          p,
          this.now(),
          currency,
          kinds.get(p.railId) ?? '',
          alternatives.map(({ id, label, kind }) => ({ id, label, kind })),
          consent,
        );
        const plans = p.plans?.length
          ? planViews(p, await siteHistory(db, p.site, this.now()), currency, this.now())
          : undefined;
        const plan = planOfCharge(p);
        return {
          ...view,
          ...(plans?.length ? { plans } : {}),
          ...(plan ? { plan } : {}),
          ...(p.plansRefused ? { plansRefused: p.plansRefused } : {}),
        };
      }),
    );
  }

  async decide(input: MessageInput<'approval.decide'>): Promise<{ accepted: boolean }> {
    const { db, approvals, auth, payments } = this.deps;
    const { paymentId, decision, allowAuto } = input;
    // The rules are read beside the quote: the budget check below needs them (read again if
    // "let this site pay automatically" changes them).
    let [pending, rules] = await Promise.all([db.payments.get(paymentId), this.deps.rules()]);
    if (decision === 'approve' && pending) await auth.authorizeApproval(pending.tier, input);
    if (decision === 'approve' && allowAuto && pending) {
      try {
        await allowAutomatic(
          db,
          pending.site,
          BigInt(allowAuto.perChargeMinor),
          BigInt(allowAuto.perDayMinor),
        );
        rules = await this.deps.rules();
      } catch (e) {
        if (e instanceof RangeError) throw new DecisionError(said('errorInvalid', e.message));
        throw e;
      }
    }
    const awaited = approvals.isAwaited(paymentId);
    // Quotes of other sites approved meanwhile may have used up a budget: decided again, in the
    // same transaction as the approval, so two approvals cannot both take the last of a budget.
    let escalated = false;
    // Its reads go beside the transaction's read of the quote, for the site the quote had.
    let ahead: Promise<RecheckReads> | undefined;
    const site = pending?.site;
    const guard = async (current: PaymentRecord) => {
      const checked = await recheck(db, paymentId, rules, this.now(), current, await ahead);
      escalated = checked.kind === 'escalated';
      return checked.kind === 'ok';
    };
    mark('decision checked');
    const accepted = await approvals.decide(
      paymentId,
      decision === 'approve' ? 'approved' : 'denied',
      decision === 'approve' ? guard : undefined,
      // The user's own click: this site and its payee are known from now on (with the approval).
      async (p) => {
        // The site's row was read with the budgets, in this transaction, for this quote's site.
        const read = await ahead;
        return recordApproval(
          db,
          p,
          this.now(),
          read?.site === p.site ? { row: read.reads.consented } : undefined,
        );
      },
      decision === 'approve' && site !== undefined
        ? () => {
            ahead = recheckReads(db, paymentId, site, rules, this.now());
            return ahead;
          }
        : undefined,
    );
    mark('decision recorded');
    // The window that asked loads the quote again (now an overage) and shows why.
    if (escalated) throw refused('reasonBudgetsChanged', 'auth');
    if (!accepted) throw refused('errorNotWaiting', 'not_found');
    // After a worker restart nobody waits on the decision: pay here; the token serves the page's next request.
    if (!awaited && decision === 'approve')
      void payments
        .pay(paymentId)
        .then(() => (pending ? approvals.settled(pending) : undefined))
        .catch(() => {});
    return { accepted };
  }

  /** "Block this site": the quote's site is blocked and every quote of it still waiting denied. */
  async blockSite(paymentId: string): Promise<{ blocked: string; denied: number }> {
    const { db, approvals } = this.deps;
    const p = await db.payments.get(paymentId);
    if (!p) throw refused('errorNoSuchPayment', 'not_found');
    await blockSite(db, p.site);
    let denied = 0;
    for (const w of await approvals.allWaiting()) {
      if (w.site === p.site && (await approvals.decide(w.id, 'denied'))) denied += 1;
    }
    await this.quotesChanged(p.tabId);
    return { blocked: p.site, denied };
  }

  /** Pays a waiting quote with another of the wallets it offers. */
  async switchRail(paymentId: string, railId: string): Promise<{ switched: boolean }> {
    const switched = await this.deps.payments.switchRail(paymentId, railId);
    if (!switched) throw refused('errorCannotSwitch', 'not_found');
    await this.quotesChanged((await this.deps.db.payments.get(paymentId))?.tabId);
    return { switched };
  }

  /** The user took a plan instead of paying per use: its first period is quoted in the same window. */
  async subscribe(paymentId: string, planId: string): Promise<{ subscribing: boolean }> {
    // When the subscription has come to its end, the window may close if nothing else waits.
    const subscribing = await this.deps.payments.subscribeInstead(paymentId, planId, (tabId) => {
      void this.deps
        .broadcast({ broadcast: 'approvals.changed', data: { tabId: tabId ?? -1, planEnded: true } })
        .catch(() => {});
    });
    if (!subscribing) throw refused('errorCannotSwitch', 'not_found');
    await this.quotesChanged((await this.deps.db.payments.get(paymentId))?.tabId);
    return { subscribing };
  }

  /** Tells a tab's quote window to load its quotes again. */
  private async quotesChanged(tabId: number | undefined): Promise<void> {
    await this.deps.broadcast({ broadcast: 'approvals.changed', data: { tabId: tabId ?? -1 } });
  }
}

const refused = (key: SaidKey, code: 'auth' | 'not_found') => new DecisionError(said(key), code);
