// The `unit-pg` project's global setup: one PostgreSQL cluster for the whole run; each test stack
// makes a database of its own on it (test/unit/harness/database.ts).
import type { TestProject } from 'vitest/node';
import { startPostgresCluster } from '../../../server/dev/postgres-cluster';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string | undefined;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const cluster = await startPostgresCluster();
  project.provide('postgresUrl', cluster.url);
  return () => cluster.stop();
}
