// `hookwork openapi [--config PATH]`: prints the gateway's OpenAPI 3.1
// document (what GET /v1/openapi.json serves) without listening. It builds a
// gateway on the config (default: the embedded one) with nothing that acts
// outside the process: an in-memory store in a throwaway data folder, no
// plugins and no handlers started. The routes, and so the document, do not
// depend on those.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { silentLogger } from '../../logger.js';
import { createRuntime } from '../../runtime/runtime.js';
import { createGateway } from '../../server/gateway.js';
import { openApiDocument } from '../../server/openapi.js';
import { EXIT_OK, exitWith } from '../exit-codes.js';
import type { Out } from '../remote-options.js';

/** The document, built from the config at `configPath` (the embedded default when undefined). */
export async function buildOpenApiDocument(configPath?: string): Promise<Record<string, unknown>> {
  const { config, baseDir } = await loadConfig(configPath, { env: process.env });
  const dataDir = await mkdtemp(join(tmpdir(), 'hookwork-openapi-'));
  try {
    const runtime = await createRuntime({
      config: {
        ...config,
        server: { ...config.server, data_dir: dataDir },
        store: { ...config.store, url: 'memory' },
        plugins: { ...config.plugins, active: [] },
        handlers: [],
        webhooks: [],
      },
      baseDir,
      logger: silentLogger(),
    });
    try {
      const gateway = await createGateway(runtime);
      try {
        await gateway.app.ready();
        return openApiDocument(gateway.app);
      } finally {
        await gateway.close();
      }
    } finally {
      await runtime.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function runOpenApi(options: { config?: string }, out: Out = (line) => process.stdout.write(`${line}\n`)): Promise<number> {
  out(JSON.stringify(await buildOpenApiDocument(options.config), null, 2));
  return EXIT_OK;
}

export function openapiCommand(program: Command): void {
  program
    .command('openapi')
    .description("Print the gateway's OpenAPI 3.1 document (as GET /v1/openapi.json serves it) without starting it")
    .option('-c, --config <path>', 'the config to build the gateway from; default: the embedded default config')
    .action(async (options: { config?: string }) => exitWith(runOpenApi(options)));
}
