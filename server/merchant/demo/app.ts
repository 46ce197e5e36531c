// The demo AI app ("Quill"): a writing assistant that charges per request over HTTP 402 (L402),
// built on the merchant kit. Routes:
//   GET  /               the assistant page (#prompt, #generate, #generate-xhr, #status, #output)
//   POST /api/generate   {prompt} → 402 challenge, or 200 {text, words, price_msat} when paid
//   POST /drafts/generate {prompt} → the same with an estimate and a review window (see drafts.ts)
//   POST /paybound/review the review endpoint for drafts (accept / reject / status)
//   GET  /article/:slug  a paid HTML page (402 HTML, or 200 article when paid)
//   GET|POST /api/refuses?as=<name>  charges (L402) and then refuses every credential, valid ones
//                        too: 402 again with the same challenge (see refuses.ts)
//   POST /x402/generate  {prompt} → x402 v2 (USDC on Base Sepolia), behind @x402/express (see x402.ts)
//   POST /x402/v1/generate {prompt} → the same in x402 v1 (x402-v1.ts)
//   POST|GET|DELETE /plans/subscribe  Quill Pro, the plan beside pay-per-use drafts (see plans.ts)
//   GET  /health         {ok: true}
// Demo-only test hooks: POST /paybound/review-broken (always 500), POST /_demo/refunds/<charge>
// (the operator's pay / deny, behind the operator token),
// GET|POST /api/echo (says which credential arrived), GET /_demo/requests (what reached /api and
// /paybound, newest last: hostile-page tests check that nothing was sent or carried a token).
// Only with `testRoutes`: POST /__test/plans/advance?seconds=<n>[&reset=1] moves the plan desk's clock,
// POST /__test/plans/price?sats=<n> sets Quill Pro's Lightning price from the next challenge on.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closer, listen } from '../../lib/listen';
import {
  CardServiceClient,
  cardMethod,
  type ReceiptKey,
  receiptKeyFromHex,
  verifySubscriptionReceipt,
} from '../kit/card';
import { answerPreflight, applyCors, readJsonBody, requestOrigin, sendHtml, sendJson } from '../kit/http';
import { LnbitsClient } from '../kit/lnbits-client';
import { l402Paywall } from '../kit/middleware';
import { lightningMethod } from '../kit/mpp-lightning';
import type { MppMethod } from '../kit/mpp-method';
import { memoryChallengeStore, paymentPaywall, type SettlementEvent } from '../kit/payment-paywall';
import {
  type CardPlanClient,
  cardPlanClient,
  PlanDesk,
  type SubscriptionReceiptVerifier,
  subscribeEndpoint,
} from '../kit/plan-desk';
import type { ReviewDesk } from '../kit/review';
import { type Article, findArticle } from './articles';
import { startDrafts } from './drafts';
import { generateText } from './generator';
import { articlePage, articlePaymentRequiredPage, homePage, notFoundPage } from './page';
import {
  PLAN_ADVANCE_PATH,
  PLAN_PRICE_PATH,
  PLAN_SUBSCRIBE_PATH,
  planNote,
  QUILL_PRO,
  quillPro,
} from './plans';
import { generatePricingNote, satsText } from './price-text';
import {
  countWords,
  DEFAULT_PRICING,
  DEFAULT_USD_PER_BTC,
  type DemoPricing,
  quoteArticleMsat,
  quoteGenerateCents,
  quoteGenerateMsat,
} from './pricing';
import { refusingRoute } from './refuses';
import { type DemoX402Options, startX402Route } from './x402';

/** What the demo needs to take cards through a Paybound card service (MPP method `card`). */
export interface DemoCardOptions {
  /** The card service's base URL (also sent to wallets in the challenge). */
  cardServiceUrl: string;
  /** The merchant API key the card service issued to this app. */
  apiKey: string;
  /** This app's connected account id. */
  accountId: string;
  /** The card service's receipt key (64 hex) and key id; fetched from the card service when omitted. */
  receiptPublicKey?: string;
  receiptKeyId?: string;
  /** Card prices are the sat prices at this rate, rounded up to the cent; default 100 000. */
  usdPerBtc?: number;
  /**
   * Also offer Quill Pro by card: the check of the card service's subscription receipts, and its
   * subscription API (default: the card service's, with `apiKey`).
   */
  plans?: { verifyReceipt: SubscriptionReceiptVerifier; client?: CardPlanClient };
}

