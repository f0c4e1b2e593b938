// Memory as the work grows:
// - bytes per pending delivery in the memory store (10k, 100k, 1M pending);
// - the gateway's resident memory (a real `hookwork serve` process) with 0 to
//   1 million pending deliveries in its SQLite store (target: under 200 MB
//   at 1 million), read from /proc after it has delivered a while;
// - this process's resident memory along 1 million events through the
//   engine (host.emit → router → SQLite queue → signed webhook), once warm
//   (target: no growth beyond 10 %).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Pool } from 'undici';
import { silentLogger } from '../../src/logger.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { countingReceiver, type CountingReceiver } from '../lib.js';
import { formatCount, formatFigure, judgedAt, mib, sizesUpTo, type Curve, type ScaleOptions } from './curve.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PREFILL_BATCH = 5000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settle(): void {
  for (let i = 0; i < 3; i++) gc();
}

function eventJson(i: number): string {
  return JSON.stringify({ id: '1001', uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, data: { file: `/in/file-${i}.txt`, size: i, user: 'alice' } });
}

/** The RSS of a process, bytes, from /proc. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

async function bytesPerPending(max: number): Promise<Curve> {
  const rows: { size: number; perDelivery: number; json: number }[] = [];
  for (const size of sizesUpTo([10_000, 100_000, 1_000_000], max)) {
    const runtime = await createRuntime({
      config: { log_level: 'silent', store: { url: 'memory' }, events: [{ id: '1001', name: 'bench' }], delivery: { max_pending: 0 } },
      logger: silentLogger(),
    });
    const service = runtime.services.delivery!;
    settle();
    const before = process.memoryUsage();
    for (let i = 0; i < size; i += PREFILL_BATCH) {
      const n = Math.min(PREFILL_BATCH, size - i);
      await service.enqueue(Array.from({ length: n }, (_, j) => ({ target: 'receiver-down', eventJson: eventJson(i + j) })));
    }
    settle();
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.external - (before.heapUsed + before.external);
    rows.push({ size, perDelivery: grown / size, json: Buffer.byteLength(eventJson(size - 1)) });
    await runtime.close();
    settle();
  }
  return {
    id: 'memory-per-pending',
    title: 'Memory per pending delivery (memory store)',
    xLabel: 'pending deliveries',
    yLabel: 'bytes per delivery (heap + external)',
    series: [{ name: 'bytes per pending delivery', points: rows.map((r) => ({ x: r.size, y: r.perDelivery })) }],
    table: [['pending', 'bytes per delivery', 'of which the event JSON'], ...rows.map((r) => [formatCount(r.size), formatFigure(r.perDelivery), String(r.json)])],
  };
}

async function prefillSqlite(dbFile: string, size: number): Promise<void> {
  if (size === 0) return;
  const runtime = await createRuntime({
    config: { log_level: 'silent', store: { url: `sqlite:${dbFile}` }, events: [{ id: '1001', name: 'bench' }], delivery: { max_pending: 0 } },
    logger: silentLogger(),
  });
  const service = runtime.services.delivery!;
  const later = Date.now() + 24 * 3600_000;
  for (let i = 0; i < size; i += PREFILL_BATCH) {
    const n = Math.min(PREFILL_BATCH, size - i);
    await service.enqueue(
      Array.from({ length: n }, (_, j) => ((i + j) % 2 === 0 ? { target: 'receiver-down', eventJson: eventJson(i + j) } : { target: 'live', eventJson: eventJson(i + j), dueAt: later })),
    );
  }
  await runtime.close();
}

/** Starts `hookwork serve` on the config; resolves with the process and its base URL once ready. */
async function serve(configFile: string): Promise<{ child: ChildProcess; base: string; how: string }> {
  const built = join(root, 'dist/cli/main.js');
  const fromDist = existsSync(built);
  const args = fromDist ? [built, 'serve', '-c', configFile] : ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '-c', configFile];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOOKWORK_LOG_LEVEL: 'silent' } });
  child.stderr?.resume();
  child.stdout?.resume();
  const config = readFileSync(configFile, 'utf8');
  const port = /port: (\d+)/.exec(config)?.[1];
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`${base}/v1/ready`);
      if (res.status === 200) return { child, base, how: fromDist ? 'node dist/cli/main.js' : 'tsx src/cli/main.ts' };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`hookwork serve exited with ${child.exitCode}`);
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('hookwork serve did not become ready in 60 s');
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolvePort(port));
    });
  });
}

