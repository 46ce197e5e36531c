// The assistant page's inline script, run in a bare JavaScript context with a stand-in for the few
// DOM calls it makes: the prices it shows must be the server's (quoteGenerateMsat, priceText).
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { homePage, type PromptPricing } from '../../../server/merchant/demo/page';
import { priceText } from '../../../server/merchant/demo/price-text';
import { DEFAULT_PRICING, type DemoPricing, quoteGenerateMsat } from '../../../server/merchant/demo/pricing';

type Listener = () => void;

class FakeElement {
  textContent = '';
  value = '';
  disabled = false;
  readonly dataset: Record<string, string> = {};
  readonly #listeners = new Map<string, Listener[]>();
  addEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  removeAttribute(name: string): void {
    if (name.startsWith('data-')) delete this.dataset[datasetKey(name.slice(5))];
  }
  fire(type: string): void {
    for (const listener of this.#listeners.get(type) ?? []) listener();
  }
}

function datasetKey(attribute: string): string {
  return attribute.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

interface Answer {
  status: number;
  body: unknown;
}

/** Loads the page's script against its elements; `answer` is what fetch gets back. */
function loadPage(html: string, answer: () => Answer) {
  const elements = new Map<string, FakeElement>();
  for (const m of html.matchAll(/<[a-z]+\s([^>]*\bid="([^"]+)"[^>]*)>/g)) {
    const el = new FakeElement();
    for (const d of m[1]!.matchAll(/\bdata-([a-z-]+)="([^"]*)"/g)) el.dataset[datasetKey(d[1]!)] = d[2]!;
    elements.set(m[2]!, el);
  }
  const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1];
  expect(script).toBeDefined();
  const fetch = async () => {
    const { status, body } = answer();
    return { status, text: async () => JSON.stringify(body) };
  };
  runInNewContext(script!, { document: { getElementById: (id: string) => elements.get(id) ?? null }, fetch });
  const el = (id: string) => elements.get(id)!;
  return {
    el,
    type(text: string): string {
      el('prompt').value = text;
      el('prompt').fire('input');
      return el('prompt-price').textContent;
    },
    async click(id: string): Promise<void> {
      el(id).fire('click');
      // The script's fetch and render run on promises: let them settle.
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

function page(
  pricing: DemoPricing,
  usdPerBtc?: number,
  answer: () => Answer = () => ({ status: 500, body: {} }),
) {
  const prices: PromptPricing = {
    baseSat: pricing.generateBaseSat,
    perWordSat: pricing.generatePerWordSat,
    capSat: pricing.generateCapSat,
    usdPerBtc,
  };
  return loadPage(homePage('note', 'draft note', prices), answer);
}

const PROMPTS = [
  'Write a haiku about invoices',
  'one',
  '  leading and trailing  ',
  'tabs\tand\nnew\r\nlines',
  // Unicode spaces separate words too (no-break, ideographic, em space), as /\s/ says on the server.
  'no\u00a0break\u3000ideographic\u2003em',
  'emoji 🙂 count as words 🙂🙂',
  'word '.repeat(799),
  'x'.repeat(2000),
];

describe('the price of the prompt being typed', () => {
  it('is what /api/generate charges, in the server’s words, with and without cards', () => {
    const pricings: [DemoPricing, number | undefined][] = [
      [DEFAULT_PRICING, undefined],
      [DEFAULT_PRICING, 100_000],
      [{ ...DEFAULT_PRICING, generateBaseSat: 1, generatePerWordSat: 1, generateCapSat: 3 }, 50_000],
      [{ ...DEFAULT_PRICING, generateBaseSat: 0, generatePerWordSat: 7, generateCapSat: 1_000_000 }, 123_457],
    ];
    for (const [pricing, usdPerBtc] of pricings) {
      const p = page(pricing, usdPerBtc);
      for (const prompt of PROMPTS) {
        const sat = quoteGenerateMsat(prompt, pricing) / 1000n;
        expect(p.type(prompt), prompt).toBe(`This prompt: ${priceText(sat, usdPerBtc)}`);
      }
    }
  });

  it('reads naturally for the default prices, and is blank for a blank prompt', () => {
    const p = page(DEFAULT_PRICING, 100_000);
    expect(p.el('prompt-price').textContent).toBe('');
    expect(p.type('Write a haiku about invoices, please')).toBe('This prompt: 2,060 sats · $2.06');
    expect(p.type('word '.repeat(900))).toBe('This prompt: 10,000 sats · $10.00');
    expect(p.type('  \n ')).toBe('');
    expect(page(DEFAULT_PRICING).type('five words for a price')).toBe('This prompt: 2,050 sats');
    const single = page({ ...DEFAULT_PRICING, generateBaseSat: 0, generatePerWordSat: 1 });
    expect(single.type('one')).toBe('This prompt: 1 sat');
    // A tenth of a cent is charged as a cent.
    const card = page({ ...DEFAULT_PRICING, generateBaseSat: 0, generatePerWordSat: 1 }, 100_000);
    expect(card.type('one')).toBe('This prompt: 1 sat · $0.01');
  });
});

describe('the result', () => {
  it('tells the price of a 402 in sats, and in dollars when cards are taken', async () => {
    const answer = () => ({ status: 402, body: { error: 'payment_required', price_msat: '2050000' } });
    const p = page(DEFAULT_PRICING, 100_000, answer);
    p.type('five words for a price');
    await p.click('generate');
    expect(p.el('status').textContent).toBe('Payment required (402)');
    expect(p.el('status').dataset.code).toBe('402');
    expect(p.el('output').textContent).toBe('This request costs 2,050 sats · $2.05.');

    const lightningOnly = page(DEFAULT_PRICING, undefined, answer);
    await lightningOnly.click('generate');
    expect(lightningOnly.el('output').textContent).toBe('This request costs 2,050 sats.');

    const refused = page(DEFAULT_PRICING, undefined, () => ({
      status: 402,
      body: { error: 'token expired', price_msat: '1000' },
    }));
    await refused.click('generate');
    expect(refused.el('output').textContent).toBe('This request costs 1 sat (token expired).');
  });

  it('says what a 200 cost: the request, the card charge, or a draft against its maximum', async () => {
    let body: Record<string, unknown> = {};
    const p = page(DEFAULT_PRICING, 100_000, () => ({ status: 200, body }));
    body = { text: 'Hello.', words: 5, price_msat: '2050000' };
    await p.click('generate');
    expect(p.el('status').textContent).toBe('200 OK');
    expect(p.el('output').textContent).toBe('Hello.');
    expect(p.el('paid').textContent).toBe('This request cost 2,050 sats · $2.05.');

    body = { ...body, paid: { method: 'card', amount: '205', currency: 'usd' } };
    await p.click('generate');
    expect(p.el('paid').textContent).toBe('Paid $2.05 by card.');

    body = { text: 'A draft.', price_msat: '4050000', unit: 'msat', max: '4050000', actual: '3010000' };
    await p.click('draft');
    expect(p.el('paid').textContent).toBe('This draft cost 3,010 sats · $3.01 (at most 4,050 sats · $4.05).');
    body = { text: 'A draft.', price_msat: '4050000', unit: 'usd', max: '405', actual: '301' };
    await p.click('draft');
    expect(p.el('paid').textContent).toBe('This draft cost $3.01 (at most $4.05).');

    const failed = page(DEFAULT_PRICING, undefined, () => ({
      status: 422,
      body: { error: 'prompt must not be empty' },
    }));
    await failed.click('generate');
    expect(failed.el('status').textContent).toBe('Error 422');
    expect(failed.el('paid').textContent).toBe('');
  });
});

describe('the page', () => {
  it('escapes the notes and carries the prompt prices as integers', () => {
    const html = homePage('<b>&"', 'draft <i>', { baseSat: 2000, perWordSat: 10, capSat: 10000 });
    expect(html).toContain('&#60;b&#62;&#38;&#34;');
    expect(html).toContain('draft &#60;i&#62;');
    expect(html).toContain(
      'id="prompt-price" data-base-sat="2000" data-per-word-sat="10" data-cap-sat="10000">',
    );
    expect(html).not.toContain('data-usd-per-btc');
    expect(html).not.toContain('id="generate-x402');
  });

  it('offers x402 only when the app takes it, and says what an x402 request cost in USDC', async () => {
    const prices = { baseSat: 2000, perWordSat: 10, capSat: 10000 };
    let body: Record<string, unknown> = {};
    const p = loadPage(homePage('note', '', prices, { x402: true }), () => ({ status: 200, body }));
    for (const [id, amount, text] of [
      ['generate-x402', '10000', 'Paid 0.01 USDC (test money) with x402.'],
      ['generate-x402-v1', '1500000', 'Paid 1.5 USDC (test money) with x402.'],
    ] as const) {
      body = { text: 'Hello.', words: 1, paid: { amount, token: 'USDC', network: 'eip155:84532' } };
      await p.click(id);
      expect(p.el('status').textContent).toBe('200 OK');
      expect(p.el('paid').textContent).toBe(text);
    }
  });
});
