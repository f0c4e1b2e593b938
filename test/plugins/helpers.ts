// Shared set-up for the plugin tests: temp plugin folders, a quiet host,
// a manager over both, and a snapshot of every registration the host holds.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHost, silentLogger, type Host, type HostOptions } from '../../src/index.js';
import { PluginManager, type PluginManagerOptions } from '../../src/plugins/manager.js';

export interface Fixture {
  readonly folder: string;
  readonly host: Host;
  readonly manager: PluginManager;
  write(file: string, source: string): string;
  cleanup(): Promise<void>;
}

export function tempFolder(prefix = 'hookwork-plugins-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function fixture(
  options: Partial<Omit<PluginManagerOptions, 'host' | 'folder'>> & { hostOptions?: HostOptions; folder?: string } = {},
): Fixture {
  const folder = options.folder ?? tempFolder();
  const host = createHost({ logger: silentLogger(), strict: false, ...options.hostOptions });
  const manager = new PluginManager({ ...options, host, folder });
  return {
    folder,
    host,
    manager,
    write(file, source) {
      const path = join(folder, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, source);
      return path;
    },
    async cleanup() {
      await manager.close();
      await host.close();
      if (options.folder === undefined) rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Everything a plugin could leave behind in the host, as numbers. */
export function hostRegistrations(host: Host, manager: PluginManager, points: { gates?: string[]; changes?: string[]; methods?: string[] } = {}): Record<string, number | boolean> {
  const counts: Record<string, number | boolean> = {
    subscribers: host.notifier.size,
    routes: manager.routes.size,
    monitoring: host.monitor.enabled,
    sending: host.channels.sending.active,
  };
  for (const gate of points.gates ?? []) counts[`gate:${gate}`] = host.gates.count(gate);
  for (const change of points.changes ?? []) counts[`change:${change}`] = host.changes.count(change);
  for (const method of points.methods ?? []) counts[`method:${method}`] = host.methods.count(method);
  return counts;
}

/** The absolute URL of the library's entry, for plugin files written to temp folders. */
export const HOOKWORK_URL = new URL('../../src/index.ts', import.meta.url).href;

/** zod's URL, for plugin files in temp folders (outside node_modules' reach). */
export const ZOD_URL = import.meta.resolve('zod');
