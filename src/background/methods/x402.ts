/**
 * x402 paid by the page's own Ethereum wallet (EIP-1193, found through EIP-6963 or
 * `window.ethereum`). Only the page's main world can reach the wallet, so paying is a short
 * conversation the worker leads, one question at a time through the page: which account, which
 * chain (switched only when it is not the requirement's), then the signature of the EIP-3009
 * authorization the worker built. The worker checks the signature recovers to the account over
 * exactly what it built before any retry carries it: the page and its wallet may lie.
 *
 * Nothing moves when the wallet signs: the app's facilitator moves the token when the retry
 * arrives. So the charge is `paid` once the signed authorization is handed to the page, and the
 * retry's `PAYMENT-RESPONSE` (services/deliveries.ts) says whether it settled.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  isAddress,
  readAccepted,
  readX402,
  type X402Challenge,
  X402ChallengeError,
  type X402Requirement,
} from '../../core/challenge/x402';
import { baseUnitsToMinor, usdMinorTo } from '../../core/money/tokens';
import type { PageWalletRequests } from '../../core/payments/page-wallet';
import {
  authorizationTypedData,
  buildAuthorization,
  checkAuthorizationSignature,
  type Hex,
  paymentCredential,
  X402AuthorizationError,
} from '../../core/payments/x402-authorization';
import {
  buildUptoPermit,
  checkUptoSignature,
  permit2AllowanceCall,
  readUint256Word,
  uptoTypedData,
} from '../../core/payments/x402-permit2';
import { english, type Said, said } from '../../core/text/said';
import { cleanMerchantText } from '../../core/text/sanitize';
import type { PaymentRecord, RailRecord, X402Payment } from '../../db/schema';
import type { ChallengeVerdict } from '../../messages/map';
import type { Detected, MethodDeps, Outcome, PaymentMethod, Quote, QuoteRefusal } from './types';

/** How long a quote may wait for the user: x402 challenges carry no expiry of their own. */
export const X402_QUOTE_SECONDS = 10 * 60;

function x402Record(p: PaymentRecord): X402Payment {
  if (p.kind === 'x402') return p;
  throw new Error(`not an x402 charge: ${p.kind}`);
}

const refusal = (error: string, shown: Said): QuoteRefusal => ({ error, shown, reason: english(shown) });

/** What a person reads for each way a challenge can be unusable (the log keeps the precise English). */
function shownFor(e: X402ChallengeError): Said {
  switch (e.reason) {
    case 'unknown-version':
      return said('refusedX402Version');
    case 'unknown-scheme':
    case 'unknown-network':
    case 'unknown-asset':
    case 'nothing-payable':
      return said('refusedX402Unknown');
    default:
      return said('refusedX402Malformed');
  }
}

/** The rail's `network`: `mainnet` pays on main networks only, anything else on test networks only. */
const paysTestnets = (rail: RailRecord) => rail.network !== 'mainnet';

/** The requirement the record was quoted for, read again from what the server sent. */
function requirementOf(p: X402Payment): X402Requirement {
  return readAccepted(p.challenge.version, p.challenge.accepted, p.challenge.resource);
}

const ask = (p: X402Payment, request: PageWalletRequests['eip1193']): ChallengeVerdict => ({
  action: 'pay-in-page',
  paymentId: p.id,
  wallet: 'eip1193',
  request,
  reason: 'sign with the Ethereum wallet in this page',
});

/** The next question for the wallet, and what the record keeps of the conversation so far. */
function next(
  p: X402Payment,
  progress: Partial<X402Payment['x402']>,
  request: PageWalletRequests['eip1193'],
) {
  return {
    kind: 'handover' as const,
    patch: { x402: { ...p.x402, ...progress } },
    verdict: ask(p, request),
  };
}

const chainHex = (chainId: number) => `0x${chainId.toString(16)}`;

/**
 * What this charge is signed as, built here, and the question that asks it signed: `exact`, an
 * EIP-3009 authorization of exactly the quoted amount to the quoted payee; `upto`, a Permit2
 * permit of at most it, to the payee, settled only by the facilitator the server named.
 */
function askSignature(p: X402Payment, payer: `0x${string}`, deps: MethodDeps): Outcome {
  const req = requirementOf(p);
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const nowS = deps.now() / 1000;
  let progress: Partial<X402Payment['x402']>;
  let document: unknown;
  let until: number;
  if (req.scheme === 'upto') {
    const permit = buildUptoPermit(req, payer, { nowS, nonce });
    progress = { payer, permit, step: 'sign' };
    document = uptoTypedData(req, permit);
    until = Number(permit.deadline);
  } else {
    const authorization = buildAuthorization(req, payer, { nowS, nonce });
    progress = { payer, authorization, step: 'sign' };
    document = authorizationTypedData(req, authorization);
    until = Number(authorization.validBefore);
  }
  const outcome = next(p, progress, {
    method: 'eth_signTypedData_v4',
    params: [payer, JSON.stringify(document)],
  });
  // Once signed, it may be used until it runs out: the charge is open that long.
  return { ...outcome, patch: { ...outcome.patch, expiresAt: Math.max(p.expiresAt, until) } };
}

