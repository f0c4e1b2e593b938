// Shared benchmark kit: every bench/*.bench.ts exports
// `run(): Promise<BenchResult[]>`, and run-all.ts prints each figure beside
// its peer's as a ratio. Machines drift up to 2x over half an hour, so a
// comparison is measured in one run with ours and the peer's samples
// interleaved, and only the ratio is meaningful. A targeted comparison runs
// several passes (benchPasses(): 5, or 1 with --quick), alternating who goes
// first; the table shows the min, median and max of the per-pass ratios and
// a target is met when the median meets it, so one lucky (or unlucky) pass
// decides nothing.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'undici';
import type { DeliveryTarget } from '../src/delivery/types.js';

export interface BenchResult {
  /** What was measured, e.g. `sync notify, 10 subscribers`. */
  name: string;
  /** Unit of `ours` and `peer`, e.g. `ops/s`. */
  unit: string;
  ours: number;
  peer: number;
  /** Who the peer is, e.g. `EventEmitter`. */
  peerName: string;
  /** True for throughput (ops/s), false for latency (ns/op). */
  higherIsBetter: boolean;
  /**
   * Ours' advantage over the peer in each pass (as advantage() computes it:
   * above 1 is better). When present, the median of these decides the
   * target and the table shows their min and max too.
   */
  ratios?: readonly number[];
  /**
   * The target, in words the printer understands: `within 1.5x`
   * (ours may be up to 1.5 times worse), `faster` (ours must be better), or
   * `at least 2x` (ours must be at least twice as good). Absent: informational.
   */
  target?: string;
}

/** How much better ours is than the peer: above 1 is better, below 1 worse (the median pass when there are several). */
export function advantage(result: BenchResult): number {
  if (result.ratios !== undefined && result.ratios.length > 0) return median(result.ratios);
  if (result.ours === 0 || result.peer === 0) return 0;
  return result.higherIsBetter ? result.ours / result.peer : result.peer / result.ours;
}

/** The lowest advantage the target accepts, or undefined when there is no target (or it is not understood). */
export function requiredAdvantage(target: string | undefined): number | undefined {
  if (target === undefined) return undefined;
  const within = /within\s+([\d.]+)\s*x/i.exec(target);
  if (within !== null) return 1 / Number(within[1]);
  const atLeast = /at least\s+([\d.]+)\s*x/i.exec(target);
  if (atLeast !== null) return Number(atLeast[1]);
  if (/\b(faster|better)\b/i.test(target)) return 1;
  return undefined;
}

export type TargetStatus = 'met' | 'missed' | 'n/a';

export function targetStatus(result: BenchResult): TargetStatus {
  const required = requiredAdvantage(result.target);
  if (required === undefined) return 'n/a';
  return advantage(result) >= required ? 'met' : 'missed';
}

// --- measuring ----------------------------------------------------------------

export type SyncOp = () => unknown;
export type AsyncOp = () => Promise<unknown>;

