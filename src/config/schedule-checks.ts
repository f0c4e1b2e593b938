// Schedules emit events, so in strict mode each schedule's event must be in
// the catalogue (the config's `events:` or the engine's own), by id or name:
// otherwise every tick would be refused at run time, long after `validate`.

import { ENGINE_EVENT_DEFINITIONS } from '../events/engine-events.js';
import type { ConfigCheck } from './checks.js';

export const scheduleChecks: ConfigCheck = function scheduleEvents(config, context) {
  if (!config.strict || config.schedules.length === 0) return [];
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
  return config.schedules.flatMap((schedule, i) =>
    known.has(schedule.event)
      ? []
      : [
          {
            key: `schedules.${i}.event`,
            message: `unknown event "${schedule.event}"; declare it in events: (id or name), or set strict: false to emit ids outside the catalogue`,
          },
        ],
  );
};
