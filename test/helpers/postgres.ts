// Starts a throwaway PostgreSQL for tests and benchmarks: initdb into a temp
// folder, a free loopback port, unix sockets in the temp folder. As root
// (initdb refuses root) the server runs as the `postgres` OS user.
// Without initdb this throws: CI installs Debian's postgresql package.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayPostgres {
  /** A `postgres://` URL to a fresh database. */
  readonly url: string;
  readonly port: number;
  /** Creates another empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (`pg_ctl stop -m fast`: clients see "terminating connection"); start() brings it back. */
  halt(): Promise<void>;
  /** Starts a halted server again, same port and data folder. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

function findBin(name: string): string {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const path = join(root, v, 'bin', name);
      if (existsSync(path)) return path;
    }
  }
  throw new Error(
    `PostgreSQL's "${name}" was not found (PATH or /usr/lib/postgresql/*/bin). Install the Debian "postgresql" package (apt-get install postgresql), as .ci/run does: these tests need a real server.`,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface RunAs {
  uid?: number;
  gid?: number;
}

function postgresUser(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export async function startPostgres(): Promise<ThrowawayPostgres> {
  const initdb = findBin('initdb');
  const pgCtl = findBin('pg_ctl');
  const as = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-pg-'));
  const data = join(dir, 'data');
  if (as.uid !== undefined) {
    chownSync(dir, as.uid, as.gid as number);
    chmodSync(dir, 0o700);
  }
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, 'hookwork\n');
  if (as.uid !== undefined) chownSync(pwfile, as.uid, as.gid as number);
  const opts = { ...as, stdio: 'pipe' as const, env: { ...process.env, LC_ALL: 'C' } };
  execFileSync(initdb, ['-D', data, '-U', 'hookwork', '--pwfile', pwfile, '-A', 'md5', '-E', 'UTF8', '--no-sync'], opts);
  const port = await freePort();
  const pgCtlAsync = (args: string[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(pgCtl, args, { ...as, stdio: 'ignore', env: opts.env });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl ${args.at(-1)} exited with ${code}`))));
      child.on('error', reject);
    });
  const startArgs = [
    '-D', data, '-l', join(dir, 'log'), '-w', '-t', '60',
    '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
    'start',
  ];
  execFileSync(pgCtl, startArgs, opts);
  const base = `postgres://hookwork:hookwork@127.0.0.1:${port}`;
  const { default: pg } = await import('pg');
  let admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  let stopped = false;
  const createDatabase = async (name: string): Promise<string> => {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
    return `${base}/${name}`;
  };
  const url = await createDatabase('hookwork_test');
  return {
    url,
    port,
    createDatabase,
    async halt() {
      await admin.end().catch(() => undefined);
      await pgCtlAsync(['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    async resume() {
      await pgCtlAsync(startArgs);
      admin = new pg.Client({ connectionString: `${base}/postgres` });
      await admin.connect();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await admin.end().catch(() => undefined);
      await new Promise<void>((resolve) => {
        const child = spawn(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...as, stdio: 'ignore' });
        child.on('exit', () => resolve());
        child.on('error', () => resolve());
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
