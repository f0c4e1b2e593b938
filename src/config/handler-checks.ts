// Checks of the targets' config that a schema cannot express: every action a
// webhook or handler follows must be known (a catalogue event or a declared
// action), handler names referenced elsewhere must exist, and templates may
// only name known context variables. In the list of run-checks.ts, so
// `hookwork validate` and every load run them, on the config's webhooks and
// those of the `webhooks_path` files; installTargets runs them again on the
// webhooks it loads itself.

import type { ConfigProblem } from '../errors.js';
import { ENGINE_EVENT_DEFINITIONS } from '../events/engine-events.js';
import { secretPlaceholders, templateProblems, type ConfigCheck } from './checks.js';
import type { HookworkConfig } from './schema.js';
import type { MagpieWebhookConfig } from '../webhooks/config-schema.js';
import type { EmailHandlerConfig } from '../email/config-schema.js';

/** A queued handler's delivery controls: a sync one never meets the queue. */
const QUEUE_CONTROLS = ['rate_limit', 'retry_schedule', 'circuit_breaker', 'endpoint_failure_disable_after', 'max_pending'] as const;

/** Where a webhook entry came from (a `webhooks_path` file, or the config). */
export interface WebhookOrigin {
  readonly file?: string;
  readonly key: string;
}

/** Variables templates of command and webhook handlers may use besides the event's. */
export const TARGET_TEMPLATE_EXTRAS: readonly string[] = ['callback_url', 'handler', 'handler.name'];
const TEMPLATE_PREFIXES: readonly string[] = ['data', 'output'];
/** What the templates of a digest handler see instead of one event (docs/delivery.md#digests). */
const DIGEST_TEMPLATE_EXTRAS: readonly string[] = [...TARGET_TEMPLATE_EXTRAS, 'events', 'count', 'events_list'];
const DIGEST_TEMPLATE_PREFIXES: readonly string[] = [...TEMPLATE_PREFIXES, 'events'];

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

/** A Magpie webhook entry as written (valid or not), and where it is. */
export interface WebhookEntry {
  readonly value: unknown;
  /** The `webhooks_path` file it is in; none for the config's own `webhooks:`. */
  readonly file?: string;
  /** Its key (`webhooks.0`): in its own file, or in the config. */
  readonly key: string;
}

function trimmedString(entry: unknown, member: string): string | undefined {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return undefined;
  const value = (entry as Record<string, unknown>)[member];
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Without the grant a secret stays the literal placeholder: it would go out as "{{account.token}}". */
function ungrantedSecrets(source: unknown, key: string, granted: ReadonlySet<string>, owner: string, file?: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const secret of secretPlaceholders(source)) {
    if (granted.has(secret)) continue;
    problems.push({
      ...(file === undefined ? {} : { file }),
      key,
      message: `{{${secret}}} is a secret and renders only where it is granted; add "grants: [${secret}]" to ${owner}, or remove the placeholder`,
    });
  }
  return problems;
}

/** The templates of a webhook (a webhook handler, or a Magpie entry as written), by key under it. */
function webhookTemplates(value: unknown): Array<[string, unknown]> {
  if (value === null || typeof value !== 'object') return [];
  const entry = value as Record<string, unknown>;
  const out: Array<[string, unknown]> = [];
  if (typeof entry['url'] === 'string') out.push(['url', entry['url']]);
  if (Array.isArray(entry['fallback_urls'])) entry['fallback_urls'].forEach((url, j) => typeof url === 'string' && out.push([`fallback_urls.${j}`, url]));
  const headers = entry['headers'];
  if (headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
    for (const [name, header] of Object.entries(headers)) if (typeof header === 'string') out.push([`headers.${name}`, header]);
  }
  if (entry['payload'] !== undefined) out.push(['payload', entry['payload']]);
  return out;
}

/** The templates of an e-mail handler, by key under it. */
function emailTemplates(handler: EmailHandlerConfig): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [['from', handler.from], ['subject', handler.subject]];
  for (const field of ['to', 'cc', 'bcc'] as const) handler[field]?.forEach((address, j) => out.push([`${field}.${j}`, address]));
  if (handler.text !== undefined) out.push(['text', handler.text]);
  if (handler.html !== undefined) out.push(['html', handler.html]);
  handler.attachments.forEach((a, j) => {
    out.push([`attachments.${j}.path`, a.path]);
    if (a.filename !== undefined) out.push([`attachments.${j}.filename`, a.filename]);
  });
  return out;
}

/**
 * The checks of Magpie webhook entries a schema cannot express: an unknown
 * action, a name used twice. They run on every entry as written, also on
 * entries that fail their schema, so one round lists every problem (the
 * schema's own problems are reported by whoever parsed the entries).
 */
