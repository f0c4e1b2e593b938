// The durable SQLite queue's own cost (issue 21): the enqueues of
// bench/delivery.bench.ts's first row (20 a call, 4,000 a round) through the
// SQLite thread store to a target that answers at once (no HTTP). Per
// delivery: CPU of the main thread and of the SQLite thread
// (/proc/self/task), GC pauses. Run: node --import tsx bench/sqlite-queue-cost.ts [rounds].
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { silentLogger } from '../src/logger.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { median } from './lib.js';

const N = 4000;
const ROUNDS = Number(process.argv[2] ?? 7);
const body = JSON.stringify({ id: '1001', data: { file: '/a/b.txt', size: 1234, user: 'alice' }, pad: 'x'.repeat(700) });
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

function tasks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) * 10_000);
    } catch {}
  }
  return out;
}
const dir = mkdtempSync(join(tmpdir(), 'hookwork-null-'));
const runtime = await createRuntime({
  config: { log_level: 'silent', server: { data_dir: join(dir, 'data') }, events: [{ id: '1001', name: 'bench' }], store: { url: 'sqlite:bench.db' } },
  baseDir: dir,
  logger: silentLogger(),
});
const delivery = runtime.services.delivery!;
let done = 0;
const EMPTY = { 'content-type': 'text/plain' };
delivery.registerTarget({
  name: 'bench',
  kind: 'webhook',
  concurrency: 64,
  async attempt(d) {
    void d.eventJson;
    await new Promise<void>((r) => setImmediate(r));
    done++;
    return { ok: true, httpStatus: 200, response: '', responseHeaders: EMPTY };
  },
});
const event = JSON.parse(body) as Record<string, unknown>;
const pid = String(process.pid);
const rows: string[] = [];
const res: Array<{ main: number; other: number; top: number; gc: number; rate: number }> = [];
let sumMain = 0, sumTop = 0, sumOther = 0;
for (let r = -1; r < ROUNDS; r++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const t0 = tasks();
  const g0 = gcMs;
  const start = performance.now();
  const target = done + N;
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += 20) writes.push(delivery.enqueue(Array.from({ length: 20 }, () => ({ target: 'bench', event }))));
  await Promise.all(writes);
  while (done < target) await new Promise((resolve) => setTimeout(resolve, 1));
  const rate = N / ((performance.now() - start) / 1000);
  await new Promise((resolve) => setTimeout(resolve, 30));
  const t1 = tasks();
  let main = 0, other = 0, top = 0;
  for (const [tid, v] of t1) {
    const d = v - (t0.get(tid) ?? 0);
    if (tid === pid) main = d;
    else { other += d; if (d > top) top = d; }
  }
  if (r < 0) continue;
  sumMain += main; sumTop += top; sumOther += other;
  const x = { main: main / N, other: other / N, top: top / N, gc: ((gcMs - g0) * 1000) / N, rate };
  res.push(x);
  rows.push(`rate ${rate.toFixed(0)}/s main ${x.main.toFixed(0)} other ${x.other.toFixed(0)} top ${x.top.toFixed(0)} gc ${x.gc.toFixed(1)} µs/delivery`);
}
await runtime.close();
rmSync(dir, { recursive: true, force: true });
console.log(rows.join('\n'));
const m = (k: keyof (typeof res)[number]) => median(res.map((x) => x[k])).toFixed(1);
console.log(`TOTAL main ${(sumMain / (N * ROUNDS)).toFixed(1)} store-thread ${(sumTop / (N * ROUNDS)).toFixed(1)} other ${(sumOther / (N * ROUNDS)).toFixed(1)}`);
console.log(`MEDIAN main ${m('main')} store-thread ${m('top')} other ${m('other')} gc ${m('gc')} rate ${m('rate')}`);
