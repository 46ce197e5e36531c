// The review desk on PostgreSQL when the database goes away (unit-pg only): the review endpoint
// answers 503 with Retry-After, and the charge is all there once the database is back.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../../server/lib/sql';
import { ReviewDesk, reviewEndpoint } from '../../../server/merchant/kit/review';
import { sqlChargeStore } from '../../../server/merchant/kit/review-store';
import { type CuttableLink, cuttableLink } from '../card/instances-stack';
import { freshDatabaseUrl } from '../harness/database';
import { mintL402 } from './helpers';

const ROOT_KEY = 'c3'.repeat(32);
let link: CuttableLink;
let close: () => Promise<void>;
let url: string;
let desk: ReviewDesk;

beforeAll(async () => {
  const databaseUrl = await freshDatabaseUrl();
  if (!databaseUrl) throw new Error('review-store.pg.test.ts runs in the unit-pg project');
  const target = new URL(databaseUrl);
  link = await cuttableLink({ host: target.hostname, port: Number(target.port) });
  target.port = String(link.port);
  const db = await openDatabase({ url: target.toString() });
  desk = new ReviewDesk({ network: 'regtest', rootKey: ROOT_KEY, store: await sqlChargeStore(db) });
  const server: Server = createServer(reviewEndpoint(desk));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = async () => {
    link.restore();
    await new Promise<void>((r) => server.close(() => r()));
    await db.close();
    await link.close();
  };
});

afterAll(async () => {
  await close?.();
});

it('answers 503 with Retry-After while its database is away, and finds the charge as it was after', async () => {
  const { charge, proof } = mintL402(ROOT_KEY);
  await desk.open({
    charge,
    method: 'l402',
    proof: 'lightning',
    unit: 'msat',
    max: 5000n,
    windowSeconds: 600,
  });
  await desk.reportActual(charge, 2000n);
  const status = () =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: 1, action: 'status', charge, proof }),
    });
  link.cut();
  const away = await status();
  expect(away.status).toBe(503);
  expect(away.headers.get('retry-after')).toBe('2');
  expect(await away.json()).toMatchObject({ error: { code: 'unavailable' } });
  link.restore();
  const back = await status();
  expect(back.status).toBe(200);
  expect(await back.json()).toMatchObject({ charge, status: 'provisional', max: '5000', actual: '2000' });
});
