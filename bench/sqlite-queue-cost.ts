// The durable SQLite queue's own cost (issue 21): the enqueues of
// bench/delivery.bench.ts's first row (20 a call, 4,000 a round) through the
// SQLite thread store to a target that answers at once (no HTTP). Per
// delivery: CPU of the main thread and of the SQLite thread
// (/proc/self/task), GC pauses. Run: node --import tsx bench/sqlite-queue-cost.ts [rounds].
import { mkdtempSync, rmSync } from 'node:fs';
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
const rows: string[] = [];
const res: Array<{ main: number; other: number; top: number; gc: number; rate: number }> = [];
let sumMain = 0, sumTop = 0, sumOther = 0;
for (let r = -1; r < ROUNDS; r++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const t0 = threadsCpuUs();
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
