// The cost of metrics on the hot paths: each path measured with a Prometheus
// registry installed and without (NO_METRICS), samples interleaved in one
// run. The issue's target: at most 5 % slower with metrics on ("within
// 1.05x"). "ours" is the run with metrics, "peer" the same run without.
// The micro rows take 100 ms samples (compare()'s default is 20): a 5 % line
// needs each sample to hold many garbage collections, not one or none
// (docs/observability.md).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHost } from '../src/host.js';
import { Gates } from '../src/hooks/gate.js';
import { silentLogger } from '../src/logger.js';
import { NO_METRICS } from '../src/metrics/metrics.js';
import { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { benchRounds, compare, countingReceiver, distinctFunctions, median, type BenchResult } from './lib.js';

const TARGET = 'within 1.05x';

async function hostEmit(): Promise<BenchResult> {
  const sink: Record<string, number> = {};
  const listeners = distinctFunctions<(e: unknown) => void>(10, (i) => `sink.l${i} = (sink.l${i} | 0) + 1;`, ['e'], sink);
  const make = (metrics: boolean) => {
    const host = createHost({
      logger: silentLogger(),
      events: [{ id: '100', name: 'uploaded', message: 'File {{data.path}}' }],
      ...(metrics ? { metrics: new PrometheusMetrics({ defaultMetrics: false }) } : { metrics: NO_METRICS }),
    });
    listeners.forEach((fn) => host.on('100', fn));
    return host;
  };
  const on = make(true);
  const off = make(false);
  const input = { data: { path: '/in/a.txt' } };
  const result = await compare(
    async () => {
      await on.emit('100', input);
    },
    async () => {
      await off.emit('100', input);
    },
    { async: true, samples: 21, sampleMs: 100 },
  );
  await on.close();
  await off.close();
  return { name: 'host.emit with metrics vs without, 10 subscribers', unit: 'ops/s', ...result, peerName: 'metrics off', higherIsBetter: true, target: TARGET };
}

async function gateChain(): Promise<BenchResult> {
  const sink: Record<string, number> = {};
  const fns = distinctFunctions<(ctx: { n: number }) => undefined>(5, (i) => `sink.g${i} = (sink.g${i} | 0) + ctx.n; return undefined;`, ['ctx'], sink);
  const make = (metrics: boolean) => {
    const gates = new Gates(silentLogger(), undefined, metrics ? new PrometheusMetrics({ defaultMetrics: false }) : NO_METRICS);
    gates.declare('pre-upload', { timeoutMs: 60_000 });
    fns.forEach((fn, i) => {
      const asyncFn = new Function('fn', `return async function gate_${i}(ctx) { return fn(ctx); }`)(fn) as (ctx: { n: number }) => Promise<undefined>;
      gates.register('pre-upload', asyncFn, { name: `g${i}` });
    });
    return gates;
  };
  const on = make(true);
  const off = make(false);
  const ctx = { n: 1 };
  const result = await compare(
    () => on.run('pre-upload', ctx),
    () => off.run('pre-upload', ctx),
    { async: true, samples: 21, sampleMs: 100 },
  );
  return { name: 'gate chain of 5 with metrics vs without', unit: 'ops/s', ...result, peerName: 'metrics off', higherIsBetter: true, target: TARGET };
}

const CONCURRENCY = 64;
const PER_ROUND = 2000;
const ROUNDS = benchRounds(11);

async function engineDelivery(): Promise<BenchResult> {
  const receiver = await countingReceiver();
  const url = `${receiver.url}/hook`;
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-bench-metrics-'));
  const engine = (metrics: boolean) =>
    createRuntime({
      logger: silentLogger(),
      baseDir: dir,
      config: {
        server: { data_dir: join(dir, metrics ? 'on' : 'off') },
        events: [{ id: '100', name: 'uploaded' }],
        store: { url: 'memory' },
        ssrf: { allow: ['127.0.0.1/32'] },
        metrics: { enabled: metrics },
        // Pinned to the sender thread, what `auto` takes on a quiet machine:
        // `auto` starts on the main thread and moves after its first half
        // second, at a moment of its own on each side, which would only add
        // noise here. With the thread the main thread does the least, so the
        // metrics' share of it is the largest: the stricter case.
        delivery: { sender_thread: true },
        handlers: [{ type: 'webhook', name: 'bench', url, concurrency: CONCURRENCY, actions: ['uploaded'] }],
      },
    });
  const on = await engine(true);
  const off = await engine(false);
  const data = { path: '/in/report.csv', size: 1024 };
  const round = async (runtime: typeof on): Promise<number> => {
    const base = receiver.count();
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < PER_ROUND; i = next++) await runtime.host.emit('100', { data });
      }),
    );
    while (receiver.count() < base + PER_ROUND) await new Promise((r) => setImmediate(r));
    return PER_ROUND / ((performance.now() - start) / 1000);
  };
  await round(on);
  await round(off);
  const onRates: number[] = [];
  const offRates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      onRates.push(await round(on));
      offRates.push(await round(off));
    } else {
      offRates.push(await round(off));
      onRates.push(await round(on));
    }
  }
  await on.close();
  await off.close();
  await receiver.close();
  return {
    name: `webhook delivery through the engine with metrics vs without, ${CONCURRENCY} in flight`,
    unit: 'ops/s',
    ours: median(onRates),
    peer: median(offRates),
    ratios: onRates.map((o, i) => o / (offRates[i] as number)),
    peerName: 'metrics off',
    higherIsBetter: true,
    target: TARGET,
  };
}

export async function run(): Promise<BenchResult[]> {
  return [await hostEmit(), await gateChain(), await engineDelivery()];
}
