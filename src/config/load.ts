// Loads a config from a file, a folder of files, or the embedded default,
// and validates it as a whole.

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../runtime.js';
import type { HookworkConfig } from './schema.js';

export interface LoadedConfig {
  config: HookworkConfig;
  /** The folder relative paths in the config resolve against. */
  baseDir: string;
  /** The files read, in merge order. */
  files: readonly string[];
}

export async function loadConfig(path?: string): Promise<LoadedConfig> {
  if (path === undefined) {
    return { config: parseConfig({}), baseDir: process.cwd(), files: [] };
  }
  const file = resolve(path);
  const text = await readFile(file, 'utf8');
  const raw: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  return { config: parseConfig(raw), baseDir: dirname(file), files: [file] };
}
