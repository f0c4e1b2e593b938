// Config values from the environment, as container deployments set them:
// each HOOKWORK_* variable below sets one key, over what the files say, and
// is validated with the rest of the config (a problem names the variable).
// Applied by loadConfig when it is given an environment (the `hookwork`
// command gives it process.env); an embedder's loadConfig(path) reads files only.

import type { MergedConfig } from './load-merge.js';

export interface EnvSetting {
  readonly variable: string;
  /** The config key it sets, dotted. */
  readonly key: string;
  /** How the text becomes a value; a text that does not parse stays text, so validation names the problem. */
  readonly type: 'string' | 'integer' | 'boolean';
}

/** The mapping docs/config.md lists. */
export const ENV_SETTINGS: readonly EnvSetting[] = [
  { variable: 'HOOKWORK_NAME', key: 'server.name', type: 'string' },
  { variable: 'HOOKWORK_HOST', key: 'server.host', type: 'string' },
  { variable: 'HOOKWORK_PORT', key: 'server.port', type: 'integer' },
  { variable: 'HOOKWORK_PUBLIC_URL', key: 'server.public_url', type: 'string' },
  { variable: 'HOOKWORK_DATA_DIR', key: 'server.data_dir', type: 'string' },
  { variable: 'HOOKWORK_BODY_LIMIT', key: 'server.body_limit', type: 'integer' },
  { variable: 'HOOKWORK_STORE_URL', key: 'store.url', type: 'string' },
  { variable: 'HOOKWORK_STORE_POOL_SIZE', key: 'store.pool_size', type: 'integer' },
  { variable: 'HOOKWORK_LOG_LEVEL', key: 'log_level', type: 'string' },
  { variable: 'HOOKWORK_STRICT', key: 'strict', type: 'boolean' },
  { variable: 'HOOKWORK_PLUGINS_FOLDER', key: 'plugins.folder', type: 'string' },
  { variable: 'HOOKWORK_EXTENSIONS_FOLDER', key: 'extensions.folder', type: 'string' },
];

function parse(text: string, type: EnvSetting['type']): unknown {
  if (type === 'integer' && /^\d+$/.test(text)) return Number(text);
  if (type === 'boolean' && /^(true|false|1|0)$/i.test(text)) return /^(true|1)$/i.test(text);
  return text;
}

/** Where a value set from the environment came from, as problems show it (in place of a file). */
export const envOrigin = (variable: string): string => `environment variable ${variable}`;

/** The merged files with the environment's values over them; unset and empty variables change nothing. */
export function applyEnv(merged: MergedConfig, env: NodeJS.ProcessEnv): MergedConfig {
  let value = merged.value;
  const origins = new Map(merged.origins);
  for (const setting of ENV_SETTINGS) {
    const text = env[setting.variable];
    if (text === undefined || text === '') continue;
    const path = setting.key.split('.');
    // Copies each section on the path, so the sources' own objects stay as parsed.
    const root: Record<string, unknown> = { ...value };
    let node = root;
    for (const part of path.slice(0, -1)) {
      const child = node[part];
      const copy = child !== null && typeof child === 'object' && !Array.isArray(child) ? { ...(child as Record<string, unknown>) } : {};
      node[part] = copy;
      node = copy;
    }
    node[path[path.length - 1] as string] = parse(text, setting.type);
    value = root;
    origins.set(setting.key, envOrigin(setting.variable));
  }
  return { ...merged, value, origins };
}
