// Delivery throughput and POST /v1/events latency as the store's backlog
// grows: 0, 10 thousand, 100 thousand and 1 million pending deliveries, on
// SQLite and on PostgreSQL. The backlog is what a real one looks like: half
// for a receiver that is down (a target this node does not deliver to), half
// for the live target but waiting for a retry an hour from now, so every
// claim has to pass over it. The same store grows from one size to the next.
// Each size is measured in rounds alternating with a runtime on an empty
// store of the same kind, so the ratio (the target: ≥ 0.8x at 1 million) is
// not skewed by the machine's drift.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { silentLogger } from '../../src/logger.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { createGateway } from '../../src/server/gateway.js';
import { countingReceiver, median, type CountingReceiver } from '../lib.js';
import { formatCount, formatFigure, judgedAt, quantile, sizesUpTo, type Curve, type ScaleOptions } from './curve.js';

const SIZES = [0, 10_000, 100_000, 1_000_000];
const CONCURRENCY = 64;
const EMITS = 3000;
const POSTS = 2000;
const POST_CLIENTS = 16;
const ROUNDS = 3;
const PREFILL_BATCH = 5000;
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const data = { file: '/a/b.txt', size: 1234, user: 'alice', pad: 'x'.repeat(600) };
const backlogJson = JSON.stringify({ id: '1001', data });

interface Bench {
  readonly runtime: Runtime;
  readonly base: string;
  readonly close: () => Promise<void>;
}

async function open(storeUrl: string, rx: CountingReceiver): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-scale-'));
  const runtime = await createRuntime({
    config: {
      log_level: 'silent',
      server: { data_dir: join(dir, 'data') },
      events: [{ id: '1001', name: 'bench' }],
      store: { url: storeUrl },
      ssrf: { allow: ['127.0.0.1/32'] },
      handlers: [{ type: 'webhook', name: 'live', url: `${rx.url}/hook`, target_events: ['1001'], concurrency: CONCURRENCY, secrets: [SECRET] }],
      // The backlog is the point: above the default bound (1 million) new events would be refused.
      delivery: { max_pending: 0 },
    },
    baseDir: dir,
    logger: silentLogger(),
  });
  const gateway = await createGateway(runtime, { port: 0, host: '127.0.0.1' });
  const base = await gateway.listen();
  return {
    runtime,
    base,
    close: async () => {
      await gateway.close();
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Adds pending deliveries until the store holds `to` of them (from `from`). */
async function prefill(bench: Bench, from: number, to: number): Promise<void> {
  const service = bench.runtime.services.delivery!;
  const later = Date.now() + 24 * 3600_000;
  for (let i = from; i < to; i += PREFILL_BATCH) {
    const n = Math.min(PREFILL_BATCH, to - i);
    await service.enqueue(
      Array.from({ length: n }, (_, j) => ((i + j) % 2 === 0 ? { target: 'receiver-down', eventJson: backlogJson } : { target: 'live', eventJson: backlogJson, dueAt: later })),
    );
  }
}

/** Deliveries/s from host.emit to the receiver, CONCURRENCY producers. */
async function throughput(bench: Bench, rx: CountingReceiver): Promise<number> {
  const goal = rx.count() + EMITS;
  let emitted = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (emitted++ < EMITS) await bench.runtime.host.emit('1001', { data });
    }),
  );
  await rx.reach(goal);
  return EMITS / ((performance.now() - start) / 1000);
}

