/**
 * A production build with no setting at all quotes in fiat: its worker asks the real hostnames
 * (api.coinbase.com, api.kraken.com, mempool.space) over TLS, which this browser resolves to the
 * rate stand-in, serving a certificate trusted for this run only (by its key's SPKI hash).
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildExtension } from '../../server/dev/build';
import { extensionUrl, type LaunchedBrowser, launchWithExtension } from '../../server/dev/chromium';
import { type RateStandin, startRateStandin } from '../../server/standins/rates';
import { ask, generate, nextQuoteWindow, POPUP } from './harness/flows';

const HOSTS = ['api.coinbase.com', 'api.kraken.com', 'mempool.space', 'getalby.com', 'api.yadio.io'];

let standin: RateStandin;
let browser: LaunchedBrowser;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'paybound-rates-tls-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=Paybound rate stand-in',
      '-addext',
      `subjectAltName=${HOSTS.map((h) => `DNS:${h}`).join(',')}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certPath, 'utf8');
  const spki = createHash('sha256')
    .update(new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  standin = await startRateStandin({ tls: { key: readFileSync(keyPath, 'utf8'), cert } });
  const port = new URL(standin.url).port;
  const extensionDir = buildExtension({ outDir: '.out/e2e/dist-production', production: true });
  browser = await launchWithExtension({
    extensionDir,
    args: [
      `--host-resolver-rules=${HOSTS.map((h) => `MAP ${h} 127.0.0.1:${port}`).join(', ')}`,
      `--ignore-certificate-errors-spki-list=${spki}`,
    ],
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await standin?.close();
});

describe('a production build, no settings', () => {
  it('quotes in fiat from the three public sources at their real hostnames; a liar and then all down as documented', async () => {
    const stack = inject('stack');
    const { context, extensionId } = browser;
    const popup = await context.newPage();
    await popup.goto(extensionUrl(extensionId, POPUP));
    // The only thing a new user must do to pay: link a wallet. No rate source is set.
    await ask(popup, 'rails.add', {
      kind: 'lnbits',
      label: 'Stand-in LNbits wallet',
      network: 'regtest',
      url: stack.lnbits,
      adminKey: stack.wallets.user.adminKey,
    });
    expect((await ask(popup, 'settings.get', {})).rateSources).toEqual([
      { kind: 'coinbase' },
      { kind: 'kraken' },
      { kind: 'mempool' },
    ]);
    const demo = await context.newPage();
    await demo.goto(stack.demo);

    let status = generate(demo);
    let quote = await nextQuoteWindow(context);
    // 2 010 sat at the stand-in's 100 000 USD/BTC.
    expect(await quote.textContent('[data-testid=amount-fiat]')).toBe('$2.01');
    expect(await quote.textContent('[data-testid=rate]')).toContain('from Coinbase, Kraken, mempool.space');
    await quote.click('[data-testid=deny]');
    expect(await status).toBe(402);

    // Kraken 10 % off: left out, the other two agree.
    standin.setFault('kraken', { offsetBps: 1000 });
    await ask(popup, 'settings.set', { currency: 'USD' });
    // Another prompt of the same length: another challenge at the same price.
    status = generate(demo, 'y');
    quote = await nextQuoteWindow(context);
    expect(await quote.textContent('[data-testid=amount-fiat]')).toBe('$2.01');
    expect(await quote.textContent('[data-testid=rate]')).toContain('from Coinbase, mempool.space');
    await quote.click('[data-testid=deny]');
    expect(await status).toBe(402);
    expect((await ask(popup, 'settings.get', {})).rateCheck?.dropped).toEqual([
      { source: 'Kraken', reason: '10.00 % from the median' },
    ]);

    // Everything down and nothing cached: refused before anything is reserved, saying why.
    standin.setFault('kraken', 'down');
    standin.setFault('coinbase', 'down');
    standin.setFault('mempool', 'down');
    await ask(popup, 'settings.set', { currency: 'USD' });
    expect(await generate(demo, 'nobody answers')).toBe(402);
    expect((await ask(popup, 'challenges.recent', { limit: 1 }))[0]?.error).toBe(
      'too few exchange-rate sources gave a usable rate (Coinbase: HTTP 503, error: Service unavailable; ' +
        'Kraken: HTTP 503, error: EService:Unavailable; mempool.space: HTTP 503), ' +
        'so there is no rate to check this charge against your budgets',
    );
  });
});
