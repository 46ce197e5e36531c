// Which engine the card service and review desk suites run on: the embedded one in the `unit`
// project, the run's PostgreSQL cluster in `unit-pg` (global setup: postgres-setup.ts).
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { type Database, openDatabase } from '../../../server/lib/sql';

export function postgresUrl(): string | undefined {
  return inject('postgresUrl');
}

/** A new, empty PostgreSQL database for one stack, or undefined on the embedded engine. */
export async function freshDatabaseUrl(): Promise<string | undefined> {
  const url = postgresUrl();
  if (!url) return undefined;
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = await openDatabase({ url, poolSize: 1 });
  try {
    await admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  const out = new URL(url);
  out.pathname = `/${name}`;
  return out.toString();
}

/** A database on this run's engine: a fresh PostgreSQL database, or PGlite in memory. */
export async function testDatabase(): Promise<Database> {
  return openDatabase({ url: await freshDatabaseUrl() });
}
