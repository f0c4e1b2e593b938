// Counting probe for the engine delivery bench (issue 21): the engine with
// the default (or a given) delivery.sender_thread and the signed peer of
// bench/webhooks.bench.ts, in one process, rounds of 4,000 alternated; per
// delivery: CPU of the main thread and of the other threads (V8's collector
// helpers, the sender thread when on), from /proc/self/task/<tid>/schedstat;
// minor page faults; the collector's pauses by kind. A shared machine moves
// rates a lot and these counts far less.
// Run: node --import tsx bench/engine-threads-probe.ts [rounds] [default|true|false] [alone]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Pool } from 'undici';
import { eventToJSON } from '../src/events/event-json.js';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { generateSecret } from '../src/http/signing.js';
import { countingReceiver, threadsCpuUs } from './lib.js';
import { signedPeer } from './signed-peer.js';

const CONCURRENCY = 64;
const PER_ROUND = 4000;
const ROUNDS = Number(process.argv[2] ?? 8);
const mode = process.argv[3] === 'default' ? undefined : process.argv[3]; // 'default' | 'true' | 'false'
// 'alone': the engine's rounds only (its collector then sees no peer's garbage).
const alone = process.argv[4] === 'alone';
let gcMs = 0;
let gcCount = 0;
const byKind = new Map<number, [number, number]>();
let measuring = '';
new PerformanceObserver((list) => { for (const e of list.getEntries()) { gcMs += e.duration; gcCount++; const k = (e as unknown as { detail: { kind: number } }).detail.kind + (measuring === 'engine' ? 100 : 0); const v = byKind.get(k) ?? [0, 0]; v[0]++; v[1] += e.duration; byKind.set(k, v); } }).observe({ entryTypes: ['gc'] });

async function inParallel(total: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => { for (let i = next++; i < total; i = next++) await fn(i); }));
}
const receiver = await countingReceiver();
const url = `${receiver.url}/hook`;
const dir = mkdtempSync(join(tmpdir(), 'hookwork-threads-'));
const secret = generateSecret();
const runtime = await createRuntime({
  logger: silentLogger(), baseDir: dir,
  config: {
    server: { data_dir: join(dir, 'data') }, events: [{ id: '100', name: 'uploaded' }], store: { url: 'memory' }, ssrf: { allow: ['127.0.0.1/32'] },
    ...(mode === undefined ? {} : { delivery: { sender_thread: mode === 'true' } }),
    handlers: [{ type: 'webhook', name: 'bench', url, secrets: [secret], concurrency: CONCURRENCY, actions: ['uploaded'] }],
  },
});
const padding = 'x'.repeat(700);
const sample = await runtime.host.emit('100', { data: { path: '/in/report.csv', size: 1024, padding } });
const body = JSON.stringify(eventToJSON(sample));
const raw = new Pool(new URL(url).origin, { connections: CONCURRENCY, pipelining: 1 });
const signedRequest = signedPeer(raw, secret, body);
const throughEngine = async (): Promise<void> => {
  const base = receiver.count();
  await inParallel(PER_ROUND, () => runtime.host.emit('100', { data: { path: '/in/report.csv', size: 1024, padding } }));
  while (receiver.count() < base + PER_ROUND) await new Promise((r) => setImmediate(r));
};
const main = String(process.pid);
type Row = { rate: number; main: number; other: number; gc: number; gcn: number; faults: number };
async function measure(fn: () => Promise<void>): Promise<Row> {
  const before = threadsCpuUs();
  const g0 = gcMs, n0 = gcCount; const f0 = process.resourceUsage().minorPageFault;
  const t0 = performance.now();
  await fn();
  const el = performance.now() - t0;
  await new Promise((r) => setImmediate(r));
  const after = threadsCpuUs();
  let m = 0, o = 0;
  for (const [tid, us] of after) { const d = us - (before.get(tid) ?? 0); if (tid === main) m += d; else o += d; }
  return { rate: PER_ROUND / (el / 1000), main: m / PER_ROUND, other: o / PER_ROUND, gc: ((gcMs - g0) * 1000) / PER_ROUND, gcn: gcCount - n0, faults: (process.resourceUsage().minorPageFault - f0) / PER_ROUND };
}
for (let i = 0; i < 2; i++) { await inParallel(PER_ROUND, signedRequest); await throughEngine(); }
const eng: Row[] = [], peer: Row[] = [];
for (let r = 0; r < ROUNDS; r++) {
  if (alone) { measuring = 'engine'; eng.push(await measure(throughEngine)); }
  else if (r % 2 === 0) { measuring = 'engine'; eng.push(await measure(throughEngine)); measuring = 'peer'; peer.push(await measure(() => inParallel(PER_ROUND, signedRequest))); }
  else { measuring = 'peer'; peer.push(await measure(() => inParallel(PER_ROUND, signedRequest))); measuring = 'engine'; eng.push(await measure(throughEngine)); }
  measuring = '';
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
for (const [k, [n, ms]] of [...byKind].sort((a, b) => a[0] - b[0])) console.log(`gc ${k >= 100 ? 'engine' : 'peer'} kind ${k % 100}: ${n} times, ${ms.toFixed(1)} ms total, ${(ms / n).toFixed(2)} ms each, ${(ms * 1000 / (ROUNDS * PER_ROUND)).toFixed(2)} µs per op`);
const show = (name: string, rows: Row[]) => console.log(`${name}: rate ${med(rows.map((r) => r.rate)).toFixed(0)}/s main ${med(rows.map((r) => r.main)).toFixed(1)} µs, other threads ${med(rows.map((r) => r.other)).toFixed(1)} µs, gc pauses ${med(rows.map((r) => r.gc)).toFixed(1)} µs (${med(rows.map((r) => r.gcn))} gcs)`);
show('engine', eng);
if (alone) {
  await runtime.close(); await raw.close(); await receiver.close(); rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
show('peer  ', peer);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`RESULT engine main ${avg(eng.map((r) => r.main)).toFixed(1)} other ${avg(eng.map((r) => r.other)).toFixed(1)} faults ${avg(eng.map((r) => r.faults)).toFixed(2)} | peer main ${avg(peer.map((r) => r.main)).toFixed(1)} other ${avg(peer.map((r) => r.other)).toFixed(1)} | ratio ${med(eng.map((e, i) => e.rate / (peer[i] as Row).rate)).toFixed(2)}`);
console.log(`ratio (median of rounds) ${med(eng.map((e, i) => e.rate / (peer[i] as Row).rate)).toFixed(2)}`);
await raw.close(); await runtime.close(); await receiver.close(); rmSync(dir, { recursive: true, force: true });
process.exit(0);
