// Runs the example plugins in examples/plugins against the demo host.

import { fileURLToPath } from 'node:url';
import { PluginManager } from '../../../src/plugins/manager.js';
import { DemoHost } from '../../../examples/plugins/demo-host.js';
import { captureLogger, type CaptureLogger } from '../../helpers/capture-logger.js';

export const EXAMPLES = fileURLToPath(new URL('../../../examples/plugins/', import.meta.url));

export interface Demo {
  readonly demo: DemoHost;
  readonly manager: PluginManager;
  readonly logger: CaptureLogger;
  /** Log messages at a level, optionally of one plugin. */
  messages(level: string, plugin?: string): string[];
}

export async function startDemo(
  t: { after(fn: () => Promise<void>): void },
  plugins: string[],
  config: Record<string, unknown> = {},
): Promise<Demo> {
  const logger = captureLogger();
  const demo = new DemoHost({ logger });
  const manager = new PluginManager({ host: demo.host, folder: EXAMPLES, config, startTimeoutMs: 5000, stopTimeoutMs: 2000 });
  t.after(async () => {
    await manager.close();
    await demo.close();
  });
  for (const name of plugins) await manager.load(name);
  return {
    demo,
    manager,
    logger,
    messages: (level, plugin) =>
      logger.lines
        .filter((l) => l.level === level && (plugin === undefined || ((l.obj as { plugin?: string }).plugin === plugin && (l.obj as { component?: string }).component === undefined)))
        .map((l) => l.msg ?? ''),
  };
}
