// A runtime over a temp data folder, closed and removed by the test's cleanup.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { HookworkConfigInput } from '../../src/config/schema.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';

export async function testRuntime(t: TestContext, config: HookworkConfigInput, logger: Logger = silentLogger()): Promise<Runtime> {
  const dir = mkdtempSync(join(tmpdir(), 'hookwork-targets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const runtime = await createRuntime({
    logger,
    baseDir: dir,
    config: { ...config, server: { data_dir: join(dir, 'data'), ...(config.server ?? {}) } },
  });
  t.after(() => runtime.close());
  return runtime;
}
