// What a config check is and the helpers checks share. Checks run on a config
// after its schema passed, for what a schema cannot see (placeholders in
// templates that name no context variable, references between entries); the
// list of them is in run-checks.ts.

import type { ConfigProblem } from '../errors.js';
import { SECRET_PATHS } from '../events/context.js';
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
