// Webhook handlers and Magpie `webhooks` of the config as the WebhookTargets
// that send them, with the `callback_url` their templates may read.

import type { TemplateExtras } from '../handlers/target.js';
import type { Callbacks } from './callbacks.js';
import type { MagpieWebhookConfig, WebhookHandlerConfig } from './config-schema.js';
import { WebhookTarget, type WebhookDeps } from './sender.js';
import { webhookAuthFromConfig, type WebhookAuthContext } from './auth-from-config.js';

/** Where a webhook's secrets (tls, auth, proxy_env) are read from, and where it is in the config. */
export type WebhookSecretsContext = Omit<WebhookAuthContext, 'ssrf' | 'timeoutMs'>;

const NO_SECRETS: WebhookSecretsContext = { where: 'webhook', env: {}, resolvePath: (path) => path };

/** `handler` for the templates, and `callback_url`, issued only when a template reads it. */
export function callbackExtras(callbacks: Callbacks, targetName: string, handlerName: string): TemplateExtras {
  const handler = Object.freeze({ name: handlerName });
  return (event, context) => ({
    handler,
    get callback_url(): string {
      const account = (event['account'] ?? {}) as Record<string, unknown>;
      return callbacks.urlFor({
        target: targetName,
        webhookId: context.webhookId,
        eventId: String(event['id'] ?? ''),
        eventUuid: String(event['uuid'] ?? ''),
        eventName: String(event['name'] ?? ''),
        accountName: String(account['name'] ?? ''),
        accountUuid: String(account['uuid'] ?? ''),
      });
    },
  });
}

export function webhookTargetFromHandler(handler: WebhookHandlerConfig, name: string, extras: TemplateExtras, deps: WebhookDeps, secrets: WebhookSecretsContext = NO_SECRETS): WebhookTarget {
  const auth = webhookAuthFromConfig(handler, { ...secrets, ssrf: deps.ssrf, timeoutMs: handler.timeout * 1000 });
  return new WebhookTarget(
    {
      ...auth,
      name,
      url: handler.url,
      fallbackUrls: handler.fallback_urls,
      method: handler.method,
      headers: handler.headers,
      format: handler.format,
      payload: handler.payload,
      timeoutMs: handler.timeout * 1000,
      ...(handler.success_status === undefined ? {} : { successStatus: handler.success_status }),
      secrets: handler.secrets,
      grants: handler.grants,
      concurrency: handler.concurrency,
      extras,
    },
    deps,
  );
}

/** A Magpie webhook: sends the event's `data` as the root of the body. */
export function webhookTargetFromMagpie(hook: MagpieWebhookConfig, name: string, extras: TemplateExtras, deps: WebhookDeps, secrets: WebhookSecretsContext = NO_SECRETS): WebhookTarget {
  const auth = webhookAuthFromConfig(hook, { ...secrets, ssrf: deps.ssrf, timeoutMs: (hook.timeout ?? 30) * 1000 });
  return new WebhookTarget(
    {
      ...auth,
      name,
      url: hook.url,
      ...(hook.fallback_urls === undefined ? {} : { fallbackUrls: hook.fallback_urls }),
      method: hook.method,
      ...(hook.headers === undefined ? {} : { headers: hook.headers }),
      format: hook.format ?? 'json',
      payload: hook.payload,
      ...(hook.timeout === undefined ? {} : { timeoutMs: hook.timeout * 1000 }),
      ...(hook.success_status === undefined ? {} : { successStatus: hook.success_status }),
      ...(hook.secrets === undefined ? {} : { secrets: hook.secrets }),
      ...(hook.grants === undefined ? {} : { grants: hook.grants }),
      extras,
      dataAsRoot: true,
    },
    deps,
  );
}
