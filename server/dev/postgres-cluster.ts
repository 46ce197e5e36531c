// A throwaway PostgreSQL cluster for tests and the load run: Debian's `postgresql` binaries
// (initdb, pg_ctl) in a temporary directory, on a free port of 127.0.0.1, stopped and removed by
// stop(). PostgreSQL refuses to run as root, so as root the cluster runs as `nobody`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PostgresCluster {
  /** postgres://… of the `postgres` database (superuser, no password: trust on 127.0.0.1 only). */
  url: string;
  /** A new, empty database on the cluster; its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server (immediately: nothing in it is kept) and removes its directory. */
  stop(): void;
}

/** The newest /usr/lib/postgresql/<n>/bin, or $PG_BIN. */
export function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) {
    throw new Error(
      'PostgreSQL binaries not found (apt-get install postgresql, or set PG_BIN to the directory of initdb and pg_ctl)',
    );
  }
  return join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ClusterOptions {
  /** fsync on commit (default false: a test cluster loses nothing it needs by skipping it). */
  durable?: boolean;
}

export async function startPostgresCluster(opts: ClusterOptions = {}): Promise<PostgresCluster> {
  const bin = postgresBin();
  const root = mkdtempSync(join(tmpdir(), 'paybound-pg-'));
  const data = join(root, 'data');
  const socket = join(root, 'socket');
  mkdirSync(socket);
  const asRoot = process.getuid?.() === 0;
  // nobody's uid and gid (65534 on Debian); the directory must be the server's own.
  const user = asRoot ? 'nobody' : undefined;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
    chownSync(root, uid, gid);
    chownSync(socket, uid, gid);
  }
  const run = (tool: string, args: string[]) => {
    const command = join(bin, tool);
    if (user) execFileSync('runuser', ['-u', user, '--', command, ...args], { stdio: 'pipe', cwd: root });
    else execFileSync(command, args, { stdio: 'pipe', cwd: root });
  };
  const port = await freePort();
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    const settings = [
      `-p ${port}`,
      `-k ${socket}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=200',
      `-c fsync=${opts.durable ? 'on' : 'off'}`,
      `-c synchronous_commit=${opts.durable ? 'on' : 'off'}`,
      '-c full_page_writes=off',
    ].join(' ');
    run('pg_ctl', ['-D', data, '-o', settings, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start']);
  } catch (err) {
    const log = existsSync(join(root, 'server.log')) ? readFileSync(join(root, 'server.log'), 'utf8') : '';
    rmSync(root, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    async createDatabase(prefix = 'test') {
      const name = `${prefix}_${randomBytes(6).toString('hex')}`;
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
