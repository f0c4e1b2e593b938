// The whole config, as one zod schema: types and JSON Schema come from it.
// Each subsystem owns the schema of its own section (in its folder); this
// file only composes them. Unknown keys are errors everywhere (strictObject),
// so a typo is reported instead of silently ignored.

import { z } from 'zod';
import { deliveryConfigSchema, storeConfigSchema } from '../delivery/config-schema.js';
import { extensionHandlerSchema, extensionsConfigSchema } from '../extensions/config-schema.js';
import { pluginsConfigSchema } from '../plugins/config-schema.js';
import { actionsConfigSchema } from '../actions/config-schema.js';
import { commandHandlerSchema } from '../commands/config-schema.js';
import { emailHandlerSchema } from '../email/config-schema.js';
import { ssrfConfigSchema } from '../http/config-schema.js';
import { metricsConfigSchema } from '../metrics/config-schema.js';
import { schedulesConfigSchema } from '../schedules/config-schema.js';
import { ROLES } from '../roles.js';
import { callbacksConfigSchema, magpieWebhookSchema, webhookHandlerSchema, webhooksPathSchema } from '../webhooks/config-schema.js';

export const serverConfigSchema = z.strictObject({
  name: z.string().min(1).default('hookwork'),
  uuid: z.string().min(1).optional(),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Largest accepted request body, bytes; larger gets 413. */
  body_limit: z.number().int().positive().default(1_048_576),
  /**
   * Deepest nesting of arrays/objects a JSON request body may have (every
   * route, plugin routes included); deeper gets 400 HKW_ERR_JSON_TOO_DEEP.
   * Capped at 1000: validation and replies walk bodies recursively.
   */
  json_max_depth: z.number().int().min(1).max(1000).default(64),
  /** Where state lives (server uuid, SQLite store). Relative to the config file's folder. */
  data_dir: z.string().min(1).default('data'),
  /** Public base URL of the gateway, for callback URLs. */
  public_url: z.string().url().optional(),
});

export const authTokenSchema = z
  .strictObject({
    name: z.string().min(1),
    role: z.enum(ROLES),
    /** The token itself, or the name of an environment variable holding it. */
    token: z.string().min(16, 'tokens must be at least 16 characters').optional(),
    token_env: z.string().min(1).optional(),
  })
  .refine((t) => (t.token === undefined) !== (t.token_env === undefined), {
    message: 'give exactly one of "token" or "token_env"',
  });

export const authConfigSchema = z.strictObject({
  tokens: z.array(authTokenSchema).default([]),
  /**
   * When true (default), host-facing endpoints (events, gates, changes,
   * actions) need at least an operator token once any token is configured.
   */
  protect_host_endpoints: z.boolean().default(true),
});

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds, or a duration written with a unit (`90s`, `30m`, `8h`, `1d`), as seconds. */
const durationSeconds = z.union([
  z.number().positive(),
  z
    .string()
    .regex(/^\d+(?:\.\d+)?\s*[smhd]$/, 'must be a number of seconds or a duration such as 30m, 8h or 1d')
    .transform((text) => Number.parseFloat(text) * (DURATION_UNITS[text.trim().slice(-1)] as number)),
]);

/** The web console served at /ui/ and its sign-in sessions (server/sessions.ts). */
export const uiConfigSchema = z.strictObject({
  /** Serve the console at /ui/ and the session endpoints (default true); false removes those routes. */
  enabled: z.boolean().default(true),
  /** How long a console session lasts after sign-in: seconds, or a duration (`8h`, the default). */
  session_ttl: durationSeconds.default(8 * 3600),
});

export const eventDefinitionSchema = z.strictObject({
  id: z.union([z.string().min(1), z.number().int().transform(String)]),
  name: z.string().min(1),
  groups: z.array(z.string().min(1)).default([]),
  message: z.string().optional(),
  description: z.string().optional(),
  /** JSON Schema for the event's data. */
  data_schema: z.record(z.string(), z.unknown()).optional(),
});

export const gatePointSchema = z.strictObject({
  fail_open: z.boolean().default(false),
  timeout: z.number().positive().optional(),
});

export const changePointSchema = z.strictObject({
  mode: z.enum(['exclusive', 'chained']).default('chained'),
});

export const handlerSchema = z.discriminatedUnion('type', [
  extensionHandlerSchema,
  commandHandlerSchema,
  webhookHandlerSchema,
  emailHandlerSchema,
]);

export const configSchema = z.strictObject({
  server: serverConfigSchema.default(serverConfigSchema.parse({})),
  auth: authConfigSchema.default(authConfigSchema.parse({})),
  /** Unknown event ids are errors (default) or warnings. */
  strict: z.boolean().default(true),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` lines (for collectors) or `pretty` one-line human output. */
  log_format: z.enum(['json', 'pretty']).default('json'),
  events: z.array(eventDefinitionSchema).default([]),
  gates: z.record(z.string(), gatePointSchema).default({}),
  changes: z.record(z.string(), changePointSchema).default({}),
  plugins: pluginsConfigSchema.default(pluginsConfigSchema.parse({})),
  extensions: extensionsConfigSchema.default(extensionsConfigSchema.parse({})),
  handlers: z.array(handlerSchema).default([]),
  webhooks: z.array(magpieWebhookSchema).default([]),
  /** A file or folder of files whose `webhooks:` entries are appended (Magpie). */
  webhooks_path: webhooksPathSchema,
  actions: actionsConfigSchema.default(actionsConfigSchema.parse({})),
  ssrf: ssrfConfigSchema.default(ssrfConfigSchema.parse({})),
  callbacks: callbacksConfigSchema.default(callbacksConfigSchema.parse({})),
  store: storeConfigSchema.default(storeConfigSchema.parse({})),
  delivery: deliveryConfigSchema.default(deliveryConfigSchema.parse({})),
  metrics: metricsConfigSchema.default(metricsConfigSchema.parse({})),
  /** Operator schedules: an event on a cron expression. */
  schedules: schedulesConfigSchema.default([]),
  ui: uiConfigSchema.default(uiConfigSchema.parse({})),
});

/** The config as written (defaults optional). */
export type HookworkConfigInput = z.input<typeof configSchema>;
/** The config after validation, with every default filled in. */
export type HookworkConfig = z.output<typeof configSchema>;
export type HandlerConfig = z.output<typeof handlerSchema>;
export type EventDefinitionConfig = z.output<typeof eventDefinitionSchema>;

/** The config's JSON Schema (for editors and `hookwork schema`). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