async function gatewayRss(max: number, rx: CountingReceiver): Promise<Curve> {
  const rows: { size: number; ready: number; working: number; how: string }[] = [];
  for (const size of sizesUpTo([0, 10_000, 100_000, 1_000_000], max)) {
    const dir = mkdtempSync(join(tmpdir(), 'hookwork-scale-rss-'));
    const dbFile = join(dir, 'hookwork.db');
    await prefillSqlite(dbFile, size);
    const port = await freePort();
    const configFile = join(dir, 'config.yaml');
    writeFileSync(
      configFile,
      [
        'server:',
        '  host: 127.0.0.1',
        `  port: ${port}`,
        `  data_dir: ${join(dir, 'data')}`,
        'store:',
        `  url: sqlite:${dbFile}`,
        'delivery:',
        '  max_pending: 0',
        'ssrf:',
        '  allow: [127.0.0.1/32]',
        'events:',
        "  - { id: '1001', name: bench }",
        'handlers:',
        `  - { type: webhook, name: live, url: '${rx.url}/hook', target_events: ['1001'] }`,
        '',
      ].join('\n'),
    );
    const { child, base, how } = await serve(configFile);
    try {
      const ready = rssOf(child.pid as number);
      // Work with the backlog in place: 2,000 events accepted and delivered.
      const client = new Pool(base, { connections: 8 });
      const goal = rx.count() + 2000;
      const body = JSON.stringify({ id: '1001', data: { file: '/a/b.txt', size: 1 } });
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next++ < 2000) {
            const res = await client.request({ path: '/v1/events', method: 'POST', headers: { 'content-type': 'application/json' }, body });
            await res.body.dump();
          }
        }),
      );
      await rx.reach(goal);
      await client.close();
      rows.push({ size, ready, working: rssOf(child.pid as number), how });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
    process.stderr.write(`gateway RSS with ${formatCount(size)} pending measured\n`);
  }
  const last = rows[rows.length - 1] as (typeof rows)[number];
  return {
    id: 'memory-gateway-rss',
    title: 'Gateway RSS vs pending deliveries (SQLite)',
    xLabel: 'pending deliveries in the store',
    yLabel: 'MiB',
    series: [
      { name: 'after start', points: rows.map((r) => ({ x: r.size, y: r.ready / 1048576 })) },
      { name: 'after 2,000 deliveries', points: rows.map((r) => ({ x: r.size, y: r.working / 1048576 })) },
    ],
    table: [['pending', 'RSS after start', 'RSS after 2,000 deliveries', 'run as'], ...rows.map((r) => [formatCount(r.size), mib(r.ready), mib(r.working), r.how])],
    target: { text: 'under 200 MB with 1 million pending', met: judgedAt(1_000_000, last.size, () => last.working < 200 * 1024 * 1024), detail: `${mib(last.working)} at ${formatCount(last.size)}` },
  };
}

async function engineRss(max: number, rx: CountingReceiver): Promise<Curve> {
  const total = Math.min(1_000_000, Math.max(max, 100_000));
  const step = total / 10;
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-scale-engine-'));
  const runtime = await createRuntime({
    config: {
      log_level: 'silent',
      server: { data_dir: join(dir, 'data') },
      store: { url: `sqlite:${join(dir, 'hookwork.db')}` },
      ssrf: { allow: ['127.0.0.1/32'] },
      events: [{ id: '1001', name: 'bench' }],
      handlers: [{ type: 'webhook', name: 'live', url: `${rx.url}/hook`, target_events: ['1001'], concurrency: 64, secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] }],
    },
    baseDir: dir,
    logger: silentLogger(),
  });
  const points: { x: number; rss: number; heap: number }[] = [];
  try {
    let emitted = 0;
    for (let mark = step; mark <= total; mark += step) {
      const goal = rx.count() + (mark - emitted);
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (emitted < mark) {
            emitted++;
            await runtime.host.emit('1001', { data: { file: `/in/${emitted}.txt`, size: emitted } });
          }
        }),
      );
      await rx.reach(goal);
      settle();
      points.push({ x: mark, rss: process.memoryUsage.rss(), heap: process.memoryUsage().heapUsed });
      process.stderr.write(`engine: ${formatCount(mark)} events, RSS ${mib(process.memoryUsage.rss())}\n`);
    }
  } finally {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // Warm: after the first tenth (JIT, pools, SQLite's page cache at their size).
  const warm = points[0] as (typeof points)[number];
  const last = points[points.length - 1] as (typeof points)[number];
  const growth = last.rss / warm.rss - 1;
  return {
    id: 'memory-engine-rss',
    title: `RSS along ${formatCount(total)} events through the engine (SQLite queue, webhook)`,
    xLabel: 'events delivered',
    yLabel: 'MiB',
    series: [
      { name: 'RSS', points: points.map((p) => ({ x: p.x, y: p.rss / 1048576 })) },
      { name: 'JS heap used', points: points.map((p) => ({ x: p.x, y: p.heap / 1048576 })) },
    ],
    table: [['events', 'RSS', 'JS heap used'], ...points.map((p) => [formatCount(p.x), mib(p.rss), mib(p.heap)])],
    target: { text: 'no growth beyond 10 % once warm', met: judgedAt(1_000_000, total, () => growth <= 0.1), detail: `${(growth * 100).toFixed(1)} % from ${formatCount(warm.x)} to ${formatCount(last.x)}` },
  };
}

export async function run(options: ScaleOptions): Promise<Curve[]> {
  const rx = await countingReceiver();
  try {
    return [await bytesPerPending(options.max), await gatewayRss(options.max, rx), await engineRss(options.max, rx)];
  } finally {
    await rx.close();
  }
}
