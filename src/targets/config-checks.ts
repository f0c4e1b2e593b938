// Checks of the targets' config that a schema cannot express: every action a
// webhook or handler follows must be known (a catalogue event or a declared
// action), handler names referenced elsewhere must exist, and templates may
// only name known context variables. Registered with the config checks so
// `hookwork validate` and every load run them; installTargets runs them again
// once the webhooks from `webhooks_path` are appended.

import type { ConfigProblem } from '../errors.js';
import { ENGINE_EVENT_DEFINITIONS } from '../events/engine-events.js';
import { registerTemplateCheck, templateProblems } from '../config/checks.js';
import type { HookworkConfig } from '../config/schema.js';
import type { MagpieWebhookConfig } from './config-schema.js';

/** Where a webhook entry came from (a `webhooks_path` file, or the config). */
export interface WebhookOrigin {
  readonly file?: string;
  readonly key: string;
}

/** Variables templates of command and webhook handlers may use besides the event's. */
export const TARGET_TEMPLATE_EXTRAS: readonly string[] = ['callback_url', 'handler', 'handler.name'];
const TEMPLATE_PREFIXES: readonly string[] = ['data', 'output'];

/** Event ids and names, plus declared actions: what `action:` and `actions:` may name. */
export function knownActions(config: Pick<HookworkConfig, 'events' | 'actions'>, extra: Iterable<string> = []): Set<string> {
  const known = new Set<string>(extra);
  for (const def of ENGINE_EVENT_DEFINITIONS) {
    known.add(def.id);
    known.add(def.name);
  }
  for (const event of config.events) {
    known.add(event.id);
    known.add(event.name);
  }
  for (const name of config.actions.execute_sync) known.add(name);
  for (const name of Object.keys(config.actions.options)) known.add(name);
  return known;
}

function describeKnown(known: ReadonlySet<string>): string {
  const list = [...known].filter((k) => !/^\d+$/.test(k)).sort();
  const shown = list.slice(0, 20).join(', ');
  return `${shown}${list.length > 20 ? ', …' : ''}`;
}

/** Every problem of the targets' part of a config; `webhooks` overrides config.webhooks (with files appended). */
export function targetsConfigProblems(
  config: HookworkConfig,
  options: { webhooks?: readonly MagpieWebhookConfig[]; origins?: readonly WebhookOrigin[]; knownExtra?: Iterable<string> } = {},
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const known = knownActions(config, options.knownExtra);
  const webhooks = options.webhooks ?? config.webhooks;
  const seen = new Map<string, number>();
  webhooks.forEach((hook, i) => {
    const origin = options.origins?.[i];
    const key = origin?.key ?? `webhooks.${i}`;
    const file = origin?.file === undefined ? {} : { file: origin.file };
    if (!known.has(hook.action)) {
      problems.push({
        ...file,
        key: `${key}.action`,
        message: `unknown action "${hook.action}"; declare it as an event (events:) or an action (actions.options), or use one of: ${describeKnown(known)}`,
      });
    }
    const first = seen.get(hook.name);
    if (first !== undefined) problems.push({ ...file, key: `${key}.name`, message: `the webhook name "${hook.name}" is already used by another webhook (${options.origins?.[first]?.file ?? 'the config'}, webhooks entry ${first})` });
    else seen.set(hook.name, i);
  });

  const handlerNames = new Set(config.handlers.map((h) => h.name));
  config.handlers.forEach((handler, i) => {
    if (handler.type !== 'command' && handler.type !== 'webhook') return;
    const where = `handlers.${i}`;
    for (const [j, action] of (handler.actions ?? []).entries()) {
      const base = action.startsWith('pre-') && !known.has(action) ? action.slice(4) : action;
      if (!known.has(base)) {
        problems.push({
          key: `${where}.actions.${j}`,
          message: `unknown action "${action}"; declare "${base}" as an event or in actions.options, or use one of: ${describeKnown(known)}`,
        });
      }
    }
    const check = (source: unknown, key: string): void => {
      problems.push(...templateProblems(source, key, { extra: TARGET_TEMPLATE_EXTRAS, prefixes: TEMPLATE_PREFIXES }));
    };
    if (handler.type === 'command') {
      handler.args?.forEach((arg, j) => check(arg, `${where}.args.${j}`));
      for (const [name, value] of Object.entries(handler.env)) check(value, `${where}.env.${name}`);
      handler.then.forEach((next, j) => {
        if (!handlerNames.has(next)) problems.push({ key: `${where}.then.${j}`, message: `no handler is named "${next}"` });
      });
    } else {
      check(handler.url, `${where}.url`);
      handler.fallback_urls.forEach((url, j) => check(url, `${where}.fallback_urls.${j}`));
      for (const [name, value] of Object.entries(handler.headers)) check(value, `${where}.headers.${name}`);
      if (handler.payload !== undefined) check(handler.payload, `${where}.payload`);
    }
  });
  config.callbacks.on_failure.forEach((name, j) => {
    if (!handlerNames.has(name) && !webhooks.some((w) => w.name === name)) {
      problems.push({ key: `callbacks.on_failure.${j}`, message: `no handler or webhook is named "${name}"` });
    }
  });
  return problems;
}

registerTemplateCheck(function targetsConfig(config) {
  return targetsConfigProblems(config);
});
