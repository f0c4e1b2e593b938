// A webhook's `tls`, `auth` and `proxy` settings turned into what its target
// sends with: the PEM texts (read from files or the environment when the
// target is built, so a missing one is a config problem at load or reload,
// not a failed delivery), the authorization header value, the OAuth2 token
// source. The values are secrets: they go into the target, never into a
// log line, a problem message or an admin reply.

import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { SsrfGuard } from '../http/ssrf-guard.js';
import type { TransportProfileOptions } from '../http/transport-profile.js';
import type { WebhookAuthConfig } from './config-schema.js';
import { OAuth2Token } from './oauth2.js';

export interface WebhookAuthContext {
  /** Where the webhook is in the config (`handlers.3`, `webhooks.0`), for problems. */
  readonly where: string;
  readonly env: NodeJS.ProcessEnv;
  readonly resolvePath: (path: string) => string;
  readonly ssrf: SsrfGuard;
  /** The webhook's request timeout, also the token request's. */
  readonly timeoutMs: number;
}

export interface WebhookAuth {
  readonly transport?: TransportProfileOptions;
  readonly authorization?: string;
  readonly oauth2?: OAuth2Token;
}

function fromEnv(context: WebhookAuthContext, key: string, variable: string, what: string): string {
  const value = context.env[variable];
  if (value === undefined || value === '') {
    throw new ConfigError([{ key: `${context.where}.${key}`, message: `the environment variable ${variable} is not set; set it to ${what}` }]);
  }
  return value;
}

function fromFile(context: WebhookAuthContext, key: string, path: string): string {
  try {
    return readFileSync(context.resolvePath(path), 'utf8');
  } catch (err) {
    throw new ConfigError([{ key: `${context.where}.${key}`, message: `cannot read ${path}: ${(err as Error).message}` }]);
  }
}

function pem(context: WebhookAuthContext, tls: NonNullable<WebhookAuthConfig['tls']>, part: 'cert' | 'key' | 'ca', what: string): string | undefined {
  const file = tls[`${part}_file`];
  if (file !== undefined) return fromFile(context, `tls.${part}_file`, file);
  const variable = tls[`${part}_env`];
  return variable === undefined ? undefined : fromEnv(context, `tls.${part}_env`, variable, what);
}

export function webhookAuthFromConfig(config: WebhookAuthConfig, context: WebhookAuthContext): WebhookAuth {
  const transport: { cert?: string; key?: string; ca?: string; proxy?: string } = {};
  if (config.tls !== undefined) {
    const cert = pem(context, config.tls, 'cert', 'the PEM client certificate');
    const key = pem(context, config.tls, 'key', 'the PEM private key of the client certificate');
    const ca = pem(context, config.tls, 'ca', 'the PEM CA certificates to trust');
    if (cert !== undefined) transport.cert = cert;
    if (key !== undefined) transport.key = key;
    if (ca !== undefined) transport.ca = ca;
  }
  if (config.proxy !== undefined && config.proxy_env !== undefined) {
    throw new ConfigError([{ key: `${context.where}.proxy`, message: 'set proxy or proxy_env, not both' }]);
  }
  const proxy = config.proxy ?? (config.proxy_env === undefined ? undefined : fromEnv(context, 'proxy_env', config.proxy_env, 'the proxy URL, e.g. http://user:pass@proxy:3128'));
  if (proxy !== undefined) transport.proxy = proxy;
  const auth = config.auth;
  const out: { transport?: TransportProfileOptions; authorization?: string; oauth2?: OAuth2Token } = {};
  if (Object.keys(transport).length > 0) out.transport = transport;
  if (auth?.type === 'basic') {
    const password = fromEnv(context, 'auth.password_env', auth.password_env, `the password of "${auth.username}"`);
    out.authorization = `Basic ${Buffer.from(`${auth.username}:${password}`).toString('base64')}`;
  } else if (auth?.type === 'bearer') {
    out.authorization = `Bearer ${fromEnv(context, 'auth.token_env', auth.token_env, 'the bearer token')}`;
  } else if (auth?.type === 'oauth2') {
    out.oauth2 = new OAuth2Token(
      {
        tokenUrl: auth.token_url,
        clientId: auth.client_id,
        clientSecret: fromEnv(context, 'auth.client_secret_env', auth.client_secret_env, `the client secret of "${auth.client_id}"`),
        ...(auth.scope === undefined ? {} : { scope: auth.scope }),
        ...(auth.audience === undefined ? {} : { audience: auth.audience }),
        ...(transport.ca === undefined ? {} : { ca: transport.ca }),
        timeoutMs: context.timeoutMs,
      },
      context.ssrf,
    );
  }
  return out;
}
