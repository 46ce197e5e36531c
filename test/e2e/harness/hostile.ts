/**
 * Tools for hostile-page tests: pages of other sites on loopback (served by interception, so any
 * host name works without DNS), messages forged exactly as the main-world script sends them, and
 * the demo app's record of what reached its API.
 */
import type { BrowserContext, Frame, Page } from 'playwright-core';
import type { StackInfo } from '../../../server/dev/stack';
import type { BridgeAnswer, ChallengePayload } from '../../../src/content/channel';
import { l402Header, macaroonFor } from '../../fixtures/l402';
import { wallets } from './wallets';

const BLANK = '<!doctype html><meta charset="utf-8"><title>a site</title><body><p>a site</p></body>';

/** Opens `url` in a new tab with `html` as its page; the real network is never asked. */
export async function openSite(context: BrowserContext, url: string, html = BLANK): Promise<Page> {
  const page = await context.newPage();
  await serve(page, url, html);
  await page.goto(url);
  return page;
}

/** Serves `html` at exactly `url` for requests of this page and its frames. */
export async function serve(page: Page, url: string, html = BLANK): Promise<void> {
  await page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: html }));
}

/** The other site on the same machine: `localhost` instead of `127.0.0.1` is another site. */
export function otherSite(stack: StackInfo): string {
  return stack.demo.replace('127.0.0.1', 'localhost');
}

/**
 * A tab on the other site, served for real by the demo server (a loopback address, as a real
 * site on this machine would be: the browser lets it reach the demo's API like any site).
 */
export async function openOtherSite(context: BrowserContext, stack: StackInfo): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${otherSite(stack)}/`);
  return page;
}

/** Forges and does not wait: the answer may never come (the test decides in the window). */
export function forgeLater(target: Page | Frame, payload: Parameters<typeof forge>[1]): void {
  forge(target, payload).catch(() => {});
}

/**
 * Posts `query` on the page's channel as the main-world script does (any script of the page can),
 * and resolves with the answer the bridge relays (undefined after `ms` without one).
 */
export function forge(
  target: Page | Frame,
  payload: Omit<ChallengePayload, 'status' | 'method'> & { method?: string },
  ms = 20_000,
): Promise<BridgeAnswer | undefined> {
  return target.evaluate(
    ([p, wait]) =>
      new Promise<BridgeAnswer | undefined>((resolve) => {
        const id = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
        const timer = setTimeout(() => resolve(undefined), wait);
        addEventListener('message', (ev: MessageEvent<BridgeAnswer>) => {
          if (ev.data?.channel === 'paybound:v1' && ev.data.kind === 'answer' && ev.data.id === id) {
            clearTimeout(timer);
            resolve(ev.data);
          }
        });
        postMessage(
          { channel: 'paybound:v1', kind: 'query', id, payload: { method: 'POST', status: 402, ...p } },
          '*',
        );
      }),
    [payload, ms] as const,
  );
}

/** Fires `count` forged queries without waiting for their answers (a flood). */
export function forgeMany(target: Page | Frame, payloads: ChallengePayload[]): Promise<void> {
  return target.evaluate((ps) => {
    ps.forEach((p, i) => {
      postMessage({ channel: 'paybound:v1', kind: 'query', id: 2_000_000_000 + i, payload: p }, '*');
    });
  }, payloads);
}

/** A real L402 challenge for a real invoice of the stand-in's app wallet. */
export async function l402Challenge(
  stack: StackInfo,
  sats: number,
  memo = 'forged',
  expirySeconds = 600,
): Promise<{ header: string; paymentHash: string; bolt11: string }> {
  const inv = await wallets(stack).createInvoice('app', sats, memo, expirySeconds);
  return { header: l402Header(macaroonFor(inv.paymentHash), inv.bolt11), ...inv };
}

export interface SeenRequest {
  path: string;
  method: string;
  /** The Authorization scheme that arrived (`L402`, `Bearer`, …) or `none`. */
  authorization: string;
  /** Whether a plan's subscriber credential (`Paybound-Subscriber`) arrived. */
  subscriber: 'present' | 'none';
  fetchSite: string;
  dest: string;
}

/** What reached the demo app's /api and /paybound paths since the last `clearSeen`. */
export async function seenByDemo(stack: StackInfo): Promise<SeenRequest[]> {
  const res = await fetch(`${stack.demo}/_demo/requests`);
  return ((await res.json()) as { requests: SeenRequest[] }).requests;
}

export async function clearSeen(stack: StackInfo): Promise<void> {
  await fetch(`${stack.demo}/_demo/requests`, { method: 'DELETE' });
}
