// The durable SQLite queue's own cost (issue 21): the enqueues of
// bench/delivery.bench.ts's first row (20 a call, 4,000 a round) through the
// SQLite thread store to a target that answers at once (no HTTP). Per
// delivery: CPU of the main thread and of the SQLite thread
// (/proc/self/task), GC pauses. Run: node --import tsx bench/sqlite-queue-cost.ts [rounds].
// With `--require ./bench/sqlite-count-hook.cjs` before `--import tsx`: also
// the statements the SQLite thread ran per delivery (by their first words)
// and what that thread wrote (bytes and write calls, /proc/self/task/<tid>/io).
// WAL_PAGES=1: the WAL frames each commit wrote, by the table or index of
// their page (a reader held open stops checkpoints, so the WAL keeps them all).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { BroadcastChannel } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { median, threadsCpuUs } from './lib.js';
import type { ExchangeResult } from '../src/http/exchange.js';
import type { CheckedTarget, SsrfGuard } from '../src/http/ssrf-guard.js';
import type { FormRequest, HttpLane, HttpTransport, RequestForm } from '../src/http/transport.js';
import { WebhookTarget } from '../src/webhooks/sender.js';
import Database from 'better-sqlite3';

const N = 4000;
const ROUNDS = Number(process.argv[2] ?? 7);
const body = JSON.stringify({ id: '1001', data: { file: '/a/b.txt', size: 1234, user: 'alice' }, pad: 'x'.repeat(700) });
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

