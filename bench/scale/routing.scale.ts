// Routing and emit cost as the number of handlers grows: 1, 100 and 10,000
// webhook targets, and 1, 100 and 1,000 extension handlers, all but one
// filtered on other event ids. host.emit of the one routed id should cost
// the same whatever the others (target: flat within 1.2x), since routing is
// an index lookup, not a scan. Each size runs in rounds alternating with a
// runtime holding one handler, and the ratio is taken within the rounds.
// Only the emits are timed; their deliveries and results drain between
// batches so the queue is empty at every start.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/logger.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { countingReceiver, median, type CountingReceiver } from '../lib.js';
import { formatCount, formatFigure, sizesUpTo, type Curve, type ScaleOptions } from './curve.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const ROUTED = '1001';
const RESULT_EVENT = '20200';
const BATCH = 2000;
const PRODUCERS = 16;
// Odd, for a median; a sample of the extension curve lasts a few ms, so it takes many.
const ROUNDS = 11;
const data = { file: '/a/b.txt', size: 1234, user: 'alice' };

type Kind = 'webhook' | 'extension';

interface Bench {
  readonly runtime: Runtime;
  /** Resolves when the routed handler has finished the work of `n` more emits. */
  drained(n: number): Promise<void>;
  close(): Promise<void>;
}

function otherIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(100_000 + i));
}

async function open(kind: Kind, handlers: number, rx: CountingReceiver): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-scale-'));
  const others = otherIds(handlers - 1);
  const events = [{ id: ROUTED, name: 'routed' }, ...others.map((id) => ({ id, name: `other-${id}` }))];
  const handler = (name: string, id: string): NonNullable<HookworkConfigInput['handlers']>[number] =>
    kind === 'webhook'
      ? { type: 'webhook', name, url: `${rx.url}/hook`, target_events: [id] }
      : { type: 'extension', name, entry_point: 'trivial-extension.ts#TrivialExtension', target_events: [id] };
  const runtime = await createRuntime({
    config: {
      log_level: 'silent',
      server: { data_dir: join(dir, 'data') },
      events,
      ssrf: { allow: ['127.0.0.1/32'] },
      extensions: { folder: FIXTURES, pool: { size: 2 } },
      handlers: [handler('routed', ROUTED), ...others.map((id, i) => handler(`other-${i}`, id))],
    },
    baseDir: FIXTURES,
    logger: silentLogger(),
  });
  let results = 0;
  let waiting: { goal: number; resolve: () => void } | undefined;
  if (kind === 'extension') {
    runtime.host.on(RESULT_EVENT, () => {
      results++;
      if (waiting !== undefined && results >= waiting.goal) waiting.resolve();
    });
  }
  return {
    runtime,
    drained: (n) => {
      if (kind === 'webhook') return rx.reach(rx.count() + n);
      const goal = results + n;
      return results >= goal ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { goal, resolve }));
    },
    close: async () => {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** host.emit calls/s for one batch of the routed id; then waits for its work to finish (untimed). */
async function emitRate(bench: Bench): Promise<number> {
  // For webhooks the count is taken before the emits: deliveries start during them.
  const drained = bench.drained(BATCH);
  let emitted = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (emitted++ < BATCH) await bench.runtime.host.emit(ROUTED, { data });
    }),
  );
  const rate = BATCH / ((performance.now() - start) / 1000);
  await drained;
  return rate;
}

interface Row {
  readonly size: number;
  readonly rate: number;
  readonly baseRate: number;
  /** The median of the rounds' cost ratios (one's rate / N's, taken back to back): steadier than a ratio of medians. */
  readonly cost: number;
}

async function curveFor(kind: Kind, sizes: readonly number[]): Promise<Row[]> {
  const rx = await countingReceiver();
  const base = await open(kind, 1, rx);
  const rows: Row[] = [];
  try {
    for (const size of sizes) {
      const bench = size === 1 ? base : await open(kind, size, rx);
      const rates: number[] = [];
      const baseRates: number[] = [];
      try {
        await emitRate(bench);
        await emitRate(base);
        for (let round = 0; round < ROUNDS; round++) {
          if (round % 2 === 0) {
            rates.push(await emitRate(bench));
            baseRates.push(await emitRate(base));
          } else {
            baseRates.push(await emitRate(base));
            rates.push(await emitRate(bench));
          }
        }
      } finally {
        if (bench !== base) await bench.close();
      }
      rows.push({ size, rate: median(rates), baseRate: median(baseRates), cost: median(rates.map((rate, i) => (baseRates[i] as number) / rate)) });
      process.stderr.write(`${kind}: ${formatCount(size)} handlers measured\n`);
    }
  } finally {
    await base.close();
    await rx.close();
  }
  return rows;
}

function curve(kind: Kind, rows: readonly Row[], noun: string): Curve {
  const ratio = (r: Row): number => r.cost;
  const worst = Math.max(...rows.map(ratio));
  return {
    id: `routing-${kind}`,
    title: `host.emit cost vs number of ${noun} (one routed)`,
    xLabel: `${noun}, all but one filtered on other event ids`,
    yLabel: 'emits/s',
    series: [
      { name: `with N ${noun}`, points: rows.map((r) => ({ x: r.size, y: r.rate })) },
      { name: 'with 1 (same rounds)', points: rows.map((r) => ({ x: r.size, y: r.baseRate })) },
    ],
    table: [
      [noun, 'emits/s', 'with 1, same rounds', 'cost vs 1 (median of the rounds)'],
      ...rows.map((r) => [formatCount(r.size), formatFigure(r.rate), formatFigure(r.baseRate), `${ratio(r).toFixed(2)}x`]),
    ],
    target: { text: 'flat within 1.2x', met: worst <= 1.2, detail: `at most ${worst.toFixed(2)}x the cost with one` },
  };
}

export async function run(options: ScaleOptions): Promise<Curve[]> {
  // Handler counts are not capped by --quick: they are cheap to set up.
  void options;
  const webhooks = await curveFor('webhook', sizesUpTo([1, 100, 10_000], Number.POSITIVE_INFINITY));
  const extensions = await curveFor('extension', sizesUpTo([1, 100, 1_000], Number.POSITIVE_INFINITY));
  return [curve('webhook', webhooks, 'webhook targets'), curve('extension', extensions, 'extension handlers')];
}
