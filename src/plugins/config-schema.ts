// Config schema owned by the plugins layer. Issue #3 fills it in.

import { z } from 'zod';

export const pluginsConfigSchema = z.strictObject({
  folder: z.string().min(1).default('plugins'),
  /** The plugins to start, by name (LUNA's active-plugins list). */
  active: z.array(z.string().min(1)).default([]),
  /** Each plugin's own section, validated against the plugin's schema. */
  config: z.record(z.string(), z.unknown()).default({}),
});
