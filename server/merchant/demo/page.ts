// HTML for the demo: the writing-assistant page and the article pages. Plain HTML, inline CSS and
// a small inline script; no build step.
import { escapeHtml } from '../kit/http';
import { ARTICLES, type Article } from './articles';

const STYLE = `
  :root { color-scheme: light dark; --accent: #f7931a; --fg: #1d1d1f; --muted: #6e6e73; --card: #fff; --bg: #f5f5f7; --border: #d2d2d7; }
  @media (prefers-color-scheme: dark) { :root { --fg: #f5f5f7; --muted: #a1a1a6; --card: #1c1c1e; --bg: #000; --border: #3a3a3c; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 1.25rem 1.5rem; border-bottom: 1px solid var(--border); background: var(--card); }
  header h1 { margin: 0; font-size: 1.25rem; } header p { margin: .25rem 0 0; color: var(--muted); }
  main { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  .card { background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 1.25rem; margin-bottom: 1.5rem; }
  label { font-weight: 600; display: block; margin-bottom: .5rem; }
  textarea { width: 100%; min-height: 8rem; padding: .75rem; font: inherit; border-radius: 8px; border: 1px solid var(--border); background: var(--bg); color: var(--fg); resize: vertical; }
  .actions { display: flex; gap: .75rem; margin-top: .75rem; align-items: center; flex-wrap: wrap; }
  button { font: inherit; font-weight: 600; padding: .55rem 1.1rem; border-radius: 8px; border: 0; background: var(--accent); color: #fff; cursor: pointer; }
  button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
  button:disabled { opacity: .5; cursor: progress; }
  .hint { color: var(--muted); font-size: .9rem; }
  #status { font-weight: 600; min-height: 1.5em; }
  #status[data-code="200"] { color: #1e8e3e; } #status[data-code="402"] { color: var(--accent); }
  #output { white-space: pre-wrap; min-height: 3em; }
  #prompt-price { margin: .5rem 0 0; min-height: 1.35em; }
  a { color: var(--accent); }
  article h1 { margin-top: 0; }
`;