/**
 * On the right chain: `exact` is signed next; `upto` first reads what Permit2 may move for the
 * payer, since a permit without that allowance would be signed for nothing.
 */
function onChain(p: X402Payment, payer: `0x${string}`, deps: MethodDeps): Outcome {
  const req = requirementOf(p);
  if (req.scheme !== 'upto') return askSignature(p, payer, deps);
  return next(
    p,
    { payer, step: 'allowance' },
    { method: 'eth_call', params: [permit2AllowanceCall(req, payer), 'latest'] },
  );
}

/** The retry's credential for a signed charge, in the form its scheme takes. */
function signedCredential(p: X402Payment, req: X402Requirement, signature: Hex) {
  if (p.x402.permit)
    return paymentCredential(p.challenge, req, { permit2Authorization: p.x402.permit }, signature);
  if (p.x402.authorization) return paymentCredential(p.challenge, req, p.x402.authorization, signature);
  return undefined;
}

const nothingPaid = (code: string, s: Said): Outcome => ({ kind: 'failed', code, said: s });

export const x402: PaymentMethod = {
  kind: 'x402-page',
  rails: ['ethereum'],
  challenge: 'x402',
  unit: 'token',
  // The wallet is the page's: nothing of it is sealed here.
  sealed: false,
  offered: (detected: Detected) => detected.some((d) => d.protocol === 'x402'),
  pageWallet: 'eip1193',

  async quote(ctx, rail): Promise<Quote | QuoteRefusal> {
    let challenge: X402Challenge | undefined;
    try {
      challenge = readX402({ headers: ctx.headers, ...(ctx.body !== undefined ? { body: ctx.body } : {}) });
    } catch (e) {
      if (!(e instanceof X402ChallengeError)) throw e;
      return refusal(e.message, shownFor(e));
    }
    if (!challenge) return refusal('the response asks for no x402 payment', said('refusedX402Malformed'));
    const testnets = paysTestnets(rail);
    const onNetwork = challenge.accepts.filter((r) => r.asset.testnet === testnets);
    if (onNetwork.length === 0) {
      return refusal(
        `every requirement is for a ${testnets ? 'main' : 'test'} network; the wallet pays on ${testnets ? 'test' : 'main'} networks`,
        said(testnets ? 'refusedX402Mainnet' : 'refusedX402Testnet'),
      );
    }
    // In the server's order; `upto` exists in v2 only (a v1 server offering it is not believed).
    const req = onNetwork.find((r) => r.scheme === 'exact' || challenge.version === 2);
    if (!req) return refusal('upto is offered in x402 v1, which has no upto', said('refusedX402Upto'));
    if (!ctx.pageWallets?.includes('eip1193')) {
      return refusal('the page reported no Ethereum wallet', said('refusedNoEthWallet'));
    }
    const currency = await ctx.currency();
    const usdMinor = baseUnitsToMinor(req.amount, req.asset.decimals, 2);
    const usdRate = currency === 'usd' ? undefined : await ctx.rate('usd');
    if (currency !== 'usd' && !usdRate) {
      return refusal('no US dollar rate to price a USDC charge in your currency', said('refusedNoRate'));
    }
    // One charge per request: a new presentation of the same challenge for the same request joins
    // the open one (or takes its unused credential); the flow numbers the series.
    const series = bytesToHex(
      sha256(
        new TextEncoder().encode(
          JSON.stringify([ctx.url, ctx.method, ctx.bodySha256 ?? '', challenge.version, req.raw]),
        ),
      ),
    );
    const description = req.resource.description ?? challenge.resource.description;
    return {
      key: `x402:${series}`,
      series: true,
      payee: { kind: 'address', id: req.payTo.toLowerCase() },
      // `upto` authorizes a maximum: quoted as an estimate, what the app settles is counted.
      ...(req.scheme === 'upto' ? { terms: { estimate: { min: 0n, max: req.amount } } } : {}),
      part: (rate, nowMs) => ({
        kind: 'x402',
        amount: { unit: 'token', symbol: req.asset.symbol, decimals: req.asset.decimals, value: req.amount },
        challenge: {
          protocol: 'x402',
          version: challenge.version,
          resource: challenge.resource,
          accepted: { ...req.raw },
        },
        amountMinor: usdRate ? usdMinorTo(usdMinor, usdRate.minorPerBtc, rate.minorPerBtc) : usdMinor,
        ...(usdRate ? { rate } : {}),
        ...(description !== undefined ? { description: cleanMerchantText(description, 300).text } : {}),
        expiresAt: Math.floor(nowMs / 1000) + X402_QUOTE_SECONDS,
        x402: {
          scheme: req.scheme,
          network: req.asset.network,
          asset: req.asset.address,
          payTo: req.payTo,
          usdMinor,
          ...(usdRate ? { usdRate } : {}),
        },
      }),
    };
  },

  async pay(record): Promise<Outcome> {
    const p = x402Record(record);
    return next(p, { step: 'accounts' }, { method: 'eth_requestAccounts', params: [] });
  },

  credential(p) {
    if (p.kind !== 'x402' || !p.x402.signature) return undefined;
    const credential = signedCredential(p, requirementOf(p), p.x402.signature);
    return credential ? { credential, reason: 'already signed' } : undefined;
  },

  // Nothing is signed but in the page; until the page answers, the reservation stays.
  async reconcile(): Promise<Outcome> {
    return { kind: 'pending' };
  },

  fromPage(record, result, deps): Outcome {
    const p = x402Record(record);
    const req = requirementOf(p);
    const network = `${req.asset.networkName}${req.asset.testnet ? ' (testnet)' : ''}`;
    if (p.x402.step === 'allowance' && p.x402.payer) {
      // Only a well-formed answer below the maximum stops here. A wallet that cannot say (or a
      // page that lies) gets the permit asked for: without the allowance it moves nothing anyway.
      const allowance = result.error === undefined ? readUint256Word(result.answer) : undefined;
      if (allowance !== undefined && allowance < BigInt(req.amount))
        return nothingPaid('wallet_no_allowance', said('failureEthNoPermit2Allowance', req.asset.symbol));
      return askSignature(p, p.x402.payer, deps);
    }
    if (result.error !== undefined || result.answer === undefined) {
      const why = cleanMerchantText(result.error ?? 'no answer', 200).text;
      return p.x402.step === 'switch'
        ? nothingPaid('wallet_wrong_chain', said('failureEthWrongChain', network))
        : nothingPaid('wallet_refused', said('failureEthWalletRefused', why));
    }
    const answer = result.answer;
    switch (p.x402.step) {
      case 'accounts': {
        const first = Array.isArray(answer) ? answer[0] : undefined;
        if (typeof first !== 'string' || !isAddress(first))
          return nothingPaid('wallet_no_account', said('failureEthNoAccount'));
        return next(p, { payer: first, step: 'chain' }, { method: 'eth_chainId', params: [] });
      }
      case 'chain': {
        const payer = p.x402.payer;
        if (!payer) return nothingPaid('wallet_no_account', said('failureEthNoAccount'));
        const chainId =
          typeof answer === 'string' && /^0x[0-9a-f]{1,16}$/i.test(answer) ? Number(answer) : NaN;
        if (chainId === req.asset.chainId) return onChain(p, payer, deps);
        return next(
          p,
          { step: 'switch' },
          { method: 'wallet_switchEthereumChain', params: [{ chainId: chainHex(req.asset.chainId) }] },
        );
      }
      case 'switch': {
        // EIP-3326: null on success.
        const payer = p.x402.payer;
        if (answer !== null || !payer)
          return nothingPaid('wallet_wrong_chain', said('failureEthWrongChain', network));
        return onChain(p, payer, deps);
      }
      case 'sign': {
        const { authorization, permit } = p.x402;
        if ((!authorization && !permit) || typeof answer !== 'string')
          return nothingPaid('wallet_refused', said('failureEthWalletRefused', 'no signature'));
        try {
          if (permit) checkUptoSignature(req, permit, answer);
          else if (authorization) checkAuthorizationSignature(req, authorization, answer);
        } catch (e) {
          if (!(e instanceof X402AuthorizationError)) throw e;
          // Signed another payee, amount, chain or key: never handed to the page's retry.
          return nothingPaid('wallet_wrong_signature', said('failureEthWrongSignature'));
        }
        const signature = answer.toLowerCase() as Hex;
        const { step: _step, ...kept } = p.x402;
        const credential = signedCredential(p, req, signature);
        if (!credential)
          return nothingPaid('wallet_refused', said('failureEthWalletRefused', 'no signature'));
        return {
          kind: 'paid',
          patch: { x402: { ...kept, signature }, paidAt: deps.now() },
          credential,
          reason: 'signed',
        };
      }
      default:
        return nothingPaid('wallet_refused', said('failureEthWalletRefused', 'an answer nobody asked for'));
    }
  },
};
