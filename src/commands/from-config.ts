// A command handler of the config as the CommandTarget that runs it.

import type { TemplateExtras } from '../handlers/target.js';
import type { Metrics } from '../metrics/metrics.js';
import type { CommandHandlerConfig } from './config-schema.js';
import { CommandTarget, type CommandReport } from './runner.js';

export interface CommandTargetContext {
  /** The target's name (`handler:<name>`). */
  readonly name: string;
  /** Resolves `cwd` against the config's folder. */
  readonly resolvePath: (path: string) => string;
  readonly extras: TemplateExtras;
  readonly onExecuted: (report: CommandReport) => void;
  /** Where runs, outcomes and durations are recorded. */
  readonly metrics?: Metrics;
}

export function commandTargetFromConfig(handler: CommandHandlerConfig, context: CommandTargetContext): CommandTarget {
  return new CommandTarget({
    name: context.name,
    command: handler.command,
    ...(handler.args === undefined ? {} : { args: handler.args }),
    env: handler.env,
    envPassthrough: handler.env_passthrough,
    timeoutMs: handler.timeout * 1000,
    killGraceMs: handler.kill_grace * 1000,
    outputCap: handler.output_cap,
    outputFormat: handler.output_format,
    concurrency: handler.concurrency,
    ...(handler.preset === undefined ? {} : { preset: handler.preset }),
    ...(handler.cwd === undefined ? {} : { cwd: context.resolvePath(handler.cwd) }),
    grants: handler.grants,
    retryExitCodes: handler.retry_exit_codes,
    extras: context.extras,
    onExecuted: context.onExecuted,
    ...(context.metrics === undefined ? {} : { metrics: context.metrics }),
  });
}