/** POST /v1/events latencies (ms, sorted), POST_CLIENTS at once; waits for their deliveries before returning. */
async function postLatencies(bench: Bench, rx: CountingReceiver): Promise<number[]> {
  const client = new Pool(bench.base, { connections: POST_CLIENTS });
  const goal = rx.count() + POSTS;
  const body = JSON.stringify({ id: '1001', data });
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: POST_CLIENTS }, async () => {
      while (next++ < POSTS) {
        const t = performance.now();
        const res = await client.request({ path: '/v1/events', method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await res.body.dump();
        if (res.statusCode !== 202) throw new Error(`POST /v1/events answered ${res.statusCode}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  await client.close();
  await rx.reach(goal);
  return latencies.sort((a, b) => a - b);
}

interface Row {
  readonly size: number;
  readonly rate: number;
  readonly baseRate: number;
  readonly p50: number;
  readonly p99: number;
  readonly baseP99: number;
}

async function measure(bench: Bench, empty: Bench, rx: CountingReceiver, size: number): Promise<Row> {
  const rates: number[] = [];
  const baseRates: number[] = [];
  const p50s: number[] = [];
  const p99s: number[] = [];
  const baseP99s: number[] = [];
  await throughput(bench, rx); // warm both (JIT, connections, page cache)
  await throughput(empty, rx);
  for (let round = 0; round < ROUNDS; round++) {
    const first = round % 2 === 0;
    if (first) rates.push(await throughput(bench, rx));
    baseRates.push(await throughput(empty, rx));
    if (!first) rates.push(await throughput(bench, rx));
    const ours = await postLatencies(bench, rx);
    const base = await postLatencies(empty, rx);
    p50s.push(quantile(ours, 0.5));
    p99s.push(quantile(ours, 0.99));
    baseP99s.push(quantile(base, 0.99));
  }
  return { size, rate: median(rates), baseRate: median(baseRates), p50: median(p50s), p99: median(p99s), baseP99: median(baseP99s) };
}

async function curveFor(label: string, id: string, storeUrl: () => Promise<string>, options: ScaleOptions): Promise<Curve[]> {
  const rx = await countingReceiver();
  const empty = await open(await storeUrl(), rx);
  const bench = await open(await storeUrl(), rx);
  const rows: Row[] = [];
  try {
    let filled = 0;
    for (const size of sizesUpTo(SIZES, options.max)) {
      const t = performance.now();
      await prefill(bench, filled, size);
      filled = size;
      process.stderr.write(`${label}: ${formatCount(size)} pending (filled in ${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
      rows.push(await measure(bench, empty, rx, size));
    }
  } finally {
    await bench.close();
    await empty.close();
    await rx.close();
  }
  // Each size's ratio is against the empty store measured in the same rounds.
  const ratio = (r: Row): number => r.rate / r.baseRate;
  const last = rows[rows.length - 1] as Row;
  return [
    {
      id: `backlog-throughput-${id}`,
      title: `Delivery throughput vs pending backlog (${label})`,
      xLabel: 'pending deliveries in the store',
      yLabel: 'deliveries/s',
      series: [
        { name: 'with the backlog', points: rows.map((r) => ({ x: r.size, y: r.rate })) },
        { name: 'empty store (same rounds)', points: rows.map((r) => ({ x: r.size, y: r.baseRate })) },
      ],
      table: [
        ['pending', 'deliveries/s', 'empty store, same rounds', 'ratio', 'POST p50 (ms)', 'POST p99 (ms)', 'POST p99, empty store (ms)'],
        ...rows.map((r) => [formatCount(r.size), formatFigure(r.rate), formatFigure(r.baseRate), `${ratio(r).toFixed(2)}x`, formatFigure(r.p50), formatFigure(r.p99), formatFigure(r.baseP99)]),
      ],
      target: {
        text: 'throughput with 1 million pending at least 0.8x of the empty store',
        met: judgedAt(1_000_000, last.size, () => ratio(last) >= 0.8),
        detail: `${ratio(last).toFixed(2)}x at ${formatCount(last.size)}`,
      },
    },
    {
      id: `backlog-latency-${id}`,
      title: `POST /v1/events latency vs pending backlog (${label})`,
      xLabel: 'pending deliveries in the store',
      yLabel: 'ms',
      series: [
        { name: 'p50', points: rows.map((r) => ({ x: r.size, y: r.p50 })) },
        { name: 'p99', points: rows.map((r) => ({ x: r.size, y: r.p99 })) },
      ],
      table: [['pending', 'p50 (ms)', 'p99 (ms)'], ...rows.map((r) => [formatCount(r.size), formatFigure(r.p50), formatFigure(r.p99)])],
    },
  ];
}

export async function run(options: ScaleOptions): Promise<Curve[]> {
  const curves: Curve[] = [];
  let n = 0;
  curves.push(...(await curveFor('SQLite', 'sqlite', async () => `sqlite:scale-${n++}.db`, options)));
  const { startPostgres } = await import('../../test/helpers/postgres.js');
  const pg = await startPostgres();
  try {
    curves.push(...(await curveFor('PostgreSQL', 'postgres', () => pg.createDatabase(`scale_backlog_${n++}`), options)));
  } finally {
    await pg.stop();
  }
  return curves;
}
