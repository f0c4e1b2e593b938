// The `actions:` section: which actions' post hooks run synchronously, and
// each declared action's options.

import { z } from 'zod';

export const actionOptionsSchema = z.strictObject({
  /** Post hooks run before the action returns (same as listing it in execute_sync). */
  execute_sync: z.boolean().optional(),
  /** Seconds the pre-<name> gate may take. */
  gate_timeout: z.number().positive().optional(),
  /** A pre-<name> gate that fails or times out lets the action go on. */
  fail_open: z.boolean().optional(),
  description: z.string().optional(),
});

export const actionsConfigSchema = z.strictObject({
  /** Actions whose post hooks run synchronously (SFTPGo's execute_sync). */
  execute_sync: z.array(z.string().min(1)).default([]),
  /** Per-action options; naming an action here also declares it. */
  options: z.record(z.string().min(1), actionOptionsSchema).default({}),
  /**
   * POST /v1/actions/:name/pre|post may declare an action nobody declared
   * (its event and pre-gate), up to auto_declare_max names. Off: such a name is a 404.
   */
  auto_declare: z.boolean().default(false),
  auto_declare_max: z.number().int().min(1).default(1000),
});

export type ActionsConfig = z.output<typeof actionsConfigSchema>;
