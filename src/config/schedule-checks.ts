// Schedules emit events, so in strict mode each schedule's event must be in
// the catalogue (the config's `events:` or the engine's own), by id or name:
// otherwise every tick would be refused at run time, long after `validate`.
// A schedule's name is its key in the store and in the API: used once.

import type { ConfigProblem } from '../errors.js';
import { ENGINE_EVENT_DEFINITIONS } from '../events/engine-events.js';
import type { ConfigCheck } from './checks.js';

/** Names used twice, on the entries as written (an invalid entry still holds its name). */
const duplicateNames: ConfigCheck = function scheduleNames(_config, context) {
  const raw = context.raw['schedules'];
  if (!Array.isArray(raw)) return [];
  const seen = new Map<string, number>();
  const problems: ConfigProblem[] = [];
  (raw as unknown[]).forEach((entry, i) => {
    const name = entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>)['name'] : undefined;
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else problems.push({ key: `schedules.${i}.name`, message: `the schedule name "${name}" is already used by ${context.placeOf(`schedules.${first}.name`)}; names must be unique` });
  });
  return problems;
};

const unknownEvents: ConfigCheck = function scheduleEvents(config, context) {
  if (!config.strict) return [];
  const known = new Set<string>();
  for (const def of ENGINE_EVENT_DEFINITIONS) known.add(def.id).add(def.name);
  for (const event of config.events) known.add(event.id).add(event.name);
  // As written too: a bad entry elsewhere in `events:` leaves the section at its default.
  const raw = context.raw['events'];
  if (Array.isArray(raw)) {
    for (const event of raw as unknown[]) {
      if (event === null || typeof event !== 'object') continue;
      const { id, name } = event as Record<string, unknown>;
      if (typeof id === 'string' || typeof id === 'number') known.add(String(id));
      if (typeof name === 'string') known.add(name);
    }
  }
  // Each entry as written: when one entry fails its schema the section is empty in `config`.
  const schedules = context.raw['schedules'];
  if (!Array.isArray(schedules)) return [];
  const problems: ConfigProblem[] = [];
  (schedules as unknown[]).forEach((entry, i) => {
    const event = entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>)['event'] : undefined;
    if ((typeof event !== 'string' && typeof event !== 'number') || known.has(String(event))) return;
    problems.push({
      key: `schedules.${i}.event`,
      message: `unknown event "${String(event)}"; declare it in events: (id or name), or set strict: false to emit ids outside the catalogue`,
    });
  });
  return problems;
};

export const SCHEDULE_CHECKS: readonly ConfigCheck[] = [duplicateNames, unknownEvents];
