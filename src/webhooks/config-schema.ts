// The config of webhook handlers (`type: webhook`), Magpie-style `webhooks:`
// entries and callback URLs. Checks a schema cannot express (known actions,
// template placeholders) are in config/handler-checks.ts.

import { z } from 'zod';
import { targetDeliveryShape } from '../delivery/config-schema.js';
import { HANDLER_GRANTS, outboundShape } from '../handlers/config-schema.js';
import { HTTP_METHODS } from '../http/methods.js';
import { BODY_FORMATS } from './body-format.js';
import { decodeSecret } from '../http/signing.js';

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
  ...targetDeliveryShape,
});

/** A file or folder of files (YAML or JSON) whose `webhooks:` entries are appended to the config's. */
export const webhooksPathSchema = z.string().min(1).optional();

export const callbacksConfigSchema = z.strictObject({
  /** Seconds a callback URL stays valid. */
  ttl: z.number().positive().default(86_400),
  /** Handlers (by name) run when a receiver reports failure through its callback URL. */
  on_failure: z.array(z.string().min(1)).default([]),
});

export type WebhookHandlerConfig = z.output<typeof webhookHandlerSchema>;
export type MagpieWebhookConfig = z.output<typeof magpieWebhookSchema>;
