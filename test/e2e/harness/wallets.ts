/** Talks to the stack's Lightning stand-in the way any LNbits client would, plus its test controls. */
import type { StackInfo } from '../../../server/dev/stack';

type WalletName = 'user' | 'app';

export function wallets(stack: StackInfo) {
  const call = async (path: string, init: RequestInit & { key?: string } = {}) => {
    const res = await fetch(`${stack.lnbits}${path}`, {
      ...init,
      headers: { 'Content-Type': 'application/json', ...(init.key ? { 'X-Api-Key': init.key } : {}) },
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  return {
    /** Balance in msat. */
    async balance(wallet: WalletName): Promise<bigint> {
      const body = await call('/api/v1/wallet', { key: stack.wallets[wallet].invoiceKey });
      return BigInt(body.balance as number);
    },
    async createInvoice(wallet: WalletName, sats: number, memo: string, expiry = 600) {
      const body = await call('/api/v1/payments', {
        method: 'POST',
        key: stack.wallets[wallet].invoiceKey,
        body: JSON.stringify({ out: false, amount: sats, memo, expiry }),
      });
      return { paymentHash: body.payment_hash as string, bolt11: body.payment_request as string };
    },
    async injectFailure(wallet: WalletName, mode: string, extra: { count?: number; delayMs?: number } = {}) {
      await call('/_standin/fail', { method: 'POST', body: JSON.stringify({ wallet, mode, ...extra }) });
    },
    /** Lets payments held by a `hold` failure go on. */
    async release() {
      await call('/_standin/release', { method: 'POST', body: '{}' });
    },
    async clearFailures() {
      await call('/_standin/clear', { method: 'POST', body: '{}' });
    },
  };
}
