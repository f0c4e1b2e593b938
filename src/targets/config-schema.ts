// Config schemas owned by the targets layer: command and webhook handlers,
// Magpie-style webhooks, actions, SSRF and callbacks. Checks a schema cannot
// express (known actions, template placeholders) are in config-checks.ts,
// registered from here so every config load runs them.

import { isAbsolute } from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { HANDLER_GRANTS, handlerBaseShape } from '../handlers/config-schema.js';
import { BODY_FORMATS } from './body-format.js';
import { decodeSecret } from './signing.js';
import { HTTP_METHODS } from './webhook-sender.js';
// Registers the targets' config checks (known actions, handler references, template placeholders).
import './config-checks.js';

const PLACEHOLDER = /\{\{[^}]*\}\}/g;

/** Why a URL template cannot work (no http(s) scheme or no host), or undefined. */
export function urlTemplateProblem(url: string): string | undefined {
  // Placeholders may fill the path or query; scheme and host must be there as written.
  const probe = url.replace(PLACEHOLDER, 'x');
  let parsed: URL;
  try {
    parsed = new URL(probe);
  } catch {
    return `"${url}" is not an absolute URL; write it with a scheme and a host, e.g. https://hooks.example.com/path`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `"${url}" must use http: or https:`;
  if (parsed.hostname === '') return `"${url}" has no host`;
  return undefined;
}

const urlTemplate = z
  .string()
  .min(1, 'must not be empty')
  .superRefine((url, ctx) => {
    const problem = urlTemplateProblem(url);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const method = z
  .string()
  .min(1, 'must not be empty')
  .transform((m) => m.toUpperCase())
  .pipe(z.enum(HTTP_METHODS, { message: `must be one of ${HTTP_METHODS.join(', ')}` }));

const secret = z.string().superRefine((value, ctx) => {
  try {
    decodeSecret(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const status = z.number().int().min(100).max(599);
const successStatus = z
  .union([status, z.array(status).min(1)])
  .transform((value) => (Array.isArray(value) ? value : [value]))
  .optional();

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, _)');

/** What a handler does as a gate (`pre-*` actions): SFTPGo's rules by default. */
export const gateBehaviourSchema = z.strictObject({
  /** Success (exit 0, accepted status) allows the action, or marks it handled (SFTPGo's pre-delete). */
  on_success: z.enum(['allow', 'handled']).default('allow'),
  /** Failure denies the action, or lets it go on (pre-delete). */
  on_failure: z.enum(['deny', 'allow']).default('deny'),
});

/** Fields command and webhook handlers share. */
const outboundShape = {
  ...handlerBaseShape,
  /**
   * Actions and events this handler follows, by name or id: `pre-upload` makes
   * it a gate of that action; `upload` a post hook (an event like any other).
   */
  actions: z.array(z.string().min(1)).optional(),
  /** Run inline (in emit, or in the action's call) instead of through the delivery queue. */
  sync: z.boolean().default(false),
  /** Seconds per run. */
  timeout: z.number().positive().default(30),
  gate: gateBehaviourSchema.optional(),
  /** Secret context paths the templates may read. */
  grants: z.array(z.enum(HANDLER_GRANTS)).default([]),
};

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
  /** Handlers to run after this one succeeds, with its parsed stdout as `output`. */
  then: z.array(z.string().min(1)).default([]),
});

const webhookShape = {
  /** URL template. */
  url: urlTemplate,
  fallback_urls: z.array(urlTemplate).default([]),
  method: method.default('POST'),
  headers: z.record(z.string().min(1), z.union([z.string(), z.number()]).transform(String)).default({}),
  /** `string` is Magpie's name for text. */
  format: z
    .enum([...BODY_FORMATS, 'string'])
    .transform((f) => (f === 'string' ? 'text' : f))
    .default('json'),
  /** Body template; without it a json body is the event itself. */
  payload: z.unknown().optional(),
  /** Seconds per request. */
  timeout: z.number().positive().default(30),
  /** Statuses that count as success; default any 2xx (SFTPGo compatibility: 200). */
  success_status: successStatus,
  /** `whsec_…` secrets; several at once while rotating. */
  secrets: z.array(secret).default([]),
  concurrency: z.number().int().positive().default(16),
};

export const webhookHandlerSchema = z.strictObject({
  type: z.literal('webhook'),
  ...outboundShape,
  ...webhookShape,
});

/** A Magpie `webhooks:` entry, with Hookwork's optional extras. */
export const magpieWebhookSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty'),
  /** The event (action) that triggers it, by catalogue name or id. */
  action: z.string().trim().min(1, 'must not be empty'),
  method: z.string().pipe(method),
  url: z.string().pipe(urlTemplate),
  format: webhookShape.format.optional(),
  payload: z.unknown().optional(),
  headers: webhookShape.headers.optional(),
  secrets: webhookShape.secrets.optional(),
  timeout: z.number().positive().optional(),
  success_status: successStatus,
  fallback_urls: z.array(urlTemplate).optional(),
  grants: z.array(z.enum(HANDLER_GRANTS)).optional(),
});

/** A file or folder of files (YAML or JSON) whose `webhooks:` entries are appended to the config's. */
export const webhooksPathSchema = z.string().min(1).optional();

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

export const ssrfConfigSchema = z.strictObject({
  /** CIDRs webhooks may reach although they are loopback/private/metadata (e.g. 127.0.0.1/32). */
  allow: z
    .array(
      z.string().superRefine((value, ctx) => {
        if (!ipaddr.isValidCIDR(value) && !ipaddr.isValid(value)) {
          ctx.addIssue({ code: 'custom', message: `"${value}" is not a CIDR (e.g. 10.0.0.0/8, 127.0.0.1/32, fd00::/8)` });
        }
      }),
    )
    .default([]),
});

export const callbacksConfigSchema = z.strictObject({
  /** Seconds a callback URL stays valid. */
  ttl: z.number().positive().default(86_400),
  /** Handlers (by name) run when a receiver reports failure through its callback URL. */
  on_failure: z.array(z.string().min(1)).default([]),
});

export type CommandHandlerConfig = z.output<typeof commandHandlerSchema>;
export type WebhookHandlerConfig = z.output<typeof webhookHandlerSchema>;
export type MagpieWebhookConfig = z.output<typeof magpieWebhookSchema>;
export type ActionsConfig = z.output<typeof actionsConfigSchema>;
export type CallbacksConfig = z.output<typeof callbacksConfigSchema>;
