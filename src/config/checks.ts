// Checks that run on a config after its schema passed: things a schema cannot
// see, such as placeholders in templates that name no context variable.
// Subsystems add theirs with registerTemplateCheck, from a module that
// src/config/schema.ts imports (their config-schema.ts), so the checks are in
// place whenever a config is loaded, by `hookwork validate` too.

import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import { EVENT_CONTEXT_VARIABLES, compileTemplate, unknownPlaceholders } from '../events/template.js';
import type { HookworkConfig } from './schema.js';

/** Returns the problems it finds; keys are dotted paths into the config (`handlers.2.payload`). */
export type ConfigCheck = (config: HookworkConfig) => readonly ConfigProblem[];

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

/** Runs every registered check; a check that throws becomes a problem, never a crash. */
export function runConfigChecks(config: HookworkConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const { name, check } of [...checks]) {
    try {
      problems.push(...check(config));
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

// The events' own message templates.
registerTemplateCheck(function eventMessages(config) {
  const problems: ConfigProblem[] = [];
  config.events.forEach((event, i) => {
    if (event.message !== undefined) problems.push(...templateProblems(event.message, `events.${i}.message`));
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
