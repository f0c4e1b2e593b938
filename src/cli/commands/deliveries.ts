// `hookwork deliveries …`: operate the delivery store named by the config
// (`--config`, default: the embedded default config) without starting a
// gateway: list, show (with attempts), retry, replay (with a progress bar on
// a terminal), depth per target, enable a target disabled by a 410, or
// disable one. Exit codes as every subcommand's (cli/exit-codes.ts).
// Events are shown with a granted account.token redacted (the store keeps it).
// A running gateway picks the changes up at its next poll (PostgreSQL: at once).

import { resolve } from 'node:path';
import { InvalidArgumentError as CommanderArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { openStore } from '../../delivery/open-store.js';
import { parseSince } from '../../delivery/parse-time.js';
import { DeliveryService } from '../../delivery/service.js';
import type { AttemptRecord, DeliveryRecord, DeliveryState } from '../../delivery/types.js';
import { silentLogger } from '../../logger.js';
import { handlerTargetName, webhookTargetName } from '../../handlers/generation.js';
import { exitWith } from '../exit-codes.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Progress output (replay); a bar when it is a terminal. */
  progress?: NodeJS.WriteStream | undefined;
}

const STDIO: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  progress: process.stderr,
};

/** Opens the configured store as an admin-only service (nothing is dispatched). */
export async function openDeliveryAdmin(configPath: string | undefined): Promise<DeliveryService> {
  const { config, baseDir } = await loadConfig(configPath, { env: process.env });
  const dataDir = resolve(baseDir, config.server.data_dir);
  const store = await openStore(config.store, { dataDir, logger: silentLogger() });
  const service = new DeliveryService({
    store,
    config: config.delivery,
    nodeId: `cli-${process.pid}`,
    logger: silentLogger(),
    dispatch: false,
  });
  try {
    await service.start();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return service;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function line(d: DeliveryRecord): string {
  const error = d.lastError === undefined ? '' : `  ${d.lastError.slice(0, 80)}`;
  return `${d.id}  ${d.state.padEnd(8)}  ${d.target}  attempts=${d.attempts}  created=${iso(d.createdAt)}  due=${iso(d.dueAt)}${error}`;
}

function attemptLine(a: AttemptRecord): string {
  const status = a.httpStatus !== undefined ? `http=${a.httpStatus}` : a.exitCode !== undefined ? `exit=${a.exitCode}` : '';
  const what = a.ok ? 'ok' : `failed${a.error === undefined ? '' : `: ${a.error}`}`;
  return `  #${a.attempt}  ${iso(a.startedAt)}  ${a.durationMs} ms  ${status}  ${what}`;
}

/**
 * Replay's progress reporter: on a terminal (`stream.isTTY === true`) a bar
 * redrawn in place (`\r[###---] 50% 5/10`, ending with a newline at the
 * total); otherwise one plain `replayed done/total` line per batch via `out`.
 */
export function progressBar(stream: NodeJS.WriteStream | undefined, out: (line: string) => void): (done: number, total: number) => void {
  if (stream?.isTTY === true) {
    return (done, total) => {
      const width = 30;
      const ratio = total === 0 ? 1 : done / total;
      const filled = Math.round(ratio * width);
      stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(ratio * 100)}% ${done}/${total}${done >= total ? '\n' : ''}`);
    };
  }
  return (done, total) => out(`replayed ${done}/${total}`);
}

export interface ListOptions {
  config?: string;
  state?: DeliveryState;
  target?: string;
  limit?: number;
  json?: boolean;
}

/** Each `run*` returns the exit code, for the CLI and for tests. */
export async function runList(options: ListOptions, io: CliIo = STDIO): Promise<number> {
  const service = await openDeliveryAdmin(options.config);
  try {
    const list = await service.list({
      ...(options.state === undefined ? {} : { state: options.state }),
      ...(options.target === undefined ? {} : { target: options.target }),
      limit: options.limit ?? 100,
    });
    if (options.json === true) io.out(JSON.stringify(list, null, 2));
    else if (list.length === 0) io.out('No deliveries.');
    else for (const d of list) io.out(line(d));
    return 0;
  } finally {
    await service.close();
  }
}

export async function runShow(id: string, options: { config?: string; json?: boolean }, io: CliIo = STDIO): Promise<number> {
  const service = await openDeliveryAdmin(options.config);
  try {
    const detail = await service.get(id);
    if (options.json === true) {
      io.out(JSON.stringify(detail, null, 2));
      return 0;
    }
    io.out(line(detail.delivery));
    io.out(`  webhook-id: ${detail.delivery.webhookId}`);
    io.out(
      detail.delivery.eventDropped === true
        ? '  event: not kept (delivery.keep_done_body: none): it succeeded, and it cannot be retried or replayed'
        : `  event: ${JSON.stringify(detail.delivery.event)}`,
    );
    io.out(`  attempts (${detail.attempts.length}):`);
    for (const a of detail.attempts) {
      io.out(attemptLine(a));
      if (a.response !== undefined && a.response !== '') io.out(`     response: ${a.response.slice(0, 200).replace(/\s+/g, ' ')}`);
    }
    return 0;
  } finally {
    await service.close();
  }
}

export async function runRetry(id: string, options: { config?: string }, io: CliIo = STDIO): Promise<number> {
  const service = await openDeliveryAdmin(options.config);
  try {
    // An unknown id or a delivery in flight (being attempted right now) throws, with the reason.
    const d = await service.retry(id);
    io.out(`${d.id} is pending again, due now (fresh retry schedule).`);
    return 0;
  } finally {
    await service.close();
  }
}

export interface ReplayCliOptions {
  config?: string;
  target: string;
  since: string;
  /** Created before this time (same forms as since). */
  until?: string;
  includeDone?: boolean;
}

export async function runReplay(options: ReplayCliOptions, io: CliIo = STDIO): Promise<number> {
  const since = parseSince(options.since);
  const until = options.until === undefined ? undefined : parseSince(options.until);
  const service = await openDeliveryAdmin(options.config);
  try {
    const result = await service.replay({
      target: options.target,
      since,
      ...(until === undefined ? {} : { until }),
      states: options.includeDone === true ? ['failed', 'done'] : ['failed'],
      onProgress: progressBar(io.progress, io.out),
    });
    // Fewer than counted (some were retried meanwhile): the bar stopped short of its closing newline.
    if (io.progress?.isTTY === true && result.replayed < result.total) io.progress.write('\n');
    io.out(`Replayed ${result.replayed} deliveries to "${options.target}" created since ${iso(since)}${until === undefined ? '' : ` and before ${iso(until)}`}.`);
    if (result.skipped > 0) {
      io.out(`Skipped ${result.skipped} done deliveries whose event body was not kept (delivery.keep_done_body: none): nothing to send.`);
    }
    return 0;
  } finally {
    await service.close();
  }
}

export async function runDepth(options: { config?: string; json?: boolean }, io: CliIo = STDIO): Promise<number> {
  const service = await openDeliveryAdmin(options.config);
  try {
    const depth = await service.depth();
    if (options.json === true) io.out(JSON.stringify(depth, null, 2));
    else if (depth.length === 0) io.out('The queue is empty.');
    for (const d of options.json === true ? [] : depth) {
      const off = d.disabled === undefined ? '' : `  DISABLED since ${iso(d.disabled.at)}: ${d.disabled.reason}`;
      io.out(`${d.target}  pending=${d.pending} inflight=${d.inflight} failed=${d.failed} done=${d.done}${off}`);
    }
    return 0;
  } finally {
    await service.close();
  }
}

/** The delivery targets the config declares: its handlers and Magpie webhooks. */
async function configuredTargets(configPath: string | undefined): Promise<Set<string>> {
  const { config, webhooks } = await loadConfig(configPath, { env: process.env });
  return new Set([...config.handlers.map((h) => handlerTargetName(h.name)), ...webhooks.map((w) => webhookTargetName(w.name))]);
}

/** Disables a target: its deliveries wait (nothing is attempted) until it is enabled again. */
export async function runDisable(target: string, options: { config?: string; reason?: string }, io: CliIo = STDIO): Promise<number> {
  const service = await openDeliveryAdmin(options.config);
  try {
    // Only a known target (as the gateway's route): a typo must not store a disabled name nobody has.
    if (!(await service.hasTarget(target)) && !(await configuredTargets(options.config)).has(target)) {
      io.err(`hookwork: no target named "${target}" has deliveries or is configured (names are handler:<name> and webhook:<name>); see "hookwork deliveries depth".`);
      return 1;
    }
    await service.disableTarget(target, options.reason ?? 'disabled with hookwork deliveries disable');
    io.out(`Target "${target}" disabled; its deliveries wait until "hookwork deliveries enable ${target}".`);
    return 0;
  } finally {
    await service.close();
  }
}

export async function runEnable(target: string, options: { config?: string }, io: CliIo = STDIO): Promise<number> {
  const service = await openDeliveryAdmin(options.config);
  try {
    const was = await service.enableTarget(target);
    io.out(was ? `Target "${target}" enabled; its waiting deliveries will go out.` : `Target "${target}" was not disabled.`);
    return 0;
  } finally {
    await service.close();
  }
}

const STATES = ['pending', 'inflight', 'done', 'failed'];

export function deliveriesCommand(program: Command): void {
  const cmd = program
    .command('deliveries')
    .description('Inspect and operate the durable delivery queue (the store named by the config)')
    .option('-c, --config <path>', 'the config whose store to use; default: the embedded default config');
  const cfg = (c: Command): string | undefined => (c.optsWithGlobals() as { config?: string }).config;

  cmd
    .command('list')
    .description('List deliveries, newest first')
    .option('--state <state>', `only this state (${STATES.join(', ')})`, (v: string) => {
      if (!STATES.includes(v)) throw new CommanderArgumentError(`--state must be one of ${STATES.join(', ')}`);
      return v;
    })
    .option('--target <name>', 'only this target')
    .option('--limit <n>', 'at most this many (default 100)', (v: string) => Number.parseInt(v, 10))
    .option('--json', 'print JSON')
    .action(async (options: Omit<ListOptions, 'config'>, c: Command) => exitWith(runList({ ...options, config: cfg(c) })));

  cmd
    .command('show')
    .description('Show one delivery with every attempt')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }, c: Command) => exitWith(runShow(id, { ...options, config: cfg(c) })));

  cmd
    .command('retry')
    .description('Make a delivery pending and due now, with a fresh retry schedule (not while it is in flight: being attempted)')
    .argument('<id>')
    .action(async (id: string, _o: unknown, c: Command) => exitWith(runRetry(id, { config: cfg(c) })));

  cmd
    .command('replay')
    .description("Deliver a target's dead letters (failed deliveries) created since a time (and before another) again")
    .requiredOption('--target <name>', 'the target')
    .requiredOption(
      '--since <time>',
      'ISO date/time (2025-01-31T12:00:00Z), milliseconds since the epoch (digits only, always ms: 1738324800000), or a duration ago (30m, 2h, 7d)',
    )
    .option('--until <time>', 'only deliveries created before this time (same forms as --since; default: no bound)')
    .option('--include-done', 'also re-send deliveries that succeeded')
    .action(async (options: Omit<ReplayCliOptions, 'config'>, c: Command) => exitWith(runReplay({ ...options, config: cfg(c) })));

  cmd
    .command('depth')
    .description('Queue depth per target (pending, in flight, failed, done; disabled targets)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, c: Command) => exitWith(runDepth({ ...options, config: cfg(c) })));

  cmd
    .command('enable')
    .description('Enable a target that a 410 Gone disabled')
    .argument('<target>')
    .action(async (target: string, _o: unknown, c: Command) => exitWith(runEnable(target, { config: cfg(c) })));

  cmd
    .command('disable')
    .description('Disable a target: its deliveries wait, nothing is attempted, until it is enabled again')
    .argument('<target>')
    .option('--reason <text>', 'why (shown by depth)')
    .action(async (target: string, options: { reason?: string }, c: Command) => exitWith(runDisable(target, { ...options, config: cfg(c) })));
}
