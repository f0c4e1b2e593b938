// Retention under load: purging 1 million old finished deliveries while
// deliveries keep flowing must never stall dispatch for more than one purge
// batch. The store is filled through the delivery service; the rows are then
// aged and finished by one SQL statement (making a million real attempts
// would take the bench longer than the purge it measures). A steady stream
// of emits runs throughout; the receiver notes each arrival, and the longest
// gap between arrivals while the purge runs is compared with the same
// stream's longest gap without a purge and with the longest purge batch.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { silentLogger } from '../../src/logger.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { countingReceiver, type CountingReceiver } from '../lib.js';
import { formatCount, formatFigure, judgedAt, quantile, sizesUpTo, type Curve, type ScaleOptions } from './curve.js';

const PREFILL_BATCH = 5000;
const BATCH = 500;
const STREAM_MS = 3000;
const DAY = 24 * 3600_000;
const data = { file: '/a/b.txt', size: 1234, user: 'alice' };

interface Row {
  readonly size: number;
  readonly purgeMs: number;
  readonly batches: number;
  readonly longestBatchMs: number;
  readonly gapMaxPurging: number;
  readonly gapP99Purging: number;
  readonly gapMaxQuiet: number;
}

/** Emits at a steady pace (one every ms, 8 producers) until stopped; returns the arrival gaps (ms, sorted). */
function stream(runtime: Runtime, rx: CountingReceiver): { stop(): Promise<number[]> } {
  let running = true;
  const recording = rx.record();
  const producers = Array.from({ length: 8 }, async () => {
    while (running) {
      await runtime.host.emit('1001', { data });
      await new Promise((r) => setTimeout(r, 8));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(producers);
      await new Promise((r) => setTimeout(r, 200));
      const times = recording.stop();
      const gaps: number[] = [];
      for (let i = 1; i < times.length; i++) gaps.push((times[i] as number) - (times[i - 1] as number));
      return gaps.sort((a, b) => a - b);
    },
  };
}

async function measure(label: string, storeUrl: string, age: (olderThan: number) => Promise<void>, size: number, rx: CountingReceiver): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-scale-retention-'));
  const runtime = await createRuntime({
    config: {
      log_level: 'silent',
      server: { data_dir: join(dir, 'data') },
      store: { url: storeUrl },
      ssrf: { allow: ['127.0.0.1/32'] },
      events: [{ id: '1001', name: 'bench' }],
      handlers: [{ type: 'webhook', name: 'live', url: `${rx.url}/hook`, target_events: ['1001'] }],
      // The timer never fires during the run: the bench calls purge() itself. The
      // rows are written pending before they are aged: no pending bound applies.
      delivery: { max_pending: 0, retention: { done: 24 * 3600, failed: 24 * 3600, interval: 3600, batch: BATCH } },
    },
    baseDir: dir,
    logger: silentLogger(),
  });
  try {
    const service = runtime.services.delivery!;
    const json = JSON.stringify({ id: '1001', data });
    for (let i = 0; i < size; i += PREFILL_BATCH) {
      await service.enqueue(Array.from({ length: Math.min(PREFILL_BATCH, size - i) }, () => ({ target: 'old', eventJson: json })));
    }
    await age(Date.now() - 2 * DAY);
    process.stderr.write(`${label}: ${formatCount(size)} old rows in place\n`);
    const quiet = stream(runtime, rx);
    await new Promise((r) => setTimeout(r, STREAM_MS));
    const quietGaps = await quiet.stop();
    // Batch by batch, as the service's timer does, timing each.
    const busy = stream(runtime, rx);
    let batches = 0;
    let longest = 0;
    const start = performance.now();
    const olderThan = Date.now() - DAY;
    for (;;) {
      const t = performance.now();
      const n = await runtime.services.delivery!.store.purge({ doneBefore: olderThan, failedBefore: olderThan, limit: BATCH });
      longest = Math.max(longest, performance.now() - t);
      batches++;
      if (n < BATCH) break;
      await new Promise((r) => setImmediate(r));
    }
    const purgeMs = performance.now() - start;
    const gaps = await busy.stop();
    return {
      size,
      purgeMs,
      batches,
      longestBatchMs: longest,
      gapMaxPurging: gaps[gaps.length - 1] ?? 0,
      gapP99Purging: quantile(gaps, 0.99),
      gapMaxQuiet: quietGaps[quietGaps.length - 1] ?? 0,
    };
  } finally {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function curve(label: string, id: string, rows: readonly Row[]): Curve {
  const last = rows[rows.length - 1] as Row;
  // "Never stalls for more than one batch": the longest gap while purging is
  // within the stream's own longest gap plus one batch.
  const allowance = (r: Row): number => r.gapMaxQuiet + r.longestBatchMs;
  return {
    id: `retention-${id}`,
    title: `Dispatch while purging old rows (${label})`,
    xLabel: 'old finished deliveries purged',
    yLabel: 'ms',
    series: [
      { name: 'longest arrival gap, purging', points: rows.map((r) => ({ x: r.size, y: r.gapMaxPurging })) },
      { name: 'longest gap, no purge', points: rows.map((r) => ({ x: r.size, y: r.gapMaxQuiet })) },
      { name: 'longest purge batch', points: rows.map((r) => ({ x: r.size, y: r.longestBatchMs })) },
    ],
    table: [
      ['rows purged', 'purge time (s)', `batches of ${BATCH}`, 'longest batch (ms)', 'longest gap purging (ms)', 'p99 gap purging (ms)', 'longest gap, no purge (ms)'],
      ...rows.map((r) => [formatCount(r.size), (r.purgeMs / 1000).toFixed(1), String(r.batches), formatFigure(r.longestBatchMs), formatFigure(r.gapMaxPurging), formatFigure(r.gapP99Purging), formatFigure(r.gapMaxQuiet)]),
    ],
    target: {
      text: 'purging 1 million old rows never stalls dispatch for more than one batch (longest gap ≤ longest gap without a purge + longest batch)',
      met: judgedAt(1_000_000, last.size, () => rows.every((r) => r.gapMaxPurging <= allowance(r))),
      detail: `at ${formatCount(last.size)}: longest gap ${formatFigure(last.gapMaxPurging)} ms, allowance ${formatFigure(allowance(last))} ms`,
    },
  };
}

export async function run(options: ScaleOptions): Promise<Curve[]> {
  const sizes = sizesUpTo([10_000, 100_000, 1_000_000], options.max);
  const rx = await countingReceiver();
  const curves: Curve[] = [];
  try {
    const sqliteRows: Row[] = [];
    for (const size of sizes) {
      const dir = mkdtempSync(join(tmpdir(), 'hookwork-scale-db-'));
      const file = join(dir, 'hookwork.db');
      const age = async (at: number): Promise<void> => {
        // A second connection to the same file (WAL): the store's own stays open.
        const db = new Database(file);
        db.pragma('busy_timeout = 10000');
        db.prepare("UPDATE deliveries SET state = 'done', updated_at = ?, created_at = ? WHERE target = 'old'").run(at, at);
        db.close();
      };
      sqliteRows.push(await measure('SQLite', `sqlite:${file}`, age, size, rx));
      rmSync(dir, { recursive: true, force: true });
    }
    curves.push(curve('SQLite', 'sqlite', sqliteRows));
    const { startPostgres } = await import('../../test/helpers/postgres.js');
    const server = await startPostgres();
    try {
      const pgRows: Row[] = [];
      let n = 0;
      for (const size of sizes) {
        const url = await server.createDatabase(`scale_retention_${n++}`);
        const age = async (at: number): Promise<void> => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          await client.query("UPDATE hookwork_deliveries SET state = 'done', updated_at = $1, created_at = $1 WHERE target = 'old'", [at]);
          await client.end();
        };
        pgRows.push(await measure('PostgreSQL', url, age, size, rx));
      }
      curves.push(curve('PostgreSQL', 'postgres', pgRows));
    } finally {
      await server.stop();
    }
  } finally {
    await rx.close();
  }
  return curves;
}