export interface DemoAppOptions {
  /** 0 or omitted: a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** LNbits (or the Lightning stand-in's LNbits API) holding the app's wallet. */
  lnbitsUrl: string;
  /** The app wallet's invoice key. */
  invoiceKey: string;
  /** The app wallet's admin key: pays refunds of drafts. Without it every refund waits for the operator. */
  adminKey?: string;
  /** The Lightning network refund invoices must be for; default 'regtest' (the stand-in's). */
  network?: 'mainnet' | 'testnet' | 'signet' | 'regtest';
  /** Default review window of drafts in seconds; default 600. A prompt's `#window=<s>` overrides it. */
  reviewWindowSeconds?: number;
  /** Clock of the review desk (unix ms), for tests that look past a review window. */
  now?: () => number;
  /** Hex, 32+ bytes. Random when omitted: tokens then die with the process. */
  rootKey?: string;
  pricing?: Partial<DemoPricing>;
  /** Token lifetime in seconds; default 3600. */
  tokenLifetimeSeconds?: number;
  /** Also offer card payments (an MPP `card` challenge next to L402). */
  card?: DemoCardOptions;
  /** Also offer MPP's `lightning` method (a second invoice, in a Payment challenge); default false. */
  mppLightning?: boolean;
  /** Hex, 32+ bytes, binding MPP challenge ids; random when omitted. */
  mppSecret?: string;
  /** Told when an MPP payment is settled (card: captured or released). */
  onSettled?(event: SettlementEvent): void;
  /** The secret of the operator hook `POST /_demo/refunds/<charge>` (16+ characters); random when omitted. */
  operatorToken?: string;
  /** Also serve the x402 route, through this facilitator (which must be running). */
  x402?: DemoX402Options;
  /** Test-only routes (POST /__test/plans/advance); never in a normal run. Default false. */
  testRoutes?: boolean;
}