export function magpieWebhookProblems(
  entries: readonly WebhookEntry[],
  known: ReadonlySet<string>,
  placeOf: (key: string) => string = (key) => key,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, WebhookEntry>();
  for (const entry of entries) {
    const file = entry.file === undefined ? {} : { file: entry.file };
    const action = trimmedString(entry.value, 'action');
    if (action !== undefined && !known.has(action)) {
      problems.push({
        ...file,
        key: `${entry.key}.action`,
        message: `unknown action "${action}"; declare it as an event (events:) or an action (actions.options), or use one of: ${describeKnown(known)}`,
      });
    }
    const name = trimmedString(entry.value, 'name');
    const grants = (entry.value as { grants?: unknown } | null)?.grants;
    const granted = new Set<string>(Array.isArray(grants) ? grants.filter((g): g is string => typeof g === 'string') : []);
    for (const [sub, source] of webhookTemplates(entry.value)) {
      problems.push(...ungrantedSecrets(source, `${entry.key}.${sub}`, granted, `webhook "${name ?? entry.key}"`, entry.file));
    }
    if (name === undefined) continue;
    const first = seen.get(name);
    if (first === undefined) {
      seen.set(name, entry);
      continue;
    }
    const where = first.file === undefined ? placeOf(`${first.key}.name`) : `${first.file}: ${first.key}.name`;
    problems.push({ ...file, key: `${entry.key}.name`, message: `the webhook name "${name}" is already used by another webhook (${where}); names must be unique` });
  }
  return problems;
}

export interface TargetsCheckOptions {
  /** Validated webhooks (config and files together); overrides config.webhooks. */
  webhooks?: readonly MagpieWebhookConfig[];
  /** Where each of `webhooks` came from. */
  origins?: readonly WebhookOrigin[];
  /** Every Magpie entry as written, valid or not; overrides `webhooks`, so each entry is checked. */
  entries?: readonly WebhookEntry[];
  /** Action names known besides the config's events and actions. */
  knownExtra?: Iterable<string>;
  /** Handler names besides config.handlers' (e.g. of handlers that failed their schema). */
  handlerNames?: Iterable<string>;
  /** `file: key` of a config key, for messages naming another place. */
  placeOf?: (key: string) => string;
}

/** Every problem of the targets' part of a config; `webhooks` or `entries` override config.webhooks (with files appended). */
export function targetsConfigProblems(config: HookworkConfig, options: TargetsCheckOptions = {}): ConfigProblem[] {
  const known = knownActions(config, options.knownExtra);
  const entries: readonly WebhookEntry[] =
    options.entries ??
    (options.webhooks ?? config.webhooks).map((hook, i) => {
      const origin = options.origins?.[i];
      return { value: hook, key: origin?.key ?? `webhooks.${i}`, ...(origin?.file === undefined ? {} : { file: origin.file }) };
    });
  const problems = magpieWebhookProblems(entries, known, options.placeOf);
  const webhookNames = new Set(entries.map((entry) => trimmedString(entry.value, 'name')).filter((n) => n !== undefined));

  const handlerNames = new Set([...config.handlers.map((h) => h.name), ...(options.handlerNames ?? [])]);
  const extensionNames = new Set(config.handlers.filter((h) => h.type === 'extension').map((h) => h.name));
  problems.push(...actionCycleProblems(config));
  config.handlers.forEach((handler, i) => {
    if (handler.type !== 'command' && handler.type !== 'webhook' && handler.type !== 'email') return;
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
    const granted = new Set<string>(handler.grants);
    if (handler.digest !== undefined && handler.sync) {
      problems.push({ key: `${where}.digest`, message: 'a digest collects events for the delivery queue; it cannot run "sync: true" (remove one of them)' });
    }
    if (handler.sync) {
      // Inline runs skip the queue: its controls would be silently ignored.
      for (const control of QUEUE_CONTROLS) {
        if (handler[control] !== undefined) {
          problems.push({ key: `${where}.${control}`, message: `"${control}" applies to queued deliveries; a "sync: true" handler runs inline, outside the queue (remove one of them)` });
        }
      }
    }
    const digest = handler.digest !== undefined;
    if (digest && handler.type === 'webhook' && (handler.payload !== undefined || handler.format !== 'json')) {
      problems.push({ key: `${where}.digest`, message: 'a digest webhook sends the JSON array of its events as the body; remove "payload" and use "format: json"' });
    }
    const check = (source: unknown, key: string): void => {
      problems.push(...templateProblems(source, key, digest ? { extra: DIGEST_TEMPLATE_EXTRAS, prefixes: DIGEST_TEMPLATE_PREFIXES } : { extra: TARGET_TEMPLATE_EXTRAS, prefixes: TEMPLATE_PREFIXES }));
      problems.push(...ungrantedSecrets(source, key, granted, `handler "${handler.name}"`));
    };
    for (const list of ['then', 'on_failure'] as const) {
      handler[list].forEach((next, j) => {
        if (!handlerNames.has(next)) problems.push({ key: `${where}.${list}.${j}`, message: `no handler is named "${next}"` });
        else if (extensionNames.has(next)) {
          problems.push({ key: `${where}.${list}.${j}`, message: `"${next}" is not a command or webhook handler; ${list} runs command and webhook handlers only` });
        }
      });
    }
    if (handler.type === 'command') {
      handler.args?.forEach((arg, j) => check(arg, `${where}.args.${j}`));
      for (const [name, value] of Object.entries(handler.env)) check(value, `${where}.env.${name}`);
    } else if (handler.type === 'email') {
      for (const [sub, source] of emailTemplates(handler)) check(source, `${where}.${sub}`);
    } else {
      for (const [sub, source] of webhookTemplates(handler)) check(source, `${where}.${sub}`);
    }
  });
  config.callbacks.on_failure.forEach((name, j) => {
    if (!handlerNames.has(name) && !webhookNames.has(name)) {
      problems.push({ key: `callbacks.on_failure.${j}`, message: `no handler or webhook is named "${name}"` });
    }
  });
  return problems;
}