export interface MeasureOptions {
  /** Samples per side (default 15); the median is reported. */
  samples?: number;
  /** Target time of one sample, ms (default 20). */
  sampleMs?: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** True under `npm run bench -- --quick` (run-all.ts passes it on to each file's process). */
export function quickMode(): boolean {
  return process.env['HOOKWORK_BENCH_QUICK'] === '1';
}

/**
 * Passes of each targeted comparison: 5 (BENCH_PASSES overrides, never
 * fewer than 5), or 1 with --quick.
 */
export function benchPasses(): number {
  if (quickMode()) return 1;
  return Math.max(5, Number(process.env['BENCH_PASSES'] ?? 5) || 5);
}

/** Rounds for a comparison that needs more than the usual passes to be steady: `atLeast`, or 1 with --quick. */
export function benchRounds(atLeast: number): number {
  return quickMode() ? 1 : Math.max(atLeast, benchPasses());
}

/**
 * Runs `passes` passes of ours and the peer, alternating who goes first
 * (so neither always meets a warmer or a busier machine), after one
 * discarded warm-up pass. Each side returns its figure for the pass; the
 * result has both medians and each pass's ratio (advantage of ours).
 */
export async function alternate(
  passes: number,
  ours: () => Promise<number>,
  peer: () => Promise<number>,
  higherIsBetter = true,
): Promise<{ ours: number; peer: number; ratios: number[] }> {
  const oursFigures: number[] = [];
  const peerFigures: number[] = [];
  const ratios: number[] = [];
  for (let pass = -1; pass < passes; pass++) {
    let o: number;
    let p: number;
    if (pass % 2 === 0) {
      p = await peer();
      o = await ours();
    } else {
      o = await ours();
      p = await peer();
    }
    if (pass < 0) continue;
    oursFigures.push(o);
    peerFigures.push(p);
    ratios.push(higherIsBetter ? o / p : p / o);
  }
  return { ours: median(oursFigures), peer: median(peerFigures), ratios };
}

/**
 * A webhook receiver on 127.0.0.1 that only counts (and, when asked, notes
 * when each request arrived): the cheapest peer a delivery can have, so the
 * figures are the engine's and the store's.
 */
export interface CountingReceiver {
  readonly url: string;
  count(): number;
  /** Resolves once `goal` requests have arrived in all. */
  reach(goal: number): Promise<void>;
  /** Arrival times (performance.now()) from now on, until stopped. */
  record(): { stop(): number[] };
  close(): Promise<void>;
}

export async function countingReceiver(): Promise<CountingReceiver> {
  let received = 0;
  let waiting: { goal: number; resolve: () => void }[] = [];
  let times: number[] | undefined;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      times?.push(performance.now());
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (waiting.length > 0) {
        const done = waiting.filter((w) => w.goal <= received);
        waiting = waiting.filter((w) => w.goal > received);
        for (const w of done) w.resolve();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => received,
    reach: (goal) => (goal <= received ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ goal, resolve }))),
    record() {
      const mine: number[] = [];
      times = mine;
      return {
        stop: () => {
          times = undefined;
          return mine;
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A process spinning on one core until stopped: the contended variants run
 * with it, as a host whose other work (or a neighbour) takes a core.
 */
export async function busyCore(): Promise<{ stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['-e', 'process.send("ready"); for (;;) {}'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

function loopSync(op: SyncOp, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op();
  return Number(process.hrtime.bigint() - start);
}

async function loopAsync(op: AsyncOp, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await op();
  return Number(process.hrtime.bigint() - start);
}

async function loop(op: SyncOp | AsyncOp, n: number, isAsync: boolean): Promise<number> {
  return isAsync ? loopAsync(op as AsyncOp, n) : loopSync(op, n);
}

/** How many calls fill one sample. */
async function calibrate(op: SyncOp | AsyncOp, isAsync: boolean, sampleMs: number): Promise<number> {
  let n = 16;
  for (;;) {
    const ns = await loop(op, n, isAsync);
    if (ns >= sampleMs * 1e6 * 0.25 || n >= 1 << 26) return Math.max(1, Math.round((n * sampleMs * 1e6) / Math.max(ns, 1)));
    n *= 4;
  }
}

/**
 * Ops/s of ours and the peer, measured in the same run with their samples
 * interleaved (so drift hits both alike). Ops are awaited when `async`.
 */
export async function compare(
  ours: SyncOp | AsyncOp,
  peer: SyncOp | AsyncOp,
  options: MeasureOptions & { async?: boolean } = {},
): Promise<{ ours: number; peer: number; ratios: number[] }> {
  const isAsync = options.async ?? false;
  // --quick: one short pass of 5 samples instead of 15.
  const samples = quickMode() ? 5 : (options.samples ?? 15);
  const sampleMs = options.sampleMs ?? 20;
  // Warm both up (JIT) before calibrating, then calibrate each.
  await loop(ours, 2000, isAsync);
  await loop(peer, 2000, isAsync);
  const nOurs = await calibrate(ours, isAsync, sampleMs);
  const nPeer = await calibrate(peer, isAsync, sampleMs);
  const oursRates: number[] = [];
  const peerRates: number[] = [];
  for (let i = 0; i < samples; i++) {
    // Alternate who goes first, so neither always runs on a warmer machine.
    if (i % 2 === 0) {
      oursRates.push((nOurs * 1e9) / (await loop(ours, nOurs, isAsync)));
      peerRates.push((nPeer * 1e9) / (await loop(peer, nPeer, isAsync)));
    } else {
      peerRates.push((nPeer * 1e9) / (await loop(peer, nPeer, isAsync)));
      oursRates.push((nOurs * 1e9) / (await loop(ours, nOurs, isAsync)));
    }
  }
  // Each sample pair (taken back to back) is one ratio: their spread shows how steady the comparison was.
  const ratios = oursRates.map((o, i) => o / (peerRates[i] as number));
  return { ours: median(oursRates), peer: median(peerRates), ratios };
}

/**
 * Listener functions that V8 cannot merge: each has its own source text (so
 * its own feedback and inlining decisions), as real plugins do. Identical
 * closures would understate the cost of a fan-out up to 6x.
 */
export function distinctFunctions<F extends (...args: never[]) => unknown>(
  count: number,
  body: (i: number) => string,
  params: readonly string[] = ['event'],
  sink: Record<string, number> = {},
): F[] {
  const fns: F[] = [];
  for (let i = 0; i < count; i++) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const make = new Function('sink', `return function listener_${i}(${params.join(', ')}) { ${body(i)} };`) as (
      sink: Record<string, number>,
    ) => F;
    fns.push(make(sink));
  }
  return fns;
}

// --- printing -----------------------------------------------------------------

function formatNumber(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(n >= 100 ? 0 : 2);
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** The min–max of the per-pass ratios and how many passes, or '' for a single figure. */
function ratioSpread(result: BenchResult): string {
  const ratios = result.ratios;
  if (ratios === undefined || ratios.length < 2) return '';
  return `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} (${ratios.length})`;
}

/** A table: each figure beside its peer's, the median ratio with its min–max over the passes, and whether the target is met at the median. */
export function formatResults(results: readonly BenchResult[]): string {
  const rows = results.map((r) => {
    const status = targetStatus(r);
    return [
      r.name,
      `${formatNumber(r.ours)} ${r.unit}`,
      `${formatNumber(r.peer)} ${r.unit}`,
      r.peerName,
      `${advantage(r).toFixed(2)}x`,
      ratioSpread(r),
      r.target === undefined ? '' : `${r.target}: ${status === 'met' ? 'MET' : status === 'missed' ? 'MISSED' : '?'}`,
    ];
  });
  const header = ['benchmark', 'ours', 'peer', 'peer is', 'ours vs peer (median)', 'min–max (passes)', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => pad(cell, widths[i] as number, i === 1 || i === 2 || i === 4 || i === 5)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * The durable delivery benches' target "bench": POSTs each delivery's stored
 * event JSON through `pool` to /hook, as the raw side sends its prepared body.
 */
export function undiciBenchTarget(pool: Pool, concurrency: number): DeliveryTarget {
  return {
    name: 'bench',
    kind: 'webhook',
    concurrency,
    async attempt(d, c) {
      const res = await pool.request({ path: '/hook', method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': c.webhookId }, body: d.eventJson ?? JSON.stringify(d.event), signal: c.signal });
      const text = await res.body.text();
      return { ok: res.statusCode < 300, httpStatus: res.statusCode, response: text };
    },
  };
}

/** CPU time (µs) of each of this process's threads so far, by thread id (Linux: /proc/self/task/<tid>/schedstat, in ns; stat's utime and stime count 10 ms ticks). */
export function threadsCpuUs(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1000);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