export interface DemoApp {
  url: string;
  /** The drafts' review desk (charges, queued refunds). */
  desk: ReviewDesk;
  /** Quill Pro's subscriptions. */
  plans: PlanDesk;
  /** What the operator hook asks for: `Authorization: Bearer <operatorToken>`. */
  operatorToken: string;
  /** Resolves once every MPP settlement started so far has finished. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export const PROMPT_MAX_CHARS = 2000;
const SERVICE = 'demo';

interface GenerateBody {
  prompt: string;
}

export async function startDemoApp(opts: DemoAppOptions): Promise<DemoApp> {
  const pricing: DemoPricing = { ...DEFAULT_PRICING, ...opts.pricing };
  for (const [name, sat] of Object.entries(pricing)) {
    if (!Number.isSafeInteger(sat) || sat < 0)
      throw new RangeError(`pricing.${name} must be a whole number of sats`);
  }
  const wallet = new LnbitsClient({ url: opts.lnbitsUrl, invoiceKey: opts.invoiceKey });
  const rootKey = opts.rootKey ?? randomBytes(32).toString('hex');
  const common = {
    wallet,
    rootKey,
    location: 'paybound-demo',
    service: SERVICE,
    tokenLifetimeSeconds: opts.tokenLifetimeSeconds,
  };

  const generateOptions = {
    ...common,
    capability: 'generate',
    priceMsat: (_req: IncomingMessage, body: GenerateBody) => quoteGenerateMsat(body.prompt, pricing),
    description: (_req: IncomingMessage, body: GenerateBody) =>
      `Quill: generate text for a ${countWords(body.prompt)}-word prompt`,
  };
  const usdPerBtc = opts.card?.usdPerBtc ?? DEFAULT_USD_PER_BTC;
  const mppSecret = opts.mppSecret ?? randomBytes(32).toString('hex');
  // One record of used MPP challenges for every paywall: a credential pays for one request only.
  const challengeStore = memoryChallengeStore();
  const cardClient = opts.card
    ? new CardServiceClient({ url: opts.card.cardServiceUrl, apiKey: opts.card.apiKey })
    : undefined;
  const receiptKey =
    opts.card?.receiptPublicKey && opts.card.receiptKeyId
      ? receiptKeyFromHex(opts.card.receiptPublicKey, opts.card.receiptKeyId)
      : undefined;
  const mppMethods: MppMethod<GenerateBody>[] = [];
  if (opts.card) {
    const card = opts.card;
    mppMethods.push(
      cardMethod<GenerateBody>({
        client: cardClient!,
        accountId: card.accountId,
        receiptKey,
        amountMinor: (_req, body) => quoteGenerateCents(body.prompt, pricing, usdPerBtc),
        currency: 'usd',
      }),
    );
  }
  if (opts.mppLightning) {
    mppMethods.push(lightningMethod<GenerateBody>({ wallet, priceMsat: generateOptions.priceMsat }));
  }
  // Without MPP methods the L402 paywall is used exactly as before.
  const generatePaywall =
    mppMethods.length > 0
      ? paymentPaywall<GenerateBody>({
          ...generateOptions,
          mpp: {
            realm: 'paybound-demo',
            secret: mppSecret,
            methods: mppMethods,
            store: challengeStore,
            onSettled: opts.onSettled,
          },
        })
      : null;
  const l402GeneratePaywall = generatePaywall ? null : l402Paywall<GenerateBody>(generateOptions);

  const articlePaywall = l402Paywall<Article>({
    ...common,
    capability: 'read',
    priceMsat: () => quoteArticleMsat(pricing),
    description: (_req, article) => `Quill article: ${article.title}`,
    // One payment unlocks one article, not the whole shelf.
    caveats: [{ condition: `${SERVICE}_article`, value: (_req, article) => article.slug }],
    render402: (info, _req, article) => ({
      contentType: 'text/html; charset=utf-8',
      body: articlePaymentRequiredPage(article, satsText(info.priceMsat / 1000n), info.error),
    }),
  });

  const refuses = refusingRoute({ ...common, service: SERVICE, priceMsat: quoteArticleMsat(pricing) });
  const x402Route = opts.x402 ? await startX402Route(opts.x402) : undefined;

  // Quill Pro on Lightning always, and by card through the card service's subscriptions: their
  // receipts checked offline with the card service's keys, as payment receipts are.
  const cardPlans =
    opts.card?.plans ??
    (opts.card && cardClient
      ? { verifyReceipt: cardSubscriptionVerifier(opts.card, cardClient, receiptKey) }
      : undefined);
  let planOffsetMs = 0;
  const baseNow = opts.now ?? Date.now;
  const plans = new PlanDesk({
    plans: [quillPro(Boolean(cardPlans))],
    realm: 'paybound-demo',
    // The desk derives its own keys from it: its challenges are never the paywalls'.
    secret: mppSecret,
    subscribeUrl: (req) => requestOrigin(req) + PLAN_SUBSCRIBE_PATH,
    lightning: { wallet },
    ...(opts.card && cardPlans && cardClient
      ? {
          card: {
            client: cardPlans.client ?? cardPlanClient(cardClient),
            accountId: opts.card.accountId,
            verifyReceipt: cardPlans.verifyReceipt,
          },
        }
      : {}),
    now: () => baseNow() + planOffsetMs,
  });
  const subscribe = subscribeEndpoint(plans);

  const operatorToken = opts.operatorToken ?? randomBytes(24).toString('base64url');
  const drafts = startDrafts({
    common,
    pricing,
    wallet,
    refundWallet: opts.adminKey
      ? new LnbitsClient({ url: opts.lnbitsUrl, invoiceKey: opts.invoiceKey, adminKey: opts.adminKey })
      : undefined,
    network: opts.network ?? 'regtest',
    windowSeconds: opts.reviewWindowSeconds ?? 600,
    card:
      opts.card && cardClient
        ? { client: cardClient, accountId: opts.card.accountId, receiptKey, usdPerBtc }
        : undefined,
    mppLightning: opts.mppLightning ?? false,
    mpp: { secret: mppSecret, store: challengeStore, onSettled: opts.onSettled },
    operatorToken,
    now: opts.now,
    plans,
  });

  // Dollar amounts only where a card can pay them.
  const cardRate = opts.card ? usdPerBtc : undefined;
  const pricingNote = generatePricingNote(pricing, cardRate);
  const promptPricing = {
    baseSat: pricing.generateBaseSat,
    perWordSat: pricing.generatePerWordSat,
    capSat: pricing.generateCapSat,
    usdPerBtc: cardRate,
  };

  /**
   * The last requests to the API and the review endpoint: which scheme their Authorization had,
   * and whether a plan's subscriber credential came with them.
   */
  const seen: {
    path: string;
    method: string;
    authorization: string;
    subscriber: 'present' | 'none';
    fetchSite: string;
    dest: string;
  }[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const method = req.method ?? 'GET';
    if (path.startsWith('/api/') || path.startsWith('/paybound/')) {
      const auth = req.headers.authorization ?? '';
      seen.push({
        path,
        method,
        authorization: auth.split(' ', 1)[0] || 'none',
        subscriber: req.headers['paybound-subscriber'] ? 'present' : 'none',
        fetchSite: String(req.headers['sec-fetch-site'] ?? ''),
        dest: String(req.headers['sec-fetch-dest'] ?? ''),
      });
      if (seen.length > 200) seen.shift();
    }
    if (path === '/_demo/requests') {
      if (method === 'DELETE') seen.length = 0;
      return sendJson(res, 200, { requests: seen });
    }
    if (path === '/api/echo') {
      if (method === 'OPTIONS') return answerPreflight(res);
      applyCors(res);
      return sendJson(res, 200, {
        authorization: req.headers.authorization ?? null,
        subscriber: req.headers['paybound-subscriber'] ? 'present' : null,
      });
    }

    if (path === '/') {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
      return sendHtml(
        res,
        200,
        homePage(pricingNote, drafts.pricingNote, promptPricing, {
          x402: Boolean(x402Route),
          planNote: planNote(Boolean(cardPlans)),
        }),
      );
    }
    if (path === '/health') {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
      return sendJson(res, 200, { ok: true });
    }
    if (path === PLAN_SUBSCRIBE_PATH) return subscribe(req, res);
    if (opts.testRoutes && path === PLAN_PRICE_PATH) {
      if (method !== 'POST') return methodNotAllowed(res, 'POST');
      const sats = new URL(req.url ?? '/', 'http://demo').searchParams.get('sats') ?? '';
      if (!/^[1-9]\d{0,9}$/.test(sats))
        return sendJson(res, 400, { error: 'sats must be a positive whole number' });
      plans.reprice(QUILL_PRO.id, 'lightning', BigInt(sats));
      return sendJson(res, 200, { plan: QUILL_PRO.id, sats });
    }
    if (opts.testRoutes && path === PLAN_ADVANCE_PATH) {
      if (method !== 'POST') return methodNotAllowed(res, 'POST');
      const query = new URL(req.url ?? '/', 'http://demo').searchParams;
      const seconds = Number(query.get('seconds'));
      if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > 10 * 366 * 86_400) {
        return sendJson(res, 400, { error: 'seconds must be a whole number from 0 to ten years' });
      }
      // `reset`: back to the real clock first (a test leaves the shared demo as it found it).
      if (query.get('reset') === '1') planOffsetMs = 0;
      planOffsetMs += seconds * 1000;
      return sendJson(res, 200, {
        offsetSeconds: planOffsetMs / 1000,
        now: Math.floor((baseNow() + planOffsetMs) / 1000),
      });
    }
    if (await drafts.route(req, res, path, method)) return;
    if (x402Route?.owns(path)) return x402Route.handle(req, res);
    if (path === '/api/generate') {
      if (method === 'OPTIONS') return answerPreflight(res);
      applyCors(res);
      if (method !== 'POST') return methodNotAllowed(res, 'POST, OPTIONS');
      return generate(req, res);
    }
    if (path === '/api/refuses') {
      if (method === 'OPTIONS') return answerPreflight(res);
      if (method !== 'GET' && method !== 'POST') return methodNotAllowed(res, 'GET, POST, OPTIONS');
      return refuses(req, res);
    }
    const articleMatch = /^\/article\/([^/]+)$/.exec(path);
    if (articleMatch) {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
      const article = findArticle(articleMatch[1]!);
      if (!article) return sendHtml(res, 404, notFoundPage());
      return articlePaywall(req, res, article, (_req, res, article) =>
        sendHtml(res, 200, articlePage(article)),
      );
    }
    sendJson(res, 404, { error: `no route for ${path}` });
  }

  async function generate(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonBody(req, 16 * 1024);
    if (!body.ok) return sendJson(res, body.status, { error: body.error });
    const value = body.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return sendJson(res, 422, { error: 'expected a JSON object {"prompt": "..."}' });
    }
    const prompt: unknown = (value as Record<string, unknown>).prompt;
    if (typeof prompt !== 'string') {
      return sendJson(res, 422, { error: 'prompt is required and must be a string' });
    }
    const chars = [...prompt].length;
    if (chars === 0 || prompt.trim() === '') {
      return sendJson(res, 422, { error: 'prompt must not be empty' });
    }
    if (chars > PROMPT_MAX_CHARS) {
      return sendJson(res, 422, { error: `prompt is longer than ${PROMPT_MAX_CHARS} characters` });
    }
    if (l402GeneratePaywall) {
      await l402GeneratePaywall(req, res, { prompt }, (_req, res, body, paid) => {
        sendJson(res, 200, {
          text: generateText(body.prompt),
          words: countWords(body.prompt),
          price_msat: (paid?.priceMsat ?? 0n).toString(),
        });
      });
      return;
    }
    await generatePaywall?.(req, res, { prompt }, (_req, res, body, paid) => {
      const answer: Record<string, unknown> = {
        text: generateText(body.prompt),
        words: countWords(body.prompt),
        price_msat: (paid?.kind === 'l402'
          ? paid.l402.priceMsat
          : quoteGenerateMsat(body.prompt, pricing)
        ).toString(),
      };
      if (paid?.kind === 'mpp') {
        answer.paid = {
          method: paid.mpp.method,
          amount: paid.mpp.due.toString(),
          currency: paid.mpp.currency,
        };
      }
      sendJson(res, 200, answer);
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error('[demo] request failed:', err);
      if (!res.headersSent) {
        sendJson(res, 500, { error: 'internal error' });
      } else {
        res.destroy();
      }
    });
  });

  return {
    url: await listen(server, opts.port, opts.host),
    desk: drafts.desk,
    plans,
    operatorToken,
    settled: async () => {
      await generatePaywall?.settled();
      await drafts.settled();
    },
    close: closer(server),
  };
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendJson(res, 405, { error: 'method not allowed', allow });
}

/** The demo's check of a card plan's receipt: signed by the card service, for this very challenge. */
function cardSubscriptionVerifier(
  card: DemoCardOptions,
  client: CardServiceClient,
  key: ReceiptKey | undefined,
): SubscriptionReceiptVerifier {
  let keys: Promise<ReceiptKey[]> | undefined = key ? Promise.resolve([key]) : undefined;
  return async (receipt, expected) => {
    keys ??= client.receiptKeys();
    const check = verifySubscriptionReceipt(receipt, await keys, {
      challengeId: expected.challengeId,
      issuer: card.cardServiceUrl,
      destination: expected.destination,
      amount: expected.amount,
      currency: expected.currency,
      interval: expected.interval,
      intervalCount: expected.intervalCount,
    });
    if (!check.ok) return check;
    return check.claims.subscription === expected.subscription
      ? { ok: true }
      : { ok: false, reason: 'the receipt names another subscription' };
  };
}
