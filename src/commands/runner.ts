// A command target: runs an absolute-path program with arguments and
// environment from templates, never through a shell, in its own process
// group so a timeout can stop it and everything it started (SIGTERM, then
// SIGKILL after a grace period). The environment is cleared except PATH and
// the names the config passes through.

import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { newRunId, RUN_ID_VAR, sweepRun } from './process-sweep.js';
import type { AttemptContext, DeliveryRecord } from '../delivery/types.js';
import type { LookupOptions } from '../events/context.js';
import { compileStringTemplate, type Template } from '../events/template.js';
import { InvalidArgumentError, toError } from '../errors.js';
import { Limiter } from './limiter.js';
import { sftpgoArgs, sftpgoEnv } from './sftpgo-preset.js';
import { headBytes, type EventRecord, type OutboundTarget, type RunResult, type TemplateExtras } from '../handlers/target.js';
import { NO_METRICS, type CounterChild, type HistogramChild, type Metrics } from '../metrics/metrics.js';
import { endSpan, startSpan, tracingOn, withSpan } from '../tracing.js';

export type CommandPreset = 'sftpgo';
export type OutputFormat = 'text' | 'json';

/** What one run reports (the data of the 20053 command-executed event). */
export interface CommandReport {
  readonly handler: string;
  readonly command: string;
  /** Left out when the target is granted secrets (they may be in the arguments). */
  readonly args?: readonly string[];
  readonly exit_code: number | null;
  readonly signal: string | null;
  readonly timed_out: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly duration_ms: number;
  readonly event_id: string;
  readonly event_uuid: string;
  readonly output?: unknown;
  readonly error?: string;
}

export interface CommandTargetOptions {
  name: string;
  /** Absolute path of the program. */
  command: string;
  /** Argument templates; each renders to exactly one argument. */
  args?: readonly string[];
  /** Environment variable templates. */
  env?: Readonly<Record<string, string>>;
  /** Names copied from Hookwork's own environment (PATH always is). */
  envPassthrough?: readonly string[];
  /** Default 30 000 ms. */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL, default 5 000 ms. */
  killGraceMs?: number;
  /** Bytes kept of stdout and of stderr, default 64 KiB each. */
  outputCap?: number;
  outputFormat?: OutputFormat;
  /** Runs at once, default 2. */
  concurrency?: number;
  preset?: CommandPreset;
  cwd?: string;
  /** Secret context paths the templates may read (`account.token`). */
  grants?: readonly string[];
  /** Exit codes that mean "try again later" (default [75], EX_TEMPFAIL). */
  retryExitCodes?: readonly number[];
  extras?: TemplateExtras;
  /** Called after every run (the installer emits 20053 from it). */
  onExecuted?: (report: CommandReport) => void;
  /** Where runs, their outcomes and durations are counted (default: nowhere). */
  metrics?: Metrics;
}

/** How a run ended, as the `outcome` label says it. */
type RunOutcome = 'ok' | 'exit_nonzero' | 'killed' | 'timeout' | 'spawn_error' | 'bad_output';
const RUN_OUTCOMES: readonly RunOutcome[] = ['ok', 'exit_nonzero', 'killed', 'timeout', 'spawn_error', 'bad_output'];

const REPORT_HEAD = 1024;

class Capture {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  total = 0;
  constructor(readonly cap: number) {}
  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.#kept >= this.cap) return;
    const room = this.cap - this.#kept;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(part);
    this.#kept += part.length;
  }
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone; fall back to the child alone.
    try {
      child.kill(signal);
    } catch {
      /* already exited */
    }
  }
}

/** Whether any process of the child's group is still alive (signal 0 probes without sending). */
function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    // EPERM: something is there that we may not signal; ESRCH: the group is gone.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Outcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  spawnError?: Error;
}