const dir = mkdtempSync(join(tmpdir(), 'hookwork-null-'));
const runtime = await createRuntime({
  config: { log_level: 'silent', server: { data_dir: join(dir, 'data') }, events: [{ id: '1001', name: 'bench' }], store: { url: 'sqlite:bench.db' } },
  baseDir: dir,
  logger: silentLogger(),
});
const delivery = runtime.services.delivery!;
const WAL_PAGES = process.env['WAL_PAGES'] !== undefined;
const dbFile = join(dir, 'data', 'bench.db');
const reader = WAL_PAGES ? new Database(dbFile, { readonly: true }) : undefined;
if (reader !== undefined) {
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM deliveries').get();
}
let done = 0;
const EMPTY = { 'content-type': 'text/plain' };
// QUEUE_TARGET=webhook: the product's webhook sender (a WebhookTarget, unsigned, as the durable row's
// configured handler) on a lane that answers at once, as the counting receiver does: the queue's cost plus
// the sender's own per attempt (headers, the SSRF guard's cache, the result and record with headers).
const RESPONSE_HEADERS = ['content-type', 'text/plain', 'Date', 'Sun, 06 Dec 2026 14:40:00 GMT', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Content-Length', '2'];
const checked: CheckedTarget = { hostname: '127.0.0.1', address: '127.0.0.1', family: 4 };
const lane: HttpLane = {
  stale: false,
  send(form: RequestForm, request: FormRequest): Promise<ExchangeResult> {
    const bytes = typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
    const requestHeaders = form.headerList(request, bytes);
    return new Promise<ExchangeResult>((resolve) =>
      setImmediate(() => {
        done++;
        resolve({ status: 200, retryAfter: undefined, head: 'ok', requestHeaders, responseHeaders: RESPONSE_HEADERS });
      }),
    );
  },
};
const transport: HttpTransport = { closed: false, lane: () => lane, close: async () => {} };
const ssrf = { cachedHost: () => checked, check: async () => checked } as unknown as SsrfGuard;
const WEBHOOK = process.env['QUEUE_TARGET'] === 'webhook';
delivery.registerTarget(
  WEBHOOK
    ? new WebhookTarget({ name: 'bench', url: 'http://127.0.0.1:9/hook', concurrency: 64 }, { http: transport, ssrf })
    : {
        name: 'bench',
        kind: 'webhook',
        concurrency: 64,
        async attempt(d) {
          void d.eventJson;
          await new Promise<void>((r) => setImmediate(r));
          done++;
          return { ok: true, httpStatus: 200, response: '', responseHeaders: EMPTY };
        },
      },
);
const event = JSON.parse(body) as Record<string, unknown>;
const pid = String(process.pid);
// The statement counts of the store thread (bench/sqlite-count-hook.cjs), when preloaded.
const COUNTING = process.execArgv.some((a) => a.includes('sqlite-count-hook'));
const channel = COUNTING ? new BroadcastChannel('sqlite-count') : undefined;
const statementCounts = (): Promise<Record<string, number>> =>
  new Promise((resolve) => {
    channel!.onmessage = (e) => resolve((e as { data: { counts: Record<string, number> } }).data.counts);
    channel!.postMessage('report');
  });
const threadIo = (tid: string): { wchar: number; syscw: number } => {
  const text = readFileSync(`/proc/self/task/${tid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { wchar: field('wchar'), syscw: field('syscw') };
};
const ioBefore = new Map<string, { wchar: number; syscw: number }>();
const statementSums = new Map<string, number>();
let ioBytes = 0, ioCalls = 0;
const rows: string[] = [];
const res: Array<{ main: number; other: number; top: number; gc: number; rate: number }> = [];
let sumMain = 0, sumTop = 0, sumOther = 0;
for (let r = -1; r < ROUNDS; r++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const t0 = threadsCpuUs();
  const c0 = COUNTING ? await statementCounts() : {};
  if (COUNTING) {
    for (const tid of t0.keys()) if (tid !== pid) try { ioBefore.set(tid, threadIo(tid)); } catch { /* ended */ }
  }
  const g0 = gcMs;
  const start = performance.now();
  const target = done + N;
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += 20) writes.push(delivery.enqueue(Array.from({ length: 20 }, () => ({ target: 'bench', event }))));
  await Promise.all(writes);
  while (done < target) await new Promise((resolve) => setTimeout(resolve, 1));
  const rate = N / ((performance.now() - start) / 1000);
  await new Promise((resolve) => setTimeout(resolve, 30));
  const t1 = threadsCpuUs();
  let main = 0, other = 0, top = 0, topTid = '';
  for (const [tid, v] of t1) {
    const d = v - (t0.get(tid) ?? 0);
    if (tid === pid) main = d;
    else { other += d; if (d > top) { top = d; topTid = tid; } }
  }
  if (r < 0) continue;
  if (COUNTING) {
    const counts = await statementCounts();
    for (const [k, n] of Object.entries(counts)) statementSums.set(k, (statementSums.get(k) ?? 0) + n - (c0[k] ?? 0));
    const a = ioBefore.get(topTid), b = threadIo(topTid);
    if (a !== undefined) { ioBytes += b.wchar - a.wchar; ioCalls += b.syscw - a.syscw; }
  }
  sumMain += main; sumTop += top; sumOther += other;
  const x = { main: main / N, other: other / N, top: top / N, gc: ((gcMs - g0) * 1000) / N, rate };
  res.push(x);
  rows.push(`rate ${rate.toFixed(0)}/s main ${x.main.toFixed(0)} other ${x.other.toFixed(0)} top ${x.top.toFixed(0)} gc ${x.gc.toFixed(1)} µs/delivery`);
}
if (reader !== undefined) walPages(reader);
await runtime.close();
rmSync(dir, { recursive: true, force: true });
console.log(rows.join('\n'));
const m = (k: keyof (typeof res)[number]) => median(res.map((x) => x[k])).toFixed(1);
console.log(`TOTAL main ${(sumMain / (N * ROUNDS)).toFixed(1)} store-thread ${(sumTop / (N * ROUNDS)).toFixed(1)} other ${(sumOther / (N * ROUNDS)).toFixed(1)}`);
if (COUNTING) {
  const per = (n: number) => (n / (N * ROUNDS)).toFixed(3);
  let all = 0;
  for (const [k, n] of [...statementSums].sort((x, y) => y[1] - x[1])) { if (n === 0) continue; all += n; console.log(`  ${per(n)}  ${k}`); }
  console.log(`STATEMENTS ${per(all)} per delivery; store thread wrote ${(ioBytes / (N * ROUNDS)).toFixed(0)} B in ${per(ioCalls)} write calls per delivery`);
  channel!.close();
}
console.log(`MEDIAN main ${m('main')} store-thread ${m('top')} other ${m('other')} gc ${m('gc')} rate ${m('rate')}`);

/** The WAL's frames (read while `reader` holds its snapshot): per delivery, and per commit by the b-tree their page belongs to. */
function walPages(db: InstanceType<typeof Database>): void {
  const wal = readFileSync(`${dbFile}-wal`);
  const pageSize = wal.readUInt32BE(8);
  const frames: number[][] = [[]];
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    (frames[frames.length - 1] as number[]).push(wal.readUInt32BE(at));
    if (wal.readUInt32BE(at + 4) !== 0) frames.push([]);
  }
  frames.pop();
  db.exec('COMMIT');
  const owner = new Map<number, string>();
  for (const row of db.prepare('SELECT name, pageno FROM dbstat').all() as { name: string; pageno: number }[]) owner.set(row.pageno, row.name);
  const byTree = new Map<string, number>();
  let total = 0;
  for (const commit of frames) for (const page of commit) {
    total++;
    const name = owner.get(page) ?? '(free or new)';
    byTree.set(name, (byTree.get(name) ?? 0) + 1);
  }
  const deliveries = N * (ROUNDS + 1);
  console.log(`WAL ${frames.length} commits, ${total} frames: ${(total / deliveries).toFixed(3)} pages per delivery, ${(total / frames.length).toFixed(1)} per commit`);
  for (const [name, n] of [...byTree].sort((a, b) => b[1] - a[1])) console.log(`  ${(n / deliveries).toFixed(3)}  ${name}`);
}
