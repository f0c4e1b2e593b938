// The config of command handlers (`type: command`): the program, its
// arguments and environment, and the limits of a run.

import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { outboundShape } from '../handlers/config-schema.js';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, _)');

export const commandHandlerSchema = z.strictObject({
  type: z.literal('command'),
  ...outboundShape,
  /** Absolute path of the program; no shell is involved. */
  command: z
    .string()
    .min(1)
    .refine((path) => isAbsolute(path), { message: 'must be an absolute path (no shell looks the program up)' }),
  /** Argument templates; each renders to exactly one argument. */
  args: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
  /** Environment variable templates. */
  env: z.record(envName, z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  /** Variables copied from Hookwork's environment (PATH always is). */
  env_passthrough: z.array(envName).default([]),
  /** Seconds between SIGTERM and SIGKILL after a timeout. */
  kill_grace: z.number().positive().default(5),
  /** Bytes kept of stdout and of stderr. */
  output_cap: z.number().int().positive().default(65_536),
  output_format: z.enum(['text', 'json']).default('text'),
  concurrency: z.number().int().positive().default(2),
  preset: z.enum(['sftpgo']).optional(),
  cwd: z.string().min(1).optional(),
  /** Exit codes that mean "try again later". */
  retry_exit_codes: z.array(z.number().int()).default([75]),
});

export type CommandHandlerConfig = z.output<typeof commandHandlerSchema>;
