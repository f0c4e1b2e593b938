// Checks that run on a config after its schema passed: things a schema cannot
// see, such as placeholders in templates that name no context variable.
// Subsystems add theirs with registerTemplateCheck, from a module that
// src/config/schema.ts imports (their config-schema.ts), so the checks are in
// place whenever a config is loaded, by `hookwork validate` too.

import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import { SECRET_PATHS } from '../events/context.js';
import { ENGINE_EVENTS } from '../events/engine-events.js';
import { EVENT_CONTEXT_VARIABLES, compileTemplate, unknownPlaceholders } from '../events/template.js';
import type { HookworkConfig } from './schema.js';

/** A Magpie webhook entry read from a `webhooks_path` file, as written (valid or not). */
export interface WebhookFileEntry {
  readonly file: string;
  /** Its key in its own file (`webhooks.0`). */
  readonly key: string;
  readonly value: unknown;
}

/** What a check may look at besides the validated config. */
export interface ConfigCheckContext {
  /**
   * The merged config as written, before the schema. When a section fails its
   * schema the validated config holds that section's default, so a check that
   * must run on every entry (Magpie's rule: every problem in one round) reads
   * the entries here. Treat it as untrusted input.
   */
  readonly raw: Readonly<Record<string, unknown>>;
  /** `file: key` of a dotted config key, for messages that name another place. */
  placeOf(key: string): string;
  /** The entries of the `webhooks_path` files (empty when they were not read, e.g. validateConfigSources without them). */
  readonly webhookFiles: readonly WebhookFileEntry[];
}

/** Returns the problems it finds; keys are dotted paths into the config (`handlers.2.payload`). */
export type ConfigCheck = (config: HookworkConfig, context: ConfigCheckContext) => readonly ConfigProblem[];

interface RegisteredCheck {
  readonly name: string;
  readonly check: ConfigCheck;
}

const checks: RegisteredCheck[] = [];

/** Adds a check run by every loadConfig; returns its disposer. */
export function registerTemplateCheck(check: ConfigCheck, name = check.name || 'anonymous check'): () => void {
  const entry: RegisteredCheck = { name, check };
  checks.push(entry);
  return () => {
    const index = checks.indexOf(entry);
    if (index !== -1) checks.splice(index, 1);
  };
}

/** The same hook under a wider name: any check of a validated config. */
export const registerConfigCheck = registerTemplateCheck;

// Configs that passed their schema and every check (loadConfig's, parseConfig's):
// validating one again (createRuntime after loadConfig, a reload of a loaded
// config) would only repeat the work.
const checkedConfigs = new WeakSet<object>();

/** Marks a config as validated as a whole; returns it. */
export function markChecked<T extends object>(config: T): T {
  checkedConfigs.add(config);
  return config;
}

/** Whether this very object came out of a whole validation. */
export function isChecked(value: unknown): boolean {
  return typeof value === 'object' && value !== null && checkedConfigs.has(value);
}

/** Runs every registered check; a check that throws becomes a problem, never a crash. */
export function runConfigChecks(config: HookworkConfig, context: Partial<ConfigCheckContext> = {}): ConfigProblem[] {
  const full: ConfigCheckContext = {
    raw: context.raw ?? (config as unknown as Record<string, unknown>),
    placeOf: context.placeOf ?? ((key) => key),
    webhookFiles: context.webhookFiles ?? [],
  };
  const problems: ConfigProblem[] = [];
  for (const { name, check } of [...checks]) {
    try {
      problems.push(...check(config, full));
    } catch (err) {
      problems.push({ key: '', message: `the config check "${name}" failed: ${(err as Error).message ?? String(err)}` });
    }
  }
  return problems;
}

export interface TemplateCheckOptions {
  /** Exact variables accepted besides the event's (e.g. `callback_url`, `handler.name`). */
  extra?: Iterable<string>;
  /** Roots under which any member is accepted (default `data`). */
  prefixes?: readonly string[];
}

/**
 * The problems of one template (a string or any JSON-like structure): one per
 * placeholder that names no event context variable. For subsystems' checks.
 */
