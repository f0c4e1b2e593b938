// The checks of the config's own event definitions: ids unique and not the
// engine's, messages without unknown or secret placeholders, data schemas
// that zod can use.

import { z } from 'zod';
import type { ConfigProblem } from '../errors.js';
import { ENGINE_EVENTS } from '../events/engine-events.js';
import { secretPlaceholders, templateProblems, type ConfigCheck } from './checks.js';

// The events' own message templates. Messages are rendered with no grants,
// so a secret there would always stay a literal placeholder.
const eventMessages: ConfigCheck = function eventMessages(config) {
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
};

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
const eventIds: ConfigCheck = function eventIds(_config, context) {
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
};

// The engine's own events (20174, 20053, 20200…) keep their definitions:
// handlers and plugins rely on their groups and data.
const engineEventIds: ConfigCheck = function engineEventIds(_config, context) {
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
};

// An event's data_schema must be a JSON Schema zod can turn into a validator.
const eventDataSchemas: ConfigCheck = function eventDataSchemas(config) {
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
};

export const EVENT_CHECKS: readonly ConfigCheck[] = [eventMessages, eventIds, engineEventIds, eventDataSchemas];