export class CommandTarget implements OutboundTarget {
  readonly kind = 'command' as const;
  readonly name: string;
  readonly command: string;
  readonly concurrency: number;
  readonly grants: ReadonlySet<string>;
  readonly outputFormat: OutputFormat;
  readonly #args: readonly Template<string>[] | undefined;
  readonly #env: ReadonlyArray<readonly [string, Template<string>]>;
  readonly #passthrough: readonly string[];
  readonly #timeoutMs: number;
  readonly #graceMs: number;
  readonly #cap: number;
  readonly #preset: CommandPreset | undefined;
  readonly #cwd: string | undefined;
  readonly #retryCodes: ReadonlySet<number>;
  readonly #extras: TemplateExtras | undefined;
  readonly #onExecuted: ((report: CommandReport) => void) | undefined;
  readonly #limiter: Limiter;
  readonly #lookup: LookupOptions;
  readonly #runs: ReadonlyMap<RunOutcome, CounterChild>;
  readonly #duration: HistogramChild;

  constructor(options: CommandTargetOptions) {
    if (!isAbsolute(options.command)) {
      throw new InvalidArgumentError(`Command target "${options.name}": "${options.command}" is not an absolute path; give the full path of the program (no shell is used to find it).`);
    }
    this.name = options.name;
    this.command = options.command;
    const metrics = options.metrics ?? NO_METRICS;
    const runs = metrics.counter('hookwork_command_runs_total', 'Command runs per command handler and outcome (ok, exit_nonzero, killed, timeout, spawn_error, bad_output).', ['command', 'outcome']);
    this.#runs = new Map(RUN_OUTCOMES.map((o) => [o, runs.labels(options.name, o)]));
    this.#duration = metrics.histogram('hookwork_command_duration_seconds', 'Time a command run took (start to exit), per command handler.', ['command']).labels(options.name);
    this.concurrency = options.concurrency ?? 2;
    this.grants = new Set((options.grants ?? []).map((g) => g.toLowerCase()));
    this.outputFormat = options.outputFormat ?? 'text';
    this.#args = options.args?.map((a) => compileStringTemplate(a));
    this.#env = Object.entries(options.env ?? {}).map(([k, v]) => [k, compileStringTemplate(v)] as const);
    this.#passthrough = options.envPassthrough ?? [];
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#graceMs = options.killGraceMs ?? 5_000;
    this.#cap = options.outputCap ?? 65_536;
    this.#preset = options.preset;
    this.#cwd = options.cwd;
    this.#retryCodes = new Set(options.retryExitCodes ?? [75]);
    this.#extras = options.extras;
    this.#onExecuted = options.onExecuted;
    this.#limiter = new Limiter(this.concurrency);
    this.#lookup = { grants: this.grants };
  }

