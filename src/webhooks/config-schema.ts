// The config of webhook handlers (`type: webhook`), Magpie-style `webhooks:`
// entries and callback URLs. Checks a schema cannot express (known actions,
// template placeholders) are in config/handler-checks.ts.

import { z } from 'zod';
import { targetDeliveryShape } from '../delivery/config-schema.js';
import { HANDLER_GRANTS, outboundShape } from '../handlers/config-schema.js';
import { HTTP_METHODS } from '../http/methods.js';
import { BODY_FORMATS } from './body-format.js';
import { checkSigningSecret } from '../http/signing.js';

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
    checkSigningSecret(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const status = z.number().int().min(100).max(599);
const successStatus = z
  .union([status, z.array(status).min(1)])
  .transform((value) => (Array.isArray(value) ? value : [value]))
  .optional();


/** The name of an environment variable: the value itself is never in the config. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/** mTLS and trusted CAs: each PEM from a file or an environment variable. */
const tlsSchema = z
  .strictObject({
    cert_file: z.string().min(1).optional(),
    cert_env: envName.optional(),
    key_file: z.string().min(1).optional(),
    key_env: envName.optional(),
    /** CAs trusted instead of Node's defaults (a private CA). */
    ca_file: z.string().min(1).optional(),
    ca_env: envName.optional(),
  })
  .superRefine((tls, ctx) => {
    for (const part of ['cert', 'key', 'ca'] as const) {
      if (tls[`${part}_file`] !== undefined && tls[`${part}_env`] !== undefined) ctx.addIssue({ code: 'custom', message: `set ${part}_file or ${part}_env, not both` });
    }
    const cert = tls.cert_file !== undefined || tls.cert_env !== undefined;
    const key = tls.key_file !== undefined || tls.key_env !== undefined;
    if (cert !== key) ctx.addIssue({ code: 'custom', message: 'a client certificate needs its key and a key its certificate (cert_file/cert_env with key_file/key_env)' });
  });

const authSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1), password_env: envName }),
  z.strictObject({ type: z.literal('bearer'), token_env: envName }),
  z.strictObject({
    type: z.literal('oauth2'),
    token_url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
    client_id: z.string().min(1),
    client_secret_env: envName,
    scope: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
  }),
]);

/** `http://host:port`; credentials only through proxy_env. */
const proxyUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http(s) URL such as http://proxy.internal:3128' })
  .refine((url) => new URL(url).username === '' && new URL(url).password === '', {
    message: 'must not carry credentials (the config is shown by the admin API): put the whole URL in an environment variable and name it in proxy_env',
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
  /** Client certificate (mTLS) and trusted CAs. */
  tls: tlsSchema.optional(),
  /** Basic, bearer (from the environment) or OAuth2 client credentials. */
  auth: authSchema.optional(),
  /** An outbound HTTP proxy (CONNECT). */
  proxy: proxyUrl.optional(),
  /** The environment variable holding the proxy URL (when it carries credentials). */
  proxy_env: envName.optional(),
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
  tls: webhookShape.tls,
  auth: webhookShape.auth,
  proxy: webhookShape.proxy,
  proxy_env: webhookShape.proxy_env,
});

/** A file or folder of files (YAML or JSON) whose `webhooks:` entries are appended to the config's. */
export const webhooksPathSchema = z.string().min(1).optional();

export const callbacksConfigSchema = z.strictObject({
  /** Seconds a callback URL stays valid. */
  ttl: z.number().positive().default(86_400),
  /** Handlers (by name) run when a receiver reports failure through its callback URL. */
  on_failure: z.array(z.string().min(1)).default([]),
});

/** What a webhook's authentication and transport are configured as (both kinds of webhook share it). */
export interface WebhookAuthConfig {
  readonly tls?: z.output<typeof tlsSchema> | undefined;
  readonly auth?: z.output<typeof authSchema> | undefined;
  readonly proxy?: string | undefined;
  readonly proxy_env?: string | undefined;
}

export type WebhookHandlerConfig = z.output<typeof webhookHandlerSchema>;
export type MagpieWebhookConfig = z.output<typeof magpieWebhookSchema>;
