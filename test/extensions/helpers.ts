// Shared helpers for the extension tests: a runtime in a temp data folder,
// an event recorder.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HookworkConfig, HookworkConfigInput } from '../../src/config/schema.js';
import type { HookworkEvent } from '../../src/events/envelope.js';
import { silentLogger } from '../../src/logger.js';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.js';

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

export interface TestRuntime {
  runtime: Runtime;
  /** Every event emitted since start, in order. */
  events: HookworkEvent[];
  /** Events a handler emitted (results and failures), by its name. */
  from(handler: string): HookworkEvent[];
  close(): Promise<void>;
}

/** Starts a runtime with a temp data folder; records every event. */
export async function startRuntime(config: HookworkConfig | HookworkConfigInput, baseDir: string): Promise<TestRuntime> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookwork-ext-'));
  const input = { ...config, server: { ...(config.server ?? {}), data_dir: dataDir } } as HookworkConfigInput;
  const runtime = await createRuntime({ config: input, baseDir, logger: silentLogger() });
  const events: HookworkEvent[] = [];
  runtime.host.on('*', (event) => {
    events.push(event);
  });
  return {
    runtime,
    events,
    from: (handler) => events.filter((e) => e.component.type === 'extension' && e.component.name === handler),
    async close() {
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
