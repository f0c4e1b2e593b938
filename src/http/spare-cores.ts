// Whether the machine has a core to spare for the sender thread, measured
// rather than counted. The thread pays only where it runs on a core nobody
// else needs: on a quiet 2-core machine it beat the main thread by a wide
// margin, and with a busy process on one of the two cores it lost by as much
// (docs/performance.md, "The sender thread on 2 cores, measured"). So `auto`
// watches how much CPU every other process used over the last window (the
// machine's busy time less this process's own, which counts both threads
// whichever sends) and sends from the thread while that leaves this process
// a core and a half.

import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

/** CPU time so far: the machine's busy time (all cores) and this process's own. */
export interface CpuSample {
  readonly machineBusyMs: number;
  readonly ownUs: number;
}

export interface SpareCoresOptions {
  /** The cores this process may use (default usableCores(): availableParallelism(), less under a CPU quota). */
  readonly cores?: number;
  /** How often the choice is made again, in ms (default 500). */
  readonly windowMs?: number;
  /** Reads the CPU times; undefined where the machine's cannot be attributed (default machineSample). */
  readonly sample?: () => CpuSample | undefined;
  /** A monotonic clock in ms (default performance.now). */
  readonly now?: () => number;
  /** Told each time the choice changes, with the other processes' load that changed it. */
  readonly onChange?: (threadHasCore: boolean, othersCores: number) => void;
}

/** What this process needs of the machine for the thread to pay: its main thread and most of another core. */
export const CORES_FOR_THREAD = 1.5;
/** Until the first window is measured, and where it cannot be: the thread from this many cores, by the count alone. */
export const SENDER_THREAD_MIN_CORES = 3;
/** Around the line, a change needs the load to move this far past it (cores): no flapping on noise. */
const HYSTERESIS = 0.1;
/** A window longer than this many windows (the host sent nothing for a while) starts a new one instead of deciding. */
const STALE_WINDOWS = 4;

/**
 * The cores a CPU quota allows, from cgroup v2's `cpu.max` ("150000 100000":
 * 1.5 cores; "max 100000": no quota) or cgroup v1's quota and period (-1: no
 * quota); undefined without one. availableParallelism() counts the cores the
 * process may run on, not the time it may use on them: a container given 1.5
 * of 2 cores has no core to spare however idle the machine is.
 */
export function quotaCores(v2?: string, v1Quota?: string, v1Period?: string): number | undefined {
  if (v2 !== undefined) {
    const [quota, period] = v2.trim().split(/\s+/);
    return quota === undefined || quota === 'max' ? undefined : ratio(quota, period);
  }
  return v1Quota === undefined ? undefined : ratio(v1Quota.trim(), v1Period?.trim());
}

function ratio(quota: string, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** This process's cores: availableParallelism(), or fewer where a CPU quota (Linux cgroups, as a container's) allows less. */
export function usableCores(): number {
  const quota =
    quotaCores(readOr('/sys/fs/cgroup/cpu.max')) ??
    quotaCores(undefined, readOr('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), readOr('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  const cores = availableParallelism();
  return quota === undefined ? cores : Math.min(cores, quota);
}

/**
 * The machine's busy time and this process's, or undefined when os.cpus()
 * does not list the cores this process runs on (a CPU set smaller than the
 * host's): other processes' share cannot be told apart there.
 */
export function machineSample(): CpuSample | undefined {
  const all = cpus();
  if (all.length === 0 || all.length !== availableParallelism()) return undefined;
  let busy = 0;
  for (const { times } of all) busy += times.user + times.nice + times.sys + times.irq;
  const own = process.cpuUsage();
  return { machineBusyMs: busy, ownUs: own.user + own.system };
}

export class SpareCores {
  readonly cores: number;
  readonly #windowMs: number;
  readonly #sample: () => CpuSample | undefined;
  readonly #now: () => number;
  readonly #onChange: ((threadHasCore: boolean, othersCores: number) => void) | undefined;
  #threadHasCore: boolean;
  #nextAt = Number.NEGATIVE_INFINITY;
  #last: CpuSample | undefined;
  #lastAt = 0;
  #others = Number.NaN;

  constructor(options: SpareCoresOptions = {}) {
    this.cores = options.cores ?? usableCores();
    this.#windowMs = options.windowMs ?? 500;
    this.#sample = options.sample ?? machineSample;
    this.#now = options.now ?? (() => performance.now());
    this.#onChange = options.onChange;
    this.#threadHasCore = this.#byCount();
  }

  /** Cores the other processes used over the last measured window (NaN before the first). */
  get othersCores(): number {
    return this.#others;
  }

  /** Whether the thread has a core to run on now; measures again once a window has passed. Cheap: a clock read. */
  threadHasCore(): boolean {
    const now = this.#now();
    if (now >= this.#nextAt) this.#measure(now);
    return this.#threadHasCore;
  }

  #byCount(): boolean {
    return this.cores >= SENDER_THREAD_MIN_CORES;
  }

  #measure(now: number): void {
    this.#nextAt = now + this.#windowMs;
    const sample = this.#sample();
    if (sample === undefined) {
      this.#set(this.#byCount(), Number.NaN);
      return;
    }
    const last = this.#last;
    const wallMs = now - this.#lastAt;
    this.#last = sample;
    this.#lastAt = now;
    if (last === undefined || wallMs <= 0 || wallMs > this.#windowMs * STALE_WINDOWS) return;
    const others = Math.max(0, (sample.machineBusyMs - last.machineBusyMs - (sample.ownUs - last.ownUs) / 1000) / wallMs);
    this.#others = others;
    const line = this.cores - CORES_FOR_THREAD;
    if (this.#threadHasCore ? others > line + HYSTERESIS : others < line - HYSTERESIS) this.#set(!this.#threadHasCore, others);
  }

  #set(threadHasCore: boolean, others: number): void {
    if (threadHasCore === this.#threadHasCore) return;
    this.#threadHasCore = threadHasCore;
    this.#onChange?.(threadHasCore, others);
  }
}