export function templateProblems(source: unknown, key: string, options: TemplateCheckOptions = {}): ConfigProblem[] {
  const known = [...EVENT_CONTEXT_VARIABLES, ...(options.extra ?? [])];
  const unknown = unknownPlaceholders(compileTemplate(source).placeholders, known, options.prefixes ?? ['data']);
  return unknown.map((placeholder) => ({
    key,
    message: `unknown placeholder {{${placeholder}}}; use an event context variable (id, message, account.name, data.<member>, timestamp.iso_8601, …; see docs/events.md)`,
  }));
}

/** Placeholders of `source` that read a secret (`account.token`), lower-cased. */
export function secretPlaceholders(source: unknown): string[] {
  return compileTemplate(source)
    .placeholders.map((p) => p.toLowerCase())
    .filter((p) => SECRET_PATHS.has(p));
}

// The events' own message templates. Messages are rendered with no grants,
// so a secret there would always stay a literal placeholder.
registerTemplateCheck(function eventMessages(config) {
  const problems: ConfigProblem[] = [];
  config.events.forEach((event, i) => {
    if (event.message === undefined) return;
    const key = `events.${i}.message`;
    problems.push(...templateProblems(event.message, key));
    for (const secret of secretPlaceholders(event.message)) {
      problems.push({
        key,
        message: `${secret} is a secret and is never rendered into messages (messages are rendered without grants, and go to logs and every subscriber); remove {{${secret}}} from the message, and let the handler or webhook that needs it read it in its own templates with "grants: [${secret}]"`,
      });
    }
  });
  return problems;
});

function eventIdOf(entry: unknown): string | undefined {
  if (entry === null || typeof entry !== 'object') return undefined;
  const id = (entry as Record<string, unknown>)['id'];
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' && Number.isInteger(id)) return String(id);
  return undefined;
}

const ENGINE_EVENT_IDS: ReadonlySet<string> = new Set(Object.values(ENGINE_EVENTS));

// Event ids are unique: the catalogue keeps one definition per id, so a
// second one would silently replace the first. Read from the entries as
// written, so this runs even when another event fails its schema.
registerConfigCheck(function eventIds(_config, context) {
  const events = context.raw['events'];
  if (!Array.isArray(events)) return [];
  const problems: ConfigProblem[] = [];
  const first = new Map<string, number>();
  events.forEach((entry: unknown, i) => {
    const id = eventIdOf(entry);
    if (id === undefined) return;
    const earlier = first.get(id);
    if (earlier === undefined) {
      first.set(id, i);
      return;
    }
    problems.push({
      key: `events.${i}.id`,
      message: `the event id "${id}" is already declared at ${context.placeOf(`events.${earlier}.id`)}; an id may be declared once (the second would replace the first): remove one, or give it another id`,
    });
  });
  return problems;
});

// The engine's own events (20174, 20053, 20200…) keep their definitions:
// handlers and plugins rely on their groups and data.
registerConfigCheck(function engineEventIds(_config, context) {
  const events = context.raw['events'];
  if (!Array.isArray(events)) return [];
  const problems: ConfigProblem[] = [];
  events.forEach((entry: unknown, i) => {
    const id = eventIdOf(entry);
    if (id === undefined || !ENGINE_EVENT_IDS.has(id)) return;
    problems.push({
      key: `events.${i}.id`,
      message: `the event id "${id}" is reserved for the engine's own events (${[...ENGINE_EVENT_IDS].join(', ')}); give this event another id`,
    });
  });
  return problems;
});

// An event's data_schema must be a JSON Schema zod can turn into a validator.
registerConfigCheck(function eventDataSchemas(config) {
  const problems: ConfigProblem[] = [];
  config.events.forEach((event, i) => {
    if (event.data_schema === undefined) return;
    try {
      z.fromJSONSchema(event.data_schema as never);
    } catch (err) {
      problems.push({ key: `events.${i}.data_schema`, message: `not a usable JSON Schema: ${(err as Error).message}` });
    }
  });
  return problems;
});
