// Counting probe for the engine delivery bench (issue 21): the engine's own
// work per delivery (emit, routing, memory store, dispatcher, webhook target,
// signing) with a lane that answers at once. ClientPool.dispatch is replaced
// by a call-through to the request's handler (onConnect, onHeaders, onData,
// onComplete in a microtask): no sockets, no receiver, so what is left is
// Hookwork's work, garbage collection included. Rounds of 4,000 emitted as
// the bench does (64 at a time); prints CPU µs per delivery (median, min and
// each round; then the means of the main thread's CPU and of the page
// faults). Run: node --import tsx bench/engine-own-work-probe.ts [rounds]
// (add --cpu-prof for a profile of it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { generateSecret } from '../src/http/signing.js';
import { ClientPool } from '../src/http/client-pool.js';
import { threadsCpuUs } from './lib.js';

interface Handler {
  onConnect(abort: () => void): void;
  onHeaders(status: number, raw: Buffer[], resume: () => void, text: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[]): void;
}

const RAW_HEADERS = ['content-type', 'text/plain', 'date', 'Sun, 06 Dec 2026 10:00:00 GMT', 'connection', 'keep-alive', 'keep-alive', 'timeout=5', 'transfer-encoding', 'chunked'].map((h) => Buffer.from(h));
const OK = Buffer.from('ok');
let answered = 0;
(ClientPool.prototype as unknown as { dispatch: (options: unknown, handler: Handler) => boolean }).dispatch = (_options, handler) => {
  queueMicrotask(() => {
    handler.onConnect(() => {});
    handler.onHeaders(200, RAW_HEADERS, () => {}, 'OK');
    handler.onData(OK);
    handler.onComplete([]);
    answered++;
  });
  return true;
};

const PER_ROUND = 4000;
const CONCURRENCY = 64;
const ROUNDS = Number(process.argv[2] ?? 15);
const dir = mkdtempSync(join(tmpdir(), 'hookwork-own-work-'));
const runtime = await createRuntime({
  logger: silentLogger(),
  baseDir: dir,
  config: {
    server: { data_dir: join(dir, 'data') },
    events: [{ id: '100', name: 'uploaded' }],
    store: { url: 'memory' },
    ssrf: { allow: ['127.0.0.1/32'] },
    // The main thread's ClientPool is the one replaced above: the sender thread's pools are another thread's.
    delivery: { sender_thread: false },
    handlers: [{ type: 'webhook', name: 'bench', url: 'http://127.0.0.1:9/hook', secrets: [generateSecret()], concurrency: CONCURRENCY, actions: ['uploaded'] }],
  },
});
const padding = 'x'.repeat(700);

async function round(): Promise<void> {
  const goal = answered + PER_ROUND;
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < PER_ROUND; i = next++) await runtime.host.emit('100', { data: { path: '/in/report.csv', size: 1024, padding } });
    }),
  );
  while (answered < goal) await new Promise((resolve) => setImmediate(resolve));
}

for (let i = 0; i < 4; i++) await round();
const cpu: number[] = [];
// The main thread's share (the rest is V8's collector helpers) and the page faults: fresh memory costs one each.
const mainTid = String(process.pid);
let mainUs = 0;
let faults = 0;
for (let r = 0; r < ROUNDS; r++) {
  const start = process.cpuUsage();
  const threads = threadsCpuUs();
  const faulted = process.resourceUsage().minorPageFault;
  await round();
  const used = process.cpuUsage(start);
  mainUs += (threadsCpuUs().get(mainTid) ?? 0) - (threads.get(mainTid) ?? 0);
  faults += process.resourceUsage().minorPageFault - faulted;
  cpu.push((used.user + used.system) / PER_ROUND);
}
const sorted = [...cpu].sort((a, b) => a - b);
const mean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
console.log(
  `engine's own work, CPU µs per delivery: median ${(sorted[sorted.length >> 1] as number).toFixed(1)}, mean ${mean.toFixed(1)}, min ${(sorted[0] as number).toFixed(1)} [${cpu.map((x) => x.toFixed(0)).join(' ')}]`,
);
console.log(`means: main thread ${(mainUs / (ROUNDS * PER_ROUND)).toFixed(1)} µs, whole process ${mean.toFixed(1)} µs, ${(faults / (ROUNDS * PER_ROUND)).toFixed(2)} minor page faults per delivery`);
await runtime.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
