// Warnings, not problems: a condition on a data field that an event the
// handler follows does not declare in its `data_schema`. The config still
// loads (a host may send more than it declares when the schema allows it),
// but such a condition most likely has a typo and would never match.
// `hookwork validate` prints them and exits 0.

import type { ConfigProblem } from '../errors.js';
import { conditionFields } from '../events/conditions.js';
import type { HookworkConfig } from './schema.js';

/** The data members a schema declares (its `properties`), or undefined when it declares none. */
function declaredMembers(schema: unknown): Set<string> | undefined {
  if (schema === null || typeof schema !== 'object') return undefined;
  const properties = (schema as Record<string, unknown>)['properties'];
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return undefined;
  const names = new Set(Object.keys(properties).map((name) => name.toLowerCase()));
  // The envelope derives these from path / real_path.
  if (names.has('path')) names.add('file_name').add('directory_name');
  if (names.has('real_path')) names.add('real_file_name').add('real_directory_name');
  return names;
}

/** The data member a condition's field names, or undefined for another event field (`account.groups`). */
function dataMember(field: string): string | undefined {
  if (!field.includes('.')) return field.toLowerCase();
  const parts = field.split('.');
  return parts[0]?.toLowerCase() === 'data' && parts[1] !== undefined ? parts[1].toLowerCase() : undefined;
}

function listOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return value.split(',').map((v) => v.trim());
  return Array.isArray(value) ? value.map((v) => String(v).trim()) : [];
}

/** Every condition on a data member that a followed event's data_schema does not declare. */
export function conditionWarnings(config: Pick<HookworkConfig, 'handlers' | 'events'>): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  config.handlers.forEach((handler, i) => {
    if (handler.conditions === undefined) return;
    const followed = [...listOf(handler.target_events), ...('actions' in handler ? listOf(handler.actions) : [])].filter((id) => !id.startsWith('!'));
    const events = config.events.filter((event) => followed.includes(event.id) || followed.includes(event.name));
    for (const { field, path } of conditionFields(handler.conditions)) {
      const member = dataMember(field);
      if (member === undefined) continue;
      for (const event of events) {
        const declared = declaredMembers(event.data_schema);
        if (declared === undefined || declared.has(member)) continue;
        warnings.push({
          key: [`handlers.${i}.conditions`, ...path].join('.'),
          message: `event ${event.id} (${event.name}) declares no data member "${member}" in its data_schema (it has: ${[...declared].join(', ') || 'none'}); this condition never matches it`,
        });
      }
    }
  });
  return warnings;
}
