// Real processes for the crash tests: gateway nodes (fixtures/crash-node.ts)
// and an HTTP receiver on 127.0.0.1 that records every request.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';

export interface Received {
  readonly n: number;
  readonly webhookId: string;
  readonly node: string;
  readonly at: number;
}

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Returns the status to answer with (default 200). */
  status: () => number;
  /** Requests being handled right now, by webhook id (for "never twice at once"). */
  readonly overlaps: string[];
  /** How long each request is held, ms. */
  holdMs: number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const active = new Map<string, number>();
  const receiver: Receiver = {
    url: '',
    received: [],
    status: () => 200,
    overlaps: [],
    holdMs: 0,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { n: number } };
      const status = receiver.status();
      if ((active.get(id) ?? 0) > 0) receiver.overlaps.push(id);
      active.set(id, (active.get(id) ?? 0) + 1);
      const finish = () => {
        active.set(id, (active.get(id) ?? 1) - 1);
        if (status >= 200 && status < 300) {
          receiver.received.push({ n: body.data.n, webhookId: id, node: String(req.headers['x-node']), at: Date.now() });
        }
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
      };
      if (receiver.holdMs > 0) setTimeout(finish, receiver.holdMs);
      else finish();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  Object.assign(receiver, {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return receiver;
}

export interface Node {
  readonly child: ChildProcess;
  readonly url: string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = new URL('../../', import.meta.url).pathname;

export async function startNode(configPath: string, receiverUrl: string, name?: string): Promise<Node> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/delivery/fixtures/crash-node.ts', configPath, receiverUrl], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(name === undefined ? {} : { NODE_NAME: name }) },
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\S+)/.exec(out);
      if (m !== null) resolve(m[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`node exited (${code}) before listening: ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.on('exit', () => resolve());
  });
  return {
    child,
    url,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function tempConfig(config: Record<string, unknown>): { dir: string; path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-crash-'));
  const path = join(dir, 'config.json');
  writeFileSync(
    path,
    JSON.stringify({
      log_level: 'silent',
      server: { data_dir: join(dir, 'data') },
      events: [{ id: '1001', name: 'numbered' }],
      ...config,
    }),
  );
  return { dir, path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** POSTs events n = from..to-1 with `parallel` in flight; returns the n that were accepted (202). */
export async function postEvents(
  url: string,
  from: number,
  to: number,
  parallel = 32,
  onAccepted?: (count: number) => void,
): Promise<Set<number>> {
  const pool = new Pool(url, { connections: parallel });
  const accepted = new Set<number>();
  let next = from;
  const worker = async () => {
    while (next < to) {
      const n = next++;
      try {
        const res = await pool.request({
          path: '/v1/events',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: '1001', data: { n } }),
        });
        await res.body.dump();
        if (res.statusCode === 202) {
          accepted.add(n);
          onAccepted?.(accepted.size);
        }
      } catch {
        // The node was killed: this one may or may not have been stored.
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  await pool.close().catch(() => undefined);
  return accepted;
}