/**
 * `then` and `on_failure` both start handlers from a handler: a cycle through
 * them (a → b → a) would run forever, so it is refused, named, at the first
 * edge of the cycle.
 */
export function actionCycleProblems(config: Pick<HookworkConfig, 'handlers'>): ConfigProblem[] {
  const edges = new Map<string, Array<{ next: string; key: string }>>();
  config.handlers.forEach((handler, i) => {
    if (handler.type !== 'command' && handler.type !== 'webhook') return;
    const list = edges.get(handler.name) ?? [];
    for (const kind of ['then', 'on_failure'] as const) {
      handler[kind].forEach((next, j) => list.push({ next, key: `handlers.${i}.${kind}.${j}` }));
    }
    edges.set(handler.name, list);
  });
  const problems: ConfigProblem[] = [];
  const reported = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: Array<{ name: string; key: string }> = [];
  const visit = (name: string): void => {
    state.set(name, 'open');
    for (const edge of edges.get(name) ?? []) {
      const seen = state.get(edge.next);
      if (seen === 'open') {
        const start = stack.findIndex((s) => s.name === edge.next);
        const loop = [...stack.slice(start).map((s) => s.name), edge.next];
        // One problem per cycle, whatever node the search entered it by.
        const id = [...new Set(loop)].sort().join('\n');
        if (!reported.has(id)) {
          reported.add(id);
          const firstKey = start + 1 >= stack.length ? edge.key : (stack[start + 1] as { key: string }).key;
          problems.push({ key: firstKey, message: `then/on_failure form a cycle: ${loop.join(' → ')}; a handler may not (even indirectly) start itself` });
        }
      } else if (seen === undefined) {
        stack.push({ name: edge.next, key: edge.key });
        visit(edge.next);
        stack.pop();
      }
    }
    state.set(name, 'done');
  };
  for (const name of edges.keys()) {
    if (state.has(name)) continue;
    stack.push({ name, key: '' });
    visit(name);
    stack.pop();
  }
  return problems;
}

function listAt(root: unknown, key: string): unknown[] {
  const value = root !== null && typeof root === 'object' ? (root as Record<string, unknown>)[key] : undefined;
  return Array.isArray(value) ? value : [];
}

/**
 * Names the config declares as written: event ids and names, declared
 * actions, handler names. The validated config holds a failing section's
 * default, so these keep a bad entry elsewhere from making every reference
 * to a good one look unknown.
 */
function namesAsWritten(raw: Readonly<Record<string, unknown>>): { actions: string[]; handlers: string[] } {
  const actions: string[] = [];
  for (const event of listAt(raw, 'events')) {
    if (event === null || typeof event !== 'object') continue;
    const { id, name } = event as Record<string, unknown>;
    if (typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id))) actions.push(String(id));
    if (typeof name === 'string') actions.push(name);
  }
  const declared = raw['actions'];
  if (declared !== null && typeof declared === 'object') {
    actions.push(...listAt(declared, 'execute_sync').filter((a): a is string => typeof a === 'string'));
    const options = (declared as Record<string, unknown>)['options'];
    if (options !== null && typeof options === 'object' && !Array.isArray(options)) actions.push(...Object.keys(options));
  }
  const handlers = listAt(raw, 'handlers')
    .map((h) => trimmedString(h, 'name'))
    .filter((n) => n !== undefined);
  return { actions, handlers };
}

// On every load: the config's own webhooks and those of the webhooks_path
// files, each entry as written, so an unknown action is listed with the
// schema's problems in one round.
export const handlerChecks: ConfigCheck = function targetsConfig(config, context) {
  const inline: WebhookEntry[] = listAt(context.raw, 'webhooks').map((value, i) => ({ value, key: `webhooks.${i}` }));
  const asWritten = namesAsWritten(context.raw);
  return targetsConfigProblems(config, {
    entries: [...inline, ...context.webhookFiles],
    knownExtra: asWritten.actions,
    handlerNames: asWritten.handlers,
    placeOf: context.placeOf,
  });
};