  /** Every placeholder the argument and environment templates use. */
  get placeholders(): readonly string[] {
    const all = new Set<string>();
    for (const t of this.#args ?? []) for (const p of t.placeholders) all.add(p);
    for (const [, t] of this.#env) for (const p of t.placeholders) all.add(p);
    return [...all];
  }

  /** Runs in progress (at most `concurrency`). */
  get running(): number {
    return this.#limiter.active;
  }

  attempt(delivery: DeliveryRecord, context: AttemptContext): Promise<RunResult> {
    return this.run(delivery.event, context);
  }

  run(event: EventRecord, context: AttemptContext): Promise<RunResult> {
    if (tracingOn()) return this.#limiter.run(() => this.#runTraced(event, context));
    return this.#limiter.run(() => this.#runNow(event, context));
  }

  /** A run in its span (the program, never its arguments or environment: they may hold secrets). */
  async #runTraced(event: EventRecord, context: AttemptContext): Promise<RunResult> {
    const span = startSpan(`command ${this.name}`, { 'hookwork.command.name': this.name, 'process.executable.path': this.command, 'hookwork.delivery.attempt': context.attempt });
    const result = await withSpan(span, () => this.#runNow(event, context));
    if (result.exitCode !== undefined) span.setAttribute('process.exit.code', result.exitCode);
    endSpan(span, result.ok ? undefined : (result.error ?? 'failed'));
    return result;
  }

  /** The argument list and environment for one event (exposed for tests and dry runs). */
  prepare(event: EventRecord, context: AttemptContext): { args: string[]; env: Record<string, string> } {
    const roots = this.#extras === undefined ? [event] : [this.#extras(event, context), event];
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin' };
    for (const name of this.#passthrough) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    if (this.#preset === 'sftpgo') Object.assign(env, sftpgoEnv(event));
    for (const [key, template] of this.#env) env[key] = clean(template.render(roots, this.#lookup));
    const args =
      this.#args !== undefined
        ? this.#args.map((t) => clean(t.render(roots, this.#lookup)))
        : this.#preset === 'sftpgo'
          ? sftpgoArgs(event).map(clean)
          : [];
    return { args, env };
  }

  /** Milliseconds a run may take before its process group is stopped (default 30 000). */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Milliseconds between SIGTERM and SIGKILL after a timeout or an abort (default 5 000). */
  get killGraceMs(): number {
    return this.#graceMs;
  }

  async #runNow(event: EventRecord, context: AttemptContext): Promise<RunResult> {
    // Aborted before it could start (e.g. while waiting for a concurrency slot,
    // or a gate that already timed out): nothing is spawned, and the result is
    // the one of a run stopped by its signal (retryable, not ok).
    if (context.signal.aborted) {
      const reason: unknown = context.signal.reason;
      const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
      return { ok: false, retryable: true, durationMs: 0, error: `Command "${this.name}": ${this.command} was not started, the attempt was cancelled first (${why}).` };
    }
    const started = performance.now();
    const { args, env } = this.prepare(event, context);
    const stdout = new Capture(this.#cap);
    const stderr = new Capture(this.#cap);
    const outcome = await this.#spawn(args, env, stdout, stderr, context.signal);
    const durationMs = performance.now() - started;
    const out = stdout.text();
    const err = stderr.text();

    let output: unknown;
    let parseError: string | undefined;
    if (this.outputFormat === 'json' && outcome.exitCode === 0) {
      try {
        output = JSON.parse(out);
      } catch (e) {
        parseError = `stdout is not JSON (output_format: json): ${toError(e).message}`;
      }
    }

    let result: RunResult;
    if (outcome.spawnError !== undefined) {
      result = { ok: false, retryable: false, error: `Command "${this.name}": could not start ${this.command}: ${outcome.spawnError.message}` };
    } else if (outcome.timedOut) {
      result = {
        ok: false,
        retryable: true,
        ...(outcome.exitCode === null ? {} : { exitCode: outcome.exitCode }),
        response: headBytes(out),
        error: `Command "${this.name}": ${this.command} did not finish within ${this.#timeoutMs} ms and was stopped (${outcome.signal ?? 'exited'}).`,
      };
    } else if (outcome.exitCode === 0 && parseError === undefined) {
      result = { ok: true, exitCode: 0, response: headBytes(out), ...(output === undefined ? {} : { output }) };
    } else if (parseError !== undefined) {
      result = { ok: false, retryable: false, exitCode: 0, response: headBytes(out), error: `Command "${this.name}": ${parseError}` };
    } else {
      const how = outcome.exitCode === null ? `was killed by ${outcome.signal ?? 'a signal'}` : `exited with ${outcome.exitCode}`;
      result = {
        ok: false,
        retryable: outcome.exitCode !== null && this.#retryCodes.has(outcome.exitCode),
        ...(outcome.exitCode === null ? {} : { exitCode: outcome.exitCode }),
        response: headBytes(out),
        error: `Command "${this.name}": ${this.command} ${how}${err === '' ? '' : `: ${headBytes(err, 1024).trim()}`}`,
      };
    }

    this.#report(event, args, outcome, out, err, durationMs, output, result.ok ? undefined : result.error);
    const ended: RunOutcome = outcome.spawnError !== undefined ? 'spawn_error' : outcome.timedOut ? 'timeout' : result.ok ? 'ok' : parseError !== undefined ? 'bad_output' : outcome.exitCode === null ? 'killed' : 'exit_nonzero';
    this.#runs.get(ended)?.inc();
    this.#duration.observe(durationMs / 1000);
    return { ...result, durationMs };
  }

  #spawn(args: string[], env: Record<string, string>, stdout: Capture, stderr: Capture, signal: AbortSignal): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let child: ChildProcess;
      // Marks the run's processes, so a timeout also reaches those that left the group (setsid): process-sweep.ts.
      const runId = newRunId();
      try {
        child = spawn(this.command, args, {
          shell: false,
          detached: true,
          env: { ...env, [RUN_ID_VAR]: runId },
          ...(this.#cwd === undefined ? {} : { cwd: this.#cwd }),
          stdio: ['ignore', 'pipe', 'pipe'],
          windowsHide: true,
        });
      } catch (err) {
        resolve({ exitCode: null, signal: null, timedOut: false, spawnError: toError(err) });
        return;
      }
      let timedOut = false;
      let killTimer: NodeJS.Timeout | undefined;
      let drainTimer: NodeJS.Timeout | undefined;
      const stop = (): void => {
        if (killTimer !== undefined) return;
        killGroup(child, 'SIGTERM');
        sweepRun(child.pid, runId, 'SIGTERM');
        // Kept past the child's exit: a grandchild in the group that ignores
        // SIGTERM (and let go of our pipes) still gets SIGKILL after the grace.
        killTimer = setTimeout(() => {
          killGroup(child, 'SIGKILL');
          sweepRun(child.pid, runId, 'SIGKILL');
        }, this.#graceMs);
        killTimer.unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, this.#timeoutMs);
      const onAbort = (): void => {
        timedOut = true;
        stop();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
      let spawnError: Error | undefined;
      child.once('error', (err) => {
        spawnError = err;
      });
      child.once('exit', () => {
        // A grandchild that keeps our pipes open must not hold the result forever.
        drainTimer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, 1000);
        drainTimer.unref();
      });
      child.once('close', (code, sig) => {
        clearTimeout(timer);
        // Only when the whole group is gone; otherwise SIGKILL still follows the grace.
        if (killTimer !== undefined && !groupAlive(child.pid) && sweepRun(undefined, runId, 0) === 0) clearTimeout(killTimer);
        if (drainTimer !== undefined) clearTimeout(drainTimer);
        signal.removeEventListener('abort', onAbort);
        resolve({ exitCode: code, signal: sig, timedOut, ...(spawnError === undefined ? {} : { spawnError }) });
      });
    });
  }

  #report(
    event: EventRecord,
    args: readonly string[],
    outcome: Outcome,
    out: string,
    err: string,
    durationMs: number,
    output: unknown,
    error: string | undefined,
  ): void {
    if (this.#onExecuted === undefined) return;
    const report: CommandReport = {
      handler: this.name,
      command: this.command,
      ...(this.grants.size === 0 ? { args } : {}),
      exit_code: outcome.exitCode,
      signal: outcome.signal,
      timed_out: outcome.timedOut,
      stdout: headBytes(out, REPORT_HEAD),
      stderr: headBytes(err, REPORT_HEAD),
      duration_ms: Math.round(durationMs * 1000) / 1000,
      event_id: typeof event['id'] === 'string' ? event['id'] : '',
      event_uuid: typeof event['uuid'] === 'string' ? event['uuid'] : '',
      ...(output === undefined ? {} : { output }),
      ...(error === undefined ? {} : { error }),
    };
    try {
      this.#onExecuted(report);
    } catch {
      // Reporting never changes the outcome.
    }
  }
}

/** NUL cannot cross exec(); drop it rather than fail the whole run. */
function clean(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', '') : value;
}
