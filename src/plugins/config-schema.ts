// Config schema owned by the plugins layer: where plugins live, which ones
// start (LUNA's active-plugins list), each one's own section (validated
// against the plugin's schema before it starts) and the lifecycle timeouts.

import { z } from 'zod';

export const pluginsConfigSchema = z.strictObject({
  /** The plugins folder, relative to the config file's folder. */
  folder: z.string().min(1).default('plugins'),
  /** The plugins to start, by name (LUNA's active-plugins list); others are discovered but not started. */
  active: z.array(z.string().min(1)).default([]),
  /** Each plugin's own section, by plugin name, validated against the plugin's configSchema. */
  config: z.record(z.string(), z.unknown()).default({}),
  /** Seconds a plugin's setup and start may take before it is marked failed. */
  start_timeout: z.number().positive().default(10),
  /** Seconds a plugin's stop may take, and its background tasks may take to end after their abort. */
  stop_timeout: z.number().positive().default(10),
});

export type PluginsConfig = z.output<typeof pluginsConfigSchema>;