function layout(title: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1>Quill — AI writing assistant</h1><p>Pay per request with Lightning (HTTP 402, L402)</p></header>
<main>
${body}
</main>
${script ? `<script>${script}</script>` : ''}
</body>
</html>`;
}

// Runs in the page. The buttons post the same JSON (Draft to /drafts/generate, which charges an
// estimate's maximum and can be reviewed); the result and the HTTP status are shown. Prices are
// formatted as price-text.ts does (grouped digits, "sat"/"sats", cents rounded up); the prompt's
// price follows quoteGenerateMsat, from the integers in #prompt-price's data attributes.
const SCRIPT = `
(() => {
  const $ = (id) => document.getElementById(id);
  const status = $('status');
  const output = $('output');
  const paid = $('paid');
  const prompt = $('prompt');
  const promptPrice = $('prompt-price');
  // The x402 buttons are there only when the app takes x402.
  const buttons = [$('generate'), $('generate-xhr'), $('draft'), $('generate-x402'), $('generate-x402-v1')].filter(Boolean);
  const cfg = promptPrice.dataset;
  const rate = cfg.usdPerBtc ? BigInt(cfg.usdPerBtc) : null;

  const digits = (v) => /^\\d+$/.test(String(v));
  const group = (n) => String(n).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ',');
  const usd = (cents) => '$' + group(cents / 100n) + '.' + String(cents % 100n).padStart(2, '0');
  // sat: a bigint. The dollar part only when the app takes cards, rounded up as the card price is.
  function priceText(sat) {
    const sats = group(sat) + (sat === 1n ? ' sat' : ' sats');
    return rate === null ? sats : sats + ' · ' + usd((sat * rate + 999999n) / 1000000n);
  }
  // The /api/generate price: words are runs of non-space characters, as the server counts them.
  function quoteSat(text) {
    const words = text.split(/\\s+/u).filter((w) => w !== '').length;
    return BigInt(Math.min(Number(cfg.baseSat) + Number(cfg.perWordSat) * words, Number(cfg.capSat)));
  }
  function showPromptPrice() {
    promptPrice.textContent = prompt.value.trim() === '' ? '' : 'This prompt: ' + priceText(quoteSat(prompt.value));
  }
  // An amount of a draft's charge in its unit (msat for L402, sat for MPP Lightning, usd cents for cards).
  function amountText(amount, unit) {
    if (!digits(amount)) return null;
    if (unit === 'msat') return priceText(BigInt(amount) / 1000n);
    if (unit === 'sat') return priceText(BigInt(amount));
    return unit === 'usd' ? usd(BigInt(amount)) : null;
  }
  function paidText(data) {
    if (data.plan && typeof data.plan.id === 'string') {
      if (data.plan.overage && data.plan.overage.unit === 'sat' && digits(data.plan.overage.amount))
        return 'Beyond the plan: ' + priceText(BigInt(data.plan.overage.amount)) + '.';
      if (data.plan.overage && data.plan.overage.unit === 'usd' && digits(data.plan.overage.amount))
        return 'Beyond the plan: ' + usd(BigInt(data.plan.overage.amount)) + ' by card.';
      return 'Included in your plan: ' + data.plan.used + ' of ' + data.plan.included + ' this period.';
    }
    const actual = amountText(data.actual, data.unit);
    const max = amountText(data.max, data.unit);
    if (actual && max) return 'This draft cost ' + actual + ' (at most ' + max + ').';
    if (data.paid && data.paid.currency === 'usd' && digits(data.paid.amount))
      return 'Paid ' + usd(BigInt(data.paid.amount)) + ' by card.';
    if (data.paid && data.paid.token === 'USDC' && digits(data.paid.amount)) {
      const a = BigInt(data.paid.amount);
      const frac = String(a % 1000000n).padStart(6, '0').replace(/0+$/, '');
      return 'Paid ' + String(a / 1000000n) + (frac ? '.' + frac : '') + ' USDC (test money) with x402.';
    }
    return digits(data.price_msat) ? 'This request cost ' + priceText(BigInt(data.price_msat) / 1000n) + '.' : '';
  }

  function busy(on) {
    for (const b of buttons) b.disabled = on;
    if (on) { status.textContent = 'Working…'; status.removeAttribute('data-code'); output.textContent = ''; paid.textContent = ''; }
  }

  function render(code, bodyText) {
    let data = null;
    try { data = JSON.parse(bodyText); } catch (e) { data = null; }
    status.dataset.code = String(code);
    paid.textContent = '';
    if (code === 200 && data && typeof data.text === 'string') {
      status.textContent = '200 OK';
      output.textContent = data.text;
      paid.textContent = paidText(data);
    } else if (code === 402) {
      status.textContent = 'Payment required (402)';
      const price = data && digits(data.price_msat) ? priceText(BigInt(data.price_msat) / 1000n) : 'a price';
      output.textContent = 'This request costs ' + price + (data && data.error && data.error !== 'payment_required' ? ' (' + data.error + ')' : '') + '.';
    } else {
      status.textContent = 'Error ' + code;
      output.textContent = data && data.error ? data.error : bodyText;
    }
  }

  function payload() { return JSON.stringify({ prompt: prompt.value }); }

  async function send(request) {
    busy(true);
    try {
      const res = await request();
      render(res.status, await res.text());
    } catch (e) {
      status.dataset.code = '0';
      status.textContent = 'Network error';
      output.textContent = String(e && e.message ? e.message : e);
    } finally { busy(false); }
  }

  prompt.addEventListener('input', showPromptPrice);
  showPromptPrice();

  $('generate').addEventListener('click', () =>
    send(() => fetch('/api/generate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload() })));
  $('draft').addEventListener('click', () =>
    send(() => fetch('/drafts/generate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload() })));

  for (const [id, path] of [['generate-x402', '/x402/generate'], ['generate-x402-v1', '/x402/v1/generate']]) {
    const button = $(id);
    if (button) button.addEventListener('click', () =>
      send(() => fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload() })));
  }

  $('generate-xhr').addEventListener('click', () => {
    busy(true);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/generate');
    xhr.setRequestHeader('content-type', 'application/json');
    xhr.onload = () => { busy(false); render(xhr.status, xhr.responseText); };
    xhr.onerror = () => { busy(false); status.dataset.code = '0'; status.textContent = 'Network error'; };
    xhr.send(payload());
  });
})();
`;

/** The integers the page prices a typed prompt with (see quoteGenerateMsat); usdPerBtc only with cards. */
export interface PromptPricing {
  baseSat: number;
  perWordSat: number;
  capSat: number;
  usdPerBtc?: number;
}

export function homePage(
  pricingNote: string,
  draftNote: string,
  promptPricing: PromptPricing,
  options: { x402?: boolean; planNote?: string } = {},
): string {
  const { baseSat, perWordSat, capSat, usdPerBtc } = promptPricing;
  const attr = (name: string, n: number) => ` data-${name}="${escapeHtml(String(n))}"`;
  const priceData =
    attr('base-sat', baseSat) +
    attr('per-word-sat', perWordSat) +
    attr('cap-sat', capSat) +
    (usdPerBtc === undefined ? '' : attr('usd-per-btc', usdPerBtc));
  const links = ARTICLES.map(
    (a) => `<li><a href="/article/${escapeHtml(a.slug)}">${escapeHtml(a.title)}</a></li>`,
  ).join('\n');
  return layout(
    'Quill — AI writing assistant',
    `<section class="card">
  <label for="prompt">What should I write?</label>
  <textarea id="prompt" maxlength="2000" placeholder="A short welcome note for new customers of a bakery"></textarea>
  <p class="hint" id="prompt-price"${priceData}></p>
  <div class="actions">
    <button id="generate" type="button">Generate</button>
    <button id="generate-xhr" class="secondary" type="button">Generate (XHR)</button>
    <button id="draft" class="secondary" type="button">Draft (estimated)</button>
${
  options.x402
    ? `<button id="generate-x402" class="secondary" type="button">Generate (x402, USDC)</button>
    <button id="generate-x402-v1" class="secondary" type="button">Generate (x402 v1)</button>`
    : ''
}
    <span class="hint">${escapeHtml(pricingNote)}</span>
  </div>
  ${draftNote ? `<p class="hint" id="draft-note">${escapeHtml(draftNote)}</p>` : ''}
  ${options.planNote ? `<p class="hint" id="plan-note">${escapeHtml(options.planNote)}</p>` : ''}
</section>
<section class="card" aria-live="polite">
  <div id="status"></div>
  <div id="output"></div>
  <div class="hint" id="paid"></div>
</section>
<section class="card">
  <strong>Paid articles</strong>
  <ul>
${links}
  </ul>
</section>`,
    SCRIPT,
  );
}

export function articlePage(article: Article): string {
  const paragraphs = article.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  return layout(
    article.title,
    `<article class="card" id="article" data-slug="${escapeHtml(article.slug)}"><h1>${escapeHtml(article.title)}</h1>
${paragraphs}
</article>
<p><a href="/">← Back to the assistant</a></p>`,
  );
}

/** `price` as shown, e.g. "1,000 sats". */
export function articlePaymentRequiredPage(article: Article, price: string, reason: string): string {
  const why =
    reason === 'payment_required'
      ? ''
      : `<p class="hint">Your credential was refused: ${escapeHtml(reason)}</p>`;
  return layout(
    `Payment required — ${article.title}`,
    `<section class="card" id="payment-required"><h1>Payment required</h1>
<p>“${escapeHtml(article.title)}” costs ${escapeHtml(price)}. Pay the Lightning invoice in this page's
<code>WWW-Authenticate</code> challenge (L402) with a wallet such as Paybound, then reload.</p>
${why}
</section>
<p><a href="/">← Back to the assistant</a></p>`,
  );
}

export function notFoundPage(): string {
  return layout(
    'Not found',
    '<section class="card"><h1>Not found</h1><p><a href="/">Back to the assistant</a></p></section>',
  );
}
