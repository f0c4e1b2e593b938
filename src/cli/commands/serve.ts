// `hookwork serve [--config PATH] [--port N] [--host H]`: loads the config
// (or the embedded default), builds the runtime and the gateway, listens, and
// closes gracefully on SIGINT/SIGTERM. Prints one parseable line on stdout:
// `hookwork listening on http://HOST:PORT`. A refused config prints every
// problem and exits 2. SIGHUP reloads the config (here and on every other
// node); a refused reload is logged and the running config stays.

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import { loadConfig } from '../../config/load.js';
import { ConfigError, formatConfigProblem } from '../../errors.js';
import { createRuntime, type Runtime } from '../../runtime/runtime.js';
import { createGateway, type Gateway } from '../../server/gateway.js';
import { startTraceExport } from '../otel.js';

export interface ServeOptions {
  config?: string;
  /** HOOKWORK_* variables applied over the config files (docs/config.md); default: process.env. */
  env?: NodeJS.ProcessEnv;
  port?: number;
  host?: string;
}

/** Exit codes: 0 clean stop, 1 failure while running, 2 a refused config or bad arguments. */
export const EXIT_CONFIG = 2;

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new CommanderArgumentError(`"${value}" is not a port (0-65535).`);
  return port;
}

export interface RunningServer {
  readonly runtime: Runtime;
  readonly gateway: Gateway;
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the gateway (without signal handling): for `serve` and for embedding in tests. */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const loaded = await loadConfig(options.config, { env });
  const runtime = await createRuntime({
    config: loaded.config,
    baseDir: loaded.baseDir,
    readConfig: async () => (await loadConfig(options.config, { env })).config,
    ...(options.config === undefined ? {} : { configFile: { path: resolve(options.config), env } }),
  });
  let gateway: Gateway;
  try {
    gateway = await createGateway(runtime, {
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.host === undefined ? {} : { host: options.host }),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  let url: string;
  try {
    url = await gateway.listen();
  } catch (err) {
    await gateway.close().catch(() => undefined);
    await runtime.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    gateway,
    url,
    stop() {
      stopping ??= (async () => {
        try {
          await gateway.close();
        } finally {
          await runtime.close();
        }
      })();
      return stopping;
    },
  };
}

function reportConfigError(err: ConfigError): void {
  process.stderr.write(`hookwork: the config was refused (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}):\n`);
  for (const problem of err.problems) process.stderr.write(`  - ${formatConfigProblem(problem)}\n`);
}

export async function serve(options: ServeOptions): Promise<void> {
  // Before the runtime, so its first spans (plugin start, the first events) are exported too.
  const stopTraces = await startTraceExport();
  const flushTraces = async (): Promise<void> => {
    await stopTraces?.().catch((err: unknown) => process.stderr.write(`hookwork: flushing traces failed: ${(err as Error).message}\n`));
  };
  let server: RunningServer;
  try {
    server = await startServer(options);
  } catch (err) {
    await flushTraces();
    if (err instanceof ConfigError) {
      reportConfigError(err);
      process.exitCode = EXIT_CONFIG;
      return;
    }
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      process.stderr.write(`hookwork: cannot read the config: ${(err as Error).message}\n`);
      process.exitCode = EXIT_CONFIG;
      return;
    }
    throw err;
  }
  server.runtime.logger.info({ url: server.url }, `Hookwork gateway listening on ${server.url}`);
  process.stdout.write(`hookwork listening on ${server.url}\n`);

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // A second signal while closing: stop waiting.
      process.exit(1);
    }
    signalled = true;
    server.runtime.logger.info({ signal }, `Received ${signal}; closing`);
    server.stop().then(flushTraces).then(
      () => {
        process.stdout.write('hookwork stopped\n');
        process.exitCode = 0;
      },
      (err: unknown) => {
        server.runtime.logger.error({ err }, 'Closing failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  process.on('SIGHUP', () => {
    if (signalled) return;
    const { runtime } = server;
    const reload = runtime.services.control?.reloadConfig() ?? runtime.reload();
    reload.then(
      (report) => process.stdout.write(`hookwork reloaded the config (${report.applied.join(', ') || 'nothing changed'})\n`),
      (err: unknown) => {
        if (err instanceof ConfigError) reportConfigError(err);
        else runtime.logger.error({ err }, 'The config reload failed');
      },
    );
  });
}

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('Start the gateway (POST /v1/events, /v1/gates/:name, /v1/changes/:name; GET /v1/health).')
    .option('-c, --config <path>', 'a config file (YAML, JSON or INI) or a folder of them; default: the embedded default config')
    .option('-p, --port <n>', 'the port to listen on (0 picks a free one); overrides server.port', parsePort)
    .option('-H, --host <host>', 'the address to listen on; overrides server.host')
    .action(async (options: ServeOptions) => {
      await serve(options);
    });
}
